"""The layers drawn at the plot's size (:func:`view_layer`) and the main sequence's density."""

from __future__ import annotations

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.operation.datashader import rasterize

from galexplore.dashboard._setup import ensure_bokeh
from galexplore.dashboard.compute.raster import blank, view_layer
from galexplore.dashboard.views.main_sequence import density_view

ensure_bokeh()  # options (.opts) need a plotting extension


def points(n: int = 20_000, seed: int = 3) -> hv.Points:
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 0.6, n)  # log M* [M☉]
    frame = pd.DataFrame({"log_mstar": x, "log_sfr": 0.8 * (x - 10) + rng.normal(0, 0.4, n)})  # [M☉ yr⁻¹]
    return hv.Points(frame, ["log_mstar", "log_sfr"])


def test_outside_a_server_the_first_render_is_400_pixels_and_then_the_plots_size():
    calls = []

    def render(**view):
        calls.append(view)
        return hv.Image(np.ones((view["height"], view["width"]), np.float32), bounds=(0, 0, 1, 1))

    layer = view_layer(render, {"xlim": (0.0, 1.0), "ylim": (0.0, 2.0)})
    first = layer[()]
    assert first.data.shape == (400, 400) and calls[-1]["y_range"] == (0.0, 2.0)
    layer.event(width=315, height=486, x_range=(0.2, 0.4), y_range=(1.0, 1.5))
    assert layer[()].data.shape == (486, 315)
    assert calls[-1]["x_range"] == (0.2, 0.4)


def test_a_blank_keeps_the_type_bounds_and_options_and_draws_nothing():
    img = hv.Image(np.arange(6.0).reshape(2, 3), bounds=(1, 2, 4, 8)).opts(clim=(0, 5), clone=True)
    b = blank(img)
    assert isinstance(b, hv.Image) and b.bounds.lbrt() == (1, 2, 4, 8)
    assert np.isnan(b.dimension_values(2)).all() and b.opts.get().kwargs["clim"] == (0, 5)
    rgb = blank(hv.RGB(np.full((2, 3, 4), 200, np.uint8), bounds=(0, 0, 1, 1)))
    assert isinstance(rgb, hv.RGB) and (rgb.dimension_values("A") == 0).all()


def test_the_density_view_holds_the_same_counts_as_holoviews_rasterize_in_half_the_bytes():
    pts = points()
    view = {"x_range": (8.5, 11.5), "y_range": (-2.0, 2.0), "width": 120, "height": 80}
    ours = density_view(pts, {"xlim": view["x_range"], "ylim": view["y_range"]})
    ours.event(**view)
    got = ours[()]
    want = rasterize(pts, aggregator=ds.count(), dynamic=False, **view)
    counts = want.data[want.vdims[0].name].values.astype(float)
    values = got.data[got.vdims[0].name].values
    assert values.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(values), counts == 0)  # empty pixels transparent, as before
    np.testing.assert_array_equal(values[counts > 0], counts[counts > 0])
    x, y = pts.dimension_values(0), pts.dimension_values(1)
    inside = (x >= 8.5) & (x <= 11.5) & (y >= -2.0) & (y <= 2.0)
    assert abs(np.nansum(values) - inside.sum()) <= 2  # each galaxy in the view counted once (edges aside)


def test_a_served_placeholder_reads_no_part_of_an_out_of_core_table(monkeypatch):
    """In a served page the first render is a placeholder (:func:`blank`): the survey's density
    and the map's colour layer over a Dask table read none of its parts for it (before, a pass
    over all of them, twice at 10⁷ galaxies); the render at the plot's size reads them."""
    import dask
    import dask.dataframe as dd

    import galexplore.dashboard.compute.raster as raster

    reads = []
    full = points().data.assign(value=np.float32(1.0))
    full["x"], full["y"] = full["log_mstar"], full["log_sfr"]
    classes = ["star-forming", "retired"]
    full["sf_class"] = pd.Categorical(np.where(full["y"] > 0, *classes), categories=classes)

    def part(i: int) -> pd.DataFrame:
        reads.append(i)
        return full.iloc[i::4].reset_index(drop=True)

    table = dd.from_delayed([dask.delayed(part)(i) for i in range(4)], meta=full.iloc[:0])
    monkeypatch.setattr(raster, "served", lambda: True)
    lims = {"xlim": (8.0, 12.0), "ylim": (-3.0, 3.0)}
    density = density_view(hv.Points(table, ["log_mstar", "log_sfr"]), lims)

    def colour(**view):
        return raster.shade_points(table[["x", "y", "value"]], "ew_ha", "numeric", None, **view)

    def by_class(**view):  # a colouring by class: shaded (RGB) by Datashader
        frame = table[["x", "y", "sf_class"]].rename(columns={"sf_class": "value"})
        return raster.shade_points(frame, "sf_class", "categorical", classes, **view)

    layer, classed = view_layer(colour, lims), view_layer(by_class, lims)
    assert np.isnan(density[()].dimension_values(2)).all() and np.isnan(layer[()].dimension_values(2)).all()
    assert isinstance(classed[()], hv.RGB) and (classed[()].dimension_values("A") == 0).all()
    assert reads == []
    view = dict(width=40, height=30, x_range=lims["xlim"], y_range=lims["ylim"])
    density.event(**view)
    layer.event(**view)
    classed.event(**view)
    assert isinstance(classed[()], hv.RGB) and (classed[()].dimension_values("A") > 0).sum() > 100
    inside = full["x"].between(*lims["xlim"]) & full["y"].between(*lims["ylim"])
    assert np.nansum(density[()].dimension_values(2)) == inside.sum()  # every galaxy in view counted
    assert np.nanmax(layer[()].dimension_values(2)) == 1.0
    assert sorted(reads) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
