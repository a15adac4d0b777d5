"""The out-of-core dashboard (issue 7): the same map, selections and export as in memory,
from a partitioned projection aggregated with Dask, without the catalog in memory."""

from __future__ import annotations

import io
from pathlib import Path

import datashader as ds
import numpy as np
import pandas as pd
import pytest

from galexplore.dashboard.compute.raster import colour_limits
from galexplore.dashboard.compute.selection import lasso_select
from galexplore.dashboard.data import ExplorerData
from galexplore.dashboard.ooc.data import OutOfCoreData
from galexplore.dashboard.ooc.map import OutOfCoreMap
from galexplore.dashboard.state import ExplorerState, column_kind
from galexplore.dashboard.views.embedding_map import EmbeddingMap
from galexplore.testing import write_partitioned_projection

ROWS_PER_PART = 90  # 400 galaxies: 5 stripes of the map table


@pytest.fixture(scope="module")
def ooc_run(survey_400, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("ooc") / "run"
    write_partitioned_projection(survey_400, run)
    return run


@pytest.fixture(scope="module")
def both(survey_400, ooc_run):
    """The in-memory and the out-of-core data of the same survey and partitioned run."""
    from galexplore.dashboard.ooc import build as map_build

    mem = ExplorerData.load(survey_400.path, ooc_run)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(map_build, "GROUP_ROWS", 16)  # parts of ~90 rows in row groups of 16: map tiles
        ooc = OutOfCoreData.load(survey_400.path, ooc_run, rows_per_part=ROWS_PER_PART)
    return mem, ooc


def _image(obj) -> np.ndarray:
    return np.asarray(obj.dimension_values(2, flat=False), dtype=float)


def _rgba(obj) -> np.ndarray:
    return np.asarray(obj.data.transpose(..., "band").values)


def test_map_table_is_partitioned_and_holds_every_galaxy_once(both, survey_400):
    mem, ooc = both
    table = ooc.table
    assert len(table.parts) >= 4 and table.n == mem.n == survey_400.n_galaxies
    frame = table.frame(["galaxy_id", "x", "y", "survey_row", "pos", "log_mstar"])
    assert frame.npartitions == len(table.parts)
    got = frame.compute().set_index("galaxy_id").loc[mem.galaxy_ids]
    assert np.array_equal(got["pos"].sort_values().to_numpy(), np.arange(mem.n))
    np.testing.assert_array_equal(got[["x", "y"]].to_numpy(), mem.xy)
    np.testing.assert_array_equal(got["survey_row"].to_numpy(), mem.rows)
    np.testing.assert_array_equal(got["log_mstar"].to_numpy(), mem.catalog["log_mstar"].to_numpy())
    # stripes of the map: a narrow view reads only some parts
    (x0, x1), _ = table.extent
    assert len(table.overlapping((x0, x0 + (x1 - x0) / 10), None)) < len(table.parts)
    # rows sorted by y within a part, in row groups: a view reads the tiles it meets
    (y0, y1) = table.extent[1]
    tiles = table.tiles(None, (y0, y0 + (y1 - y0) / 5))
    assert sum(len(g) for _, g in tiles) < sum(len(g) for g in table.groups)
    assert all(np.all(np.diff(p.compute()["y"].to_numpy()) >= 0) for p in frame.partitions)
    # the catalog is never loaded out of core
    with pytest.raises(Exception, match="out-of-core"):
        ooc.survey.catalog  # noqa: B018


def test_counts_per_pixel_equal_in_memory(both):
    mem, ooc = both
    (x0, x1), (y0, y1) = ooc.table.extent
    for x_range, y_range in [
        ((x0, x1), (y0, y1)),
        ((x0 + 0.3 * (x1 - x0), x0 + 0.6 * (x1 - x0)), (y0, y0 + 0.5 * (y1 - y0))),
    ]:
        canvas = ds.Canvas(plot_width=120, plot_height=90, x_range=x_range, y_range=y_range)
        frame = pd.DataFrame({"x": mem.xy[:, 0], "y": mem.xy[:, 1]})
        expected = canvas.points(frame, "x", "y", ds.count()).values
        got = canvas.points(ooc.view_frame(["x", "y"], x_range, y_range), "x", "y", ds.count()).values
        assert expected.sum() > 0
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("zoom", [None, 0.35])
@pytest.mark.parametrize("column", ["log_mstar", "sf_class"])
def test_map_view_equals_in_memory(both, column, zoom):
    """Full view and a zoom, coloured by a numeric mean and by class: the same image."""
    mem, ooc = both
    mem_map, ooc_map = EmbeddingMap(ExplorerState(mem)), OutOfCoreMap(ExplorerState(ooc))
    lims = mem_map._lims()
    assert np.allclose([*lims["xlim"], *lims["ylim"]], [*ooc_map._lims()["xlim"], *ooc_map._lims()["ylim"]])
    x_range, y_range = lims["xlim"], lims["ylim"]
    if zoom:
        cx, cy = np.mean(x_range), np.mean(y_range)
        x_range = (cx - zoom * (x_range[1] - x_range[0]) / 2, cx + zoom * (x_range[1] - x_range[0]) / 2)
        y_range = (cy - zoom * (y_range[1] - y_range[0]) / 2, cy + zoom * (y_range[1] - y_range[0]) / 2)
    view = dict(x_range=x_range, y_range=y_range, width=160, height=120)
    kind = column_kind(mem, column)
    assert kind == column_kind(ooc, column)
    a, b = mem_map._shade(column, **view), ooc_map._shade(column, **view)
    if kind == "numeric":
        assert np.allclose(
            colour_limits(mem, column), ooc.limits(column)
        )  # 400 galaxies: the sample is the whole column
        va, vb = _image(a), _image(b)
        assert np.isfinite(va).sum() > 20
        np.testing.assert_allclose(vb, va, rtol=1e-5, equal_nan=True)
        assert b.vdims[0].name == a.vdims[0].name
    else:
        np.testing.assert_array_equal(_rgba(b), _rgba(a))
        assert _rgba(b)[..., 3].astype(bool).sum() > 20


def test_lasso_box_and_tap_equal_in_memory(both):
    mem, ooc = both
    (x0, x1), (y0, y1) = ooc.table.extent
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    t = np.linspace(0, 2 * np.pi, 9)[:-1]
    polygon = c + np.c_[np.cos(t), np.sin(t)] * [(x1 - x0) / 3, (y1 - y0) / 3]
    expected = set(mem.galaxy_ids[lasso_select(mem.xy, polygon)])
    assert 10 < len(expected) < mem.n
    state = ExplorerState(ooc)
    omap = OutOfCoreMap(state)
    omap._on_lasso(geometry=polygon)
    assert state.selection_label == "lasso" and state.n_selected == len(expected)
    got = ooc.table.rows(state.selection, ["galaxy_id"])["galaxy_id"]
    assert set(got) == expected
    # the highlight is drawn where the selected galaxies are
    view = dict(x_range=(x0, x1), y_range=(y0, y1), width=100, height=80)
    mem_state = ExplorerState(mem)
    mem_state.select(lasso_select(mem.xy, polygon), "lasso")
    expected_img = _image(EmbeddingMap(mem_state)._selection_image(mem_state.selection, **view))
    got_img = _image(omap._selection_image(state.selection, **view))
    assert np.isfinite(expected_img).sum() > len(expected)
    np.testing.assert_array_equal(np.isfinite(got_img), np.isfinite(expected_img))
    box = ooc.box((c[0] - 1, c[1] - 1, c[0] + 1, c[1] + 1))
    inside = (np.abs(mem.xy - c) <= 1).all(axis=1)
    assert set(ooc.table.rows(box["pos"].to_numpy(), ["galaxy_id"])["galaxy_id"]) == set(
        mem.galaxy_ids[inside]
    )
    # tap: the nearest galaxy
    g = 17
    omap._on_tap(x=float(mem.xy[g, 0]) + 1e-4, y=float(mem.xy[g, 1]))
    assert state.focus == mem.galaxy_ids[g]
    assert np.allclose(omap._focus_xy(state.focus), mem.xy[[g]])


def test_lasso_on_a_two_worker_dask_cluster(both):
    distributed = pytest.importorskip("distributed")
    mem, ooc = both
    polygon = np.array([[-20, -20], [20, -20], [20, 0.5], [-20, 0.5]], float)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        found = ooc.lasso(polygon)
        counts = ds.Canvas(plot_width=50, plot_height=50).points(
            ooc.table.frame(["x", "y"]), "x", "y", ds.count()
        )
    assert set(ooc.table.rows(found["pos"].to_numpy(), ["galaxy_id"])["galaxy_id"]) == set(
        mem.galaxy_ids[lasso_select(mem.xy, polygon)]
    )
    assert int(counts.values.sum()) == mem.n


def test_export_of_an_out_of_core_selection(both, tmp_path):
    from galexplore.dashboard.ooc.panels import OutOfCoreExport

    mem, ooc = both
    state = ExplorerState(ooc)
    pos = np.array([3, 50, 51, 399, 200])
    state.select(pos, "box")
    out = OutOfCoreExport(state)
    out.format = "csv"
    table = pd.read_csv(io.BytesIO(out.file_bytes()), comment="#")
    ids = ooc.table.rows(np.sort(pos), ["galaxy_id"])["galaxy_id"].tolist()
    assert table["galaxy_id"].tolist() == ids
    expected = mem.catalog.set_index("galaxy_id").loc[ids]
    np.testing.assert_allclose(table["log_mstar"], expected["log_mstar"])
    assert {"x", "y", "sf_class"} <= set(table.columns) and "survey_row" not in table.columns
    assert table["has_bar"].tolist() == expected["has_bar"].tolist()  # stored types, not map categories
    out.format = "fits"
    from astropy.io import fits

    with fits.open(io.BytesIO(out.file_bytes())) as hdul:
        assert len(hdul[1].data) == len(pos)


def test_page_builds_with_detail_panels_of_the_first_selected(both):
    from galexplore.dashboard.ooc.app import OutOfCoreExplorer
    from galexplore.dashboard.ooc.panels import DETAIL_MAX

    _, ooc = both
    explorer = OutOfCoreExplorer(ooc)
    assert "cluster" not in explorer.state.param.color_by.objects
    explorer.state.select(np.arange(0, ooc.n, 1), "box")
    sub = explorer.detail.sub
    assert sub.n_selected == min(DETAIL_MAX, ooc.n) and sub.data.n <= DETAIL_MAX
    assert "first" in explorer.detail._note.object
    # the detail panels read the survey's arrays of the right galaxies
    first = ooc.table.rows(explorer.state.selection[:3], ["galaxy_id", "survey_row"])
    assert list(sub.data.galaxy_ids[:3]) == first["galaxy_id"].tolist()
    np.testing.assert_array_equal(sub.data.rows[:3], first["survey_row"].to_numpy())
    # a click in the gallery puts the galaxy in focus on the map too
    sub.focus = str(sub.data.galaxy_ids[2])
    assert explorer.state.focus == sub.data.galaxy_ids[2]
    assert np.allclose(explorer.map._focus_xy(explorer.state.focus), sub.data.xy[[2]])
    explorer.template()  # the whole page builds


def test_rows_reads_the_asked_rows_in_order_across_row_groups(survey_400, tmp_path, monkeypatch):
    from galexplore.dashboard.ooc import build as map_build
    from galexplore.dashboard.ooc import table as map_table

    monkeypatch.setattr(map_build, "FLUSH_ROWS", 7)
    monkeypatch.setattr(map_build, "GROUP_ROWS", 9)  # many small row groups per part
    run = tmp_path / "run"
    write_partitioned_projection(survey_400, run, seed=5)
    table = map_table.MapTable(map_build.build_map_table(survey_400.path, run, rows_per_part=150))
    import pyarrow.parquet as pq

    assert pq.ParquetFile(table.parts[0]).metadata.num_row_groups > 5
    whole = table.frame(["pos", "galaxy_id", "x", "sf_class"]).compute().set_index("pos").sort_index()
    pos = np.random.default_rng(0).permutation(table.n)[:57]
    got = table.rows(pos, ["galaxy_id", "x", "sf_class", "pos"])
    assert got["pos"].tolist() == pos.tolist()
    assert got["galaxy_id"].tolist() == whole.loc[pos, "galaxy_id"].tolist()
    np.testing.assert_array_equal(got["x"].to_numpy(), whole.loc[pos, "x"].to_numpy())
    assert got["sf_class"].astype(str).tolist() == whole.loc[pos, "sf_class"].astype(str).tolist()
    assert list(got["sf_class"].cat.categories) == table.meta["categories"]["sf_class"]
