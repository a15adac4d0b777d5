"""The assembled explorer, driven from Python: rendering, linked updates, robustness."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, HoverTool, LassoSelectTool

from galexplore.artifacts.runs import write_projection
from galexplore.dashboard.app import Explorer, create_app, load_data
from galexplore.dashboard.compute.selection import lasso_select
from galexplore.dashboard.data import ExplorerData
from galexplore.dashboard.url_state import parse_polygon
from galexplore.errors import StoreError


@pytest.fixture
def explorer(tiny_data):
    return Explorer(tiny_data)


@pytest.mark.slow
def test_the_page_renders_into_a_bokeh_document(tiny_data):
    doc = Document()
    Explorer(tiny_data).template().server_doc(doc)
    assert len(doc.roots) > 5
    # every plot draws on a 2-d canvas: WebGL (HoloViews' default) only adds a GL-canvas copy
    # to each repaint of our rasters
    backends = {m.output_backend for m in doc.models if hasattr(m, "output_backend")}
    assert backends == {"canvas"}
    # the map's lasso talks to the server once, when it is closed (gestures.select_on_release)
    lassos = [m for m in doc.models if isinstance(m, LassoSelectTool)]
    assert lassos and not any(t.continuous for t in lassos)


def test_a_lasso_updates_every_linked_view(explorer, tiny_data):
    lo, hi = tiny_data.xy.min(0), tiny_data.xy.max(0)
    poly = np.array([lo, [hi[0], lo[1]], (lo + hi) / 2])
    explorer.map._on_lasso(geometry=poly)
    rows = lasso_select(tiny_data.xy, poly)
    n = len(rows)
    assert n > 3
    np.testing.assert_array_equal(explorer.state.selection, rows)
    np.testing.assert_allclose(parse_polygon(explorer.state.lasso), poly, atol=1e-4)
    assert f"**{n} selected** (lasso)" in explorer.gallery._header.object
    assert [t["id"] for t in explorer.gallery._grid.tiles] == list(tiny_data.galaxy_ids[rows[:12]])
    assert all(t["src"].startswith("data:image/png;base64,") for t in explorer.gallery._grid.tiles)
    mix = tiny_data.catalog["sf_class"].iloc[rows].value_counts()
    caption = explorer.main_sequence._caption.object
    assert f"<b>{n}</b> selected on the main sequence" in caption
    for cls, count in mix.items():
        assert f"{cls}: <b>{count:,}</b>" in caption
    assert f"**{n}** of {tiny_data.n}" in explorer.distributions._summary.object
    assert explorer.export._download.label == f"Download {n} galaxies"


def test_clicking_a_tile_focuses_that_galaxy(explorer, tiny_data):
    explorer.state.select(np.arange(5), "test")
    explorer.gallery._focus(tiny_data.galaxy_ids[3])
    assert explorer.state.focus == tiny_data.galaxy_ids[3]
    assert tiny_data.galaxy_ids[3] in explorer.focus._title.object
    titles = [img.label for img in explorer.focus.shown()]
    assert titles == ["log EW(Hα)", "log age (LW)", "[Z/H] (LW)", "log Σ*"]
    assert [
        p.object[()].label for row in explorer.focus._maps.objects for p in row
    ] == titles  # what the plots draw
    ew = explorer.focus.shown()[0]
    assert ew.vdims[0].unit == "log Å" and np.isnan(ew.data).any()  # NaN outside the IFU field
    explorer.gallery._focus("not-a-galaxy")  # a bad click is reported, never raised
    assert "unknown galaxy_id" in explorer.state.message


def test_colouring_is_mean_for_numbers_and_categories_for_classes(explorer, tiny_data):
    numeric = explorer.map._pane.object[()]
    img = numeric.get(0)
    assert type(img).__name__ == "Image"
    vals = img.dimension_values(2)
    vals = vals[np.isfinite(vals)]
    col = tiny_data.catalog["log_ssfr"].to_numpy()
    assert vals.min() >= col.min() - 1e-9 and vals.max() <= col.max() + 1e-9  # means stay within the data
    explorer.state.color_by = "sf_class"
    categorical = explorer.map._pane.object[()].get(0)
    assert type(categorical).__name__ == "RGB"
    assert explorer.map._pane.object[()].get(0).opts.get().kwargs.get("show_legend") is True


@pytest.mark.slow
def test_a_selection_changes_texts_and_data_but_no_stylesheets(tiny_data):
    """What a lasso sends to the browser: new texts and data, not the text panes' stylesheets
    again (Panel re-sends them with every new text; each makes the browser restyle the page)."""
    doc = Document()
    explorer = Explorer(tiny_data)
    explorer.template().server_doc(doc)
    changes = []
    trigger = doc.callbacks.trigger_on_change
    doc.callbacks.trigger_on_change = lambda event: (changes.append(event), trigger(event))[1]
    lo, hi = tiny_data.xy.min(0), tiny_data.xy.max(0)
    explorer.map._on_lasso(geometry=np.array([lo, [hi[0], lo[1]], (lo + hi) / 2]))
    changed = {(type(getattr(e, "model", None)).__name__, getattr(e, "attr", "")) for e in changes}
    assert ("HTML", "text") in changed and ("ColumnDataSource", "data") in changed
    assert not [c for c in changed if c[1] == "stylesheets"], changed
    assert explorer.gallery._header.object.startswith(f"**{explorer.state.n_selected} selected**")


def test_hover_shows_the_galaxy_id(explorer, tiny_data):
    doc = Document()
    root = explorer.map._pane.get_root(doc)
    hovers = [h for h in root.select({"type": HoverTool})]
    assert hovers, "the map has a hover tool"
    source = root.select_one({"name": "gx-hover-source"})
    assert source is not None and source.data["galaxy_id"] == []
    x, y = (float(v) for v in tiny_data.xy[17])
    explorer.map._on_cursor(source, x + 1e-4, y)
    assert source.data["galaxy_id"] == [tiny_data.galaxy_ids[17]]
    assert source.data["log_mstar"] == [tiny_data.catalog["log_mstar"].iloc[17]]
    far = tiny_data.xy.max(0) + 100
    explorer.map._on_cursor(source, float(far[0]), float(far[1]))
    assert source.data["galaxy_id"] == []
    # while a lasso is drawn (a pan gesture) the ring goes and the cursor is not followed
    explorer.map._on_cursor(source, x + 1e-4, y)
    explorer.map._on_drag(source, True)
    assert source.data["galaxy_id"] == []
    explorer.map._on_cursor(source, x + 1e-4, y)
    assert source.data["galaxy_id"] == []
    explorer.map._on_drag(source, False)
    explorer.map._on_cursor(source, x + 1e-4, y)
    assert source.data["galaxy_id"] == [tiny_data.galaxy_ids[17]]


def test_the_cursor_reaches_the_server_through_its_throttled_source(explorer, tiny_data):
    """Pointer moves are not a server subscription (every move would be a message): the page
    writes them, throttled, into the ``gx-cursor`` source, whose changes ring the galaxy."""
    from bokeh.events import MouseLeave, MouseMove

    doc = Document()
    root = explorer.map._pane.get_root(doc)
    fig = next(f for f in root.select({"type": figure_type()}) if f.select_one({"name": "gx-hover-source"}))
    assert MouseMove.event_name not in fig.subscribed_events
    assert {MouseMove.event_name, MouseLeave.event_name} <= set(fig.js_event_callbacks)
    cursor, source = fig.select_one({"name": "gx-cursor"}), fig.select_one({"name": "gx-hover-source"})
    x, y = (float(v) for v in tiny_data.xy[17])
    cursor.data = {"x": [x + 1e-4], "y": [y]}  # what the page sends
    assert source.data["galaxy_id"] == [tiny_data.galaxy_ids[17]]
    cursor.data = {"x": [float("nan")], "y": [float("nan")]}  # the pointer left the map
    assert source.data["galaxy_id"] == []
    cursor.data = {"x": ["garbage"], "y": [None]}  # from a broken client: no hover, no error
    assert source.data["galaxy_id"] == [] and not explorer.state.message


def figure_type():
    from bokeh.models import Plot

    return Plot


def test_a_bad_event_is_a_notice_and_stays_in_its_session(tiny_data):
    one, two = Explorer(tiny_data), Explorer(tiny_data)
    two.state.select([1, 2, 3], "lasso")
    one.map._on_lasso(geometry=[["a", "b"], ["c", "d"], ["e", "f"]])  # garbage from a client
    assert one.state.message.startswith("lasso selection failed: ValueError")
    one.map._on_boundsxy(bounds=("x", 0, 1, 1))
    assert one.state.message.startswith("box selection failed")
    assert one.state.n_selected == 0 and not two.state.message and two.state.n_selected == 3
    assert one._message.visible and "failed" in one._message.object  # shown in the page


@pytest.mark.slow
def test_big_surveys_are_never_sent_as_glyphs():
    rng = np.random.default_rng(0)
    n = 50_000
    cat = pd.DataFrame(
        {
            "galaxy_id": [f"G{i}" for i in range(n)],
            "log_mstar": rng.normal(10.5, 0.6, n),
            "log_sfr": rng.normal(0, 0.5, n),
            "sf_class": rng.choice(["star-forming", "retired"], n),
        }
    )
    cat["log_ssfr"] = cat["log_sfr"] - cat["log_mstar"]
    data = ExplorerData(cat, rng.normal(size=(n, 2)))
    e = Explorer(data)
    e.state.select(np.arange(20_000), "test")
    root = e.template().server_doc(Document())
    lengths = [
        len(v)
        for m in root.select({"type": ColumnDataSource})
        for v in m.data.values()
        if hasattr(v, "__len__")
    ]
    assert max(lengths) < 5000, "no data source carries per-galaxy columns"
    assert "<b>20,000</b> selected" in e.main_sequence._caption.object
    assert not e.profiles.available and e.gallery._grid.tiles[0]["src"] == ""


def test_sessions_have_their_own_state(tiny_data):
    one, two = Explorer(tiny_data), Explorer(tiny_data)
    one.state.select([1, 2], "lasso")
    one.state.color_by = "sf_class"
    assert two.state.n_selected == 0 and two.state.color_by == "log_ssfr"
    assert two.gallery._header.object == "**0 selected**"


def test_data_is_shared_and_read_only(tiny_survey, tiny_run):
    a, b = load_data(tiny_survey.path, tiny_run), load_data(tiny_survey.path, tiny_run)
    assert a is b
    with pytest.raises(ValueError):
        a.xy[0, 0] = 1.0


def test_a_run_of_another_survey_is_refused_in_one_line(tiny_survey, tmp_path):
    run = tmp_path / "run"
    write_projection(run, ["X1", "X2"], np.zeros((2, 2)), {"method": "pca"})
    with pytest.raises(StoreError, match="projection.parquet.*does not match survey"):
        ExplorerData.load(tiny_survey.path, run)
    page = create_app(tiny_survey.path, run)  # the server shows the reason instead of crashing
    assert "cannot open this survey/run" in page.objects[0].object


def test_selection_highlight_covers_exactly_the_selected_galaxies():
    from galexplore.dashboard.compute.raster import selection_mask

    xy = np.array([[0.05, 0.05], [0.55, 0.95], [0.5, 0.5], [2.0, 2.0]], np.float32)
    view = {"x_range": (0.0, 1.0), "y_range": (0.0, 1.0), "width": 20, "height": 20}
    mask = selection_mask(xy, np.array([0, 1, 3]), view)  # galaxy 3 is out of view
    assert mask.shape == (20, 20)
    # sparse: each galaxy grows to 5x5 (clipped at the edges); row 0 is the bottom
    assert mask[0, 0] and mask[3, 3] and not mask[4, 4]
    assert mask[19, 11] and mask[17, 9] and not mask[16, 11] and not mask[19, 14]
    assert mask.sum() == 16 + 15 and not mask[10, 10]  # galaxy 2 is not selected
    assert selection_mask(xy, np.array([3]), view) is None
    assert selection_mask(xy, np.array([], np.int64), view) is None


def test_a_zoomed_view_draws_the_same_as_the_whole_survey(tiny_data):
    from galexplore.dashboard.compute.raster import VALUE, in_view, map_frame, shade
    from galexplore.dashboard.state import ExplorerState

    frame, kind = map_frame(ExplorerState(tiny_data), "log_mstar")
    np.testing.assert_allclose(frame[VALUE], tiny_data.catalog["log_mstar"], rtol=1e-6)
    ordered = frame.iloc[tiny_data.x_order].reset_index(drop=True)
    (x0, y0), (x1, y1) = tiny_data.xy.min(0), tiny_data.xy.max(0)
    view = {
        "x_range": (float(x0 + 0.3 * (x1 - x0)), float(x0 + 0.6 * (x1 - x0))),
        "y_range": (float(y0), float(y1)),
        "width": 50,
        "height": 40,
    }
    inside = ordered["x"].between(*view["x_range"])
    assert len(in_view(ordered, view["x_range"])) == inside.sum() > 0
    import datashader as ds
    from holoviews.operation.datashader import rasterize

    def mean_image(rows):
        points = hv.Points(rows, kdims=["x", "y"], vdims=[VALUE])
        return rasterize(points, aggregator=ds.mean(VALUE), dynamic=False, **view).dimension_values(2)

    # the slice aggregates exactly like the whole survey
    np.testing.assert_allclose(
        mean_image(in_view(ordered, view["x_range"])), mean_image(ordered), equal_nan=True
    )
    assert np.isfinite(shade(ordered, "log_mstar", kind, **view).dimension_values(2)).any()
    empty = {**view, "x_range": (float(x1) + 1, float(x1) + 2)}
    assert np.isnan(shade(ordered, "log_mstar", kind, **empty).dimension_values(2)).all()
    cat_frame, cat_kind = map_frame(ExplorerState(tiny_data), "sf_class")
    rgb = shade(cat_frame.iloc[tiny_data.x_order].reset_index(drop=True), "sf_class", cat_kind, **empty)
    assert type(rgb).__name__ == "RGB"


def test_every_colouring_aggregates_one_column_name_and_dtype(tiny_data):
    """Datashader compiles a Numba kernel per column name and dtype: every numeric colouring
    must reach it as the same float32 column, every categorical one as the same Categorical
    column, so the server compiles two kernels in all (at warm-up), not one per column."""
    from galexplore.dashboard.compute.raster import VALUE, map_frame
    from galexplore.dashboard.state import ExplorerState, color_choices, column_kind

    state = ExplorerState(tiny_data)
    signatures = {}
    for column in color_choices(tiny_data):
        frame, kind = map_frame(state, column)
        assert kind == column_kind(tiny_data, column)
        signatures.setdefault(kind, set()).add((tuple(frame.columns), str(frame[VALUE].dtype)[:8]))
    assert signatures["numeric"] == {(("x", "y", VALUE), "float32")}
    assert signatures["categorical"] == {(("x", "y", VALUE), "category")}


def test_profile_plots_show_the_selection_over_the_rest(explorer, tiny_data):
    """Retired galaxies selected: their EW(Hα) median lies below the rest's at every radius,
    with axis labels in units, and an empty selection draws nothing."""
    prof = explorer.profiles
    figs = prof._plot.object.children
    assert [f.title.text for f in figs] == ["log EW(Hα)", "log age (LW)", "[Z/H] (LW)", "log Σ*"]
    assert figs[0].xaxis[0].axis_label == "R / Rₑ" and figs[0].yaxis[0].axis_label == "log EW(Hα) [log Å]"
    rest_src, sel_src = prof._sources["log_ew_ha"]
    assert np.isnan(sel_src.data["med"]).all() and np.isfinite(rest_src.data["med"]).any()
    rows = np.flatnonzero(tiny_data.catalog["sf_class"].to_numpy() == "retired")
    assert len(rows) >= 5
    prof._show(*prof.compute(rows))
    sel, rest = np.asarray(sel_src.data["med"]), np.asarray(rest_src.data["med"])
    both = np.isfinite(sel) & np.isfinite(rest)
    assert both.sum() >= 3 and (sel[both] < rest[both]).all()
    assert (np.asarray(sel_src.data["lo"])[both] <= sel[both]).all()
    assert "selected" in prof._note.object


def test_a_new_selection_drops_the_old_band_at_once_and_sets_no_spinner(explorer, tiny_data):
    """The old selection's profile band is emptied before the new stack is computed (a repaint
    in the browser), then the new one is drawn; the profiles get no busy spinner (Panel's
    spinner changed their layout's CSS classes: BokehJS laid the whole page out again)."""
    import asyncio
    from types import SimpleNamespace

    prof = explorer.profiles
    _rest_src, sel_src = prof._sources["log_ew_ha"]
    classes = tiny_data.catalog["sf_class"].to_numpy()
    prof._show(*prof.compute(np.flatnonzero(classes == "retired")))
    drawn, spinner = [], []
    sel_src.on_change("data", lambda attr, old, new: drawn.append(bool(np.isfinite(new["med"]).any())))
    prof._box.param.watch(lambda e: spinner.append(e.new), "loading")
    asyncio.run(prof._on_selection(SimpleNamespace(new=np.flatnonzero(classes != "retired"))))
    assert drawn == [False, True] and spinner == []


def test_sessions_share_the_survey_arrays_instead_of_copying_them(tiny_data):
    """The main sequence and the class mix read the server's arrays (no per-session copy of
    N-sized columns: at 10⁷ galaxies each copy is hundreds of MB)."""
    one, two = Explorer(tiny_data), Explorer(tiny_data)
    assert one.main_sequence._x is two.main_sequence._x is tiny_data.mass_sfr[0]
    assert one.main_sequence._survey.data is two.main_sequence._survey.data
    assert one.distributions._codes[0] is tiny_data.sf_classes[0]
    from galexplore.dashboard.compute.raster import sorted_map_frame

    frame, kind = sorted_map_frame(one.state, one.state.color_by)
    assert frame is sorted_map_frame(two.state, two.state.color_by)[0] and kind == "numeric"
    assert np.all(np.diff(frame["x"].to_numpy()) >= 0)  # sorted by x: a zoom slices it
    codes, classes = tiny_data.sf_classes
    assert classes[:3] == [c for c in ("star-forming", "green-valley", "retired") if c in classes]
    np.testing.assert_array_equal(np.asarray(classes)[codes], tiny_data.catalog["sf_class"].astype(str))


def test_sessions_at_the_same_view_share_one_raster_but_not_their_clusters(tiny_data):
    """Two sessions colouring by a catalog column at the same view get one aggregation (the
    server's), each with the column's colour limits; a colouring by the session's own
    clusters is never shared."""
    from galexplore.dashboard.compute.raster import colour_limits
    from galexplore.dashboard.state import CLUSTER

    one, two = Explorer(tiny_data), Explorer(tiny_data)
    (x0, y0), (x1, y1) = tiny_data.xy.min(0), tiny_data.xy.max(0)
    view = {"x_range": (float(x0), float(x1)), "y_range": (float(y0), float(y1)), "width": 64, "height": 48}
    a, b = one.map._shade("log_mstar", **view), two.map._shade("log_mstar", **view)
    assert a.data is b.data and np.isfinite(a.dimension_values(2)).sum() > 10
    assert hv.Store.lookup_options("bokeh", a, "plot").kwargs["clim"] == colour_limits(tiny_data, "log_mstar")
    other = one.map._shade("log_sfr", **view)
    assert other.data is not a.data
    assert not np.allclose(other.dimension_values(2), a.dimension_values(2), equal_nan=True)
    one.state.set_clusters(np.arange(tiny_data.n) % 2, "alternating, k=2")
    two.state.set_clusters(np.zeros(tiny_data.n, int), "one cluster")
    c1, c2 = one.map._shade(CLUSTER, **view), two.map._shade(CLUSTER, **view)
    assert any(
        not np.array_equal(c1.dimension_values(d), c2.dimension_values(d)) for d in (2, 3, 4)
    )  # R, G, B


def test_main_sequence_shades_big_selections_and_draws_small_ones_as_glyphs():
    """Above MAX_GLYPHS selected galaxies the main sequence shades them by class (a raster over
    the view); below, the raster is empty and the galaxies are glyphs."""
    from galexplore.dashboard.state import ExplorerState
    from galexplore.dashboard.views.main_sequence import MAX_GLYPHS, MainSequence

    rng = np.random.default_rng(1)
    n = 3 * MAX_GLYPHS
    cat = pd.DataFrame(
        {
            "galaxy_id": [f"G{i}" for i in range(n)],
            "log_mstar": rng.normal(10.5, 0.6, n),
            "log_sfr": rng.normal(0, 0.5, n),
            "sf_class": rng.choice(["star-forming", "retired"], n),
        }
    )
    ms = MainSequence(ExplorerState(ExplorerData(cat, rng.normal(size=(n, 2)))))
    view = dict(
        colors={"star-forming": "#1f77b4", "retired": "#d62728"},
        x_range=(8.0, 13.0),
        y_range=(-2.0, 2.0),
        width=100,
        height=80,
    )
    small = ms._selection_raster(selection=np.arange(10), **view)
    assert not np.asarray(small.dimension_values("A")).any()
    big = ms._selection_raster(selection=np.arange(2 * MAX_GLYPHS), **view)
    alpha = np.asarray(big.dimension_values("A", flat=False))
    assert alpha.shape == (80, 100) and (alpha > 0).sum() > 500


def test_per_server_caches_key_arrays_on_every_value(tiny_data):
    """Cluster tables are shared by sessions with the same clustering: keyed on every label, not
    on Panel's random sample of 10⁵ of them (which 10⁶ labels differing in one galaxy share)."""
    from galexplore.dashboard.data import per_server_cache

    calls = []

    @per_server_cache(4)
    def count_ones(data: ExplorerData, labels: np.ndarray) -> int:
        calls.append(1)
        return int((labels == 1).sum())

    labels = np.zeros(1_000_000, np.int64)
    moved = labels.copy()
    moved[123_457] = 1
    assert count_ones(tiny_data, labels) == 0
    assert count_ones(tiny_data, labels.copy()) == 0 and len(calls) == 1  # same values: cached
    assert count_ones(tiny_data, moved) == 1 and len(calls) == 2


def test_the_cluster_table_is_shared_by_sessions_but_follows_their_labels(tiny_data):
    from galexplore.dashboard.views.clusters import summary_table

    half = (np.arange(tiny_data.n) % 2).astype(np.int64)
    a, b = summary_table(tiny_data, half), summary_table(tiny_data, half.copy())
    pd.testing.assert_frame_equal(a, b)
    assert a is not b  # each session its own copy
    a.loc[0, "n"] = -1
    assert summary_table(tiny_data, half).loc[0, "n"] == (half == 0).sum()
    flipped = half.copy()
    flipped[0] = 1 - flipped[0]
    assert summary_table(tiny_data, flipped).loc[0, "n"] == (half == 0).sum() - (half[0] == 0) + (
        half[0] == 1
    )
