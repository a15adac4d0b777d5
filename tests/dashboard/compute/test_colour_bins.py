"""Numeric map layers snapped to their colour bins draw exactly the colours they drew before."""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import ColorBar, LinearColorMapper

from galexplore.dashboard.compute.colour_bins import PALETTE_SIZE, colour_bin, snap_to_colour_bins
from galexplore.dashboard.compute.raster import _sorted_catalog_frame, colour_limits, shade


def test_snapped_values_get_the_same_palette_entries():
    rng = np.random.default_rng(3)
    lims = (-11.3, -8.7)
    v = rng.normal(-10, 1.0, 20_000).astype(np.float32)  # ~20 % outside the limits
    v[:50] = np.nan
    v[50:60] = np.float32(lims[1])  # exactly the top: the last colour, as in Bokeh
    v[60:70] = np.float32(lims[0])
    edges = (lims[0] + np.arange(1, PALETTE_SIZE) * (lims[1] - lims[0]) / PALETTE_SIZE).astype(np.float32)
    v[70 : 70 + len(edges)] = edges  # on (float32 roundings of) every bin edge
    snapped = snap_to_colour_bins(v, lims)
    assert snapped.dtype == np.float32 and snapped.shape == v.shape
    np.testing.assert_array_equal(colour_bin(snapped, lims), colour_bin(v, lims))
    np.testing.assert_array_equal(np.isnan(snapped), np.isnan(v))
    assert len(np.unique(snapped[np.isfinite(snapped)])) <= PALETTE_SIZE
    assert np.nanmax(np.abs(snapped - np.clip(v, *lims))) <= (lims[1] - lims[0]) / PALETTE_SIZE
    # about half the bytes once compressed, as the websocket does
    import zlib

    smooth = np.sort(rng.normal(-10, 0.5, 40_000)).astype(np.float32)
    assert len(zlib.compress(snap_to_colour_bins(smooth, lims).tobytes(), 1)) < 0.6 * len(
        zlib.compress(smooth.tobytes(), 1)
    )


def _bokeh_linear_index(v: float, lo: float, hi: float, n: int) -> int:
    """BokehJS ``LinearScanData``/``LinearColorMapper`` for one value, written out: NaN → -1
    (transparent), the top value → the last entry, outside the limits → clamped."""
    if np.isnan(v):
        return -1
    if v == hi:
        return n - 1
    k = np.floor((v - lo) * (1.0 / (hi - lo)) / (1.0 / n))
    return int(min(max(k, 0), n - 1))


@pytest.mark.parametrize("lims", [(-11.3, -8.7), (0.1, 0.9), (-3.3, 7.123456789), (1e-3, 1.0000001e-3)])
def test_colour_bin_is_bokehs_palette_entry_for_every_float32_near_an_edge(lims):
    lo, hi = lims
    edges = (lo + np.arange(PALETTE_SIZE + 1) * (hi - lo) / PALETTE_SIZE).astype(np.float32)
    v = np.concatenate(
        [
            edges,
            np.nextafter(edges, np.float32(np.inf)),
            np.nextafter(edges, np.float32(-np.inf)),
            np.array([np.nan, lo - 1, hi + 1], np.float32),
            np.random.default_rng(0).uniform(lo, hi, 2_000).astype(np.float32),
        ]
    )
    expected = [_bokeh_linear_index(float(x), float(lo), float(hi), PALETTE_SIZE) for x in v]
    np.testing.assert_array_equal(colour_bin(v, lims), expected)
    np.testing.assert_array_equal(colour_bin(v.reshape(-1, 1)[:, 0], lims), expected)  # any shape


@pytest.mark.parametrize(
    "lims",
    [None, (np.nan, 1.0), (2.0, 2.0), (3.0, 1.0), (1e7, 1e7 + 1e-3)],
    ids=["none", "nan", "empty", "reversed", "too-fine-for-float32"],
)
def test_values_stay_as_they_are_when_bins_cannot_be_kept(lims):
    v = np.array([1e7, 1e7 + 5e-4, np.nan, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(snap_to_colour_bins(v, lims), v)


def test_the_map_draws_the_raster_colours_with_its_palette(tiny_data):
    from galexplore.dashboard.app import Explorer

    explorer = Explorer(tiny_data)
    lo, hi = tiny_data.xy.min(0).astype(float), tiny_data.xy.max(0).astype(float)
    view = {"x_range": (lo[0], hi[0]), "y_range": (lo[1], hi[1]), "width": 160, "height": 120}
    for column in ("log_ssfr", "log_mstar"):
        raw = shade(*_sorted_catalog_frame(tiny_data, column)[:1], column, "numeric", **view)
        raw = raw.dimension_values(2, flat=False)
        img = explorer.map._shade(column, **view)
        lims = colour_limits(tiny_data, column)
        assert img.opts.get().kwargs["clim"] == lims
        drawn = img.dimension_values(2, flat=False)
        np.testing.assert_array_equal(colour_bin(drawn, lims), colour_bin(raw, lims))
        assert np.isfinite(raw).sum() > 50 and len(np.unique(drawn[np.isfinite(drawn)])) <= PALETTE_SIZE
    root = explorer.map._pane.get_root(Document())
    bars = list(root.select({"type": ColorBar}))  # the colour layer's (the highlight has one colour, no bar)
    assert bars and {len(b.color_mapper.palette) for b in bars} == {PALETTE_SIZE}
    assert all(isinstance(b.color_mapper, LinearColorMapper) for b in bars)
