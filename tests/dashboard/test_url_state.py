"""The URL holds the view; values read from it are validated, never evaluated."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from panel.io.location import Location

from galexplore.dashboard.compute.selection import lasso_select
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.url_state import (
    apply_query,
    format_polygon,
    parse_polygon,
    parse_query,
    share_link,
    sync_url,
    view_query,
)
from galexplore.errors import GalexploreError


def test_polygon_text_round_trips_to_four_decimals():
    poly = np.array([[0.123456, -1.0], [2.5, 0.000049], [1.0, 3.14159]])
    back = parse_polygon(format_polygon(poly))
    np.testing.assert_allclose(back, poly, atol=5e-5)
    thinned = parse_polygon(format_polygon(np.random.default_rng(0).normal(size=(5000, 2))))
    assert len(thinned) <= 400


@pytest.mark.parametrize("bad", ["", "1,2;3,4", "a,b;c,d;e,f", "1,2,3;4,5;6,7", "1,nan;2,3;4,5", None, 7])
def test_bad_polygons_are_refused(bad):
    with pytest.raises(GalexploreError):
        parse_polygon(bad)


def test_parse_query_keeps_valid_values_and_explains_the_rest(tiny_data):
    state = ExplorerState(tiny_data)
    gid = tiny_data.galaxy_ids[7]
    values, rejected = parse_query(
        state, {"color": "sf_class", "method": "gmm", "k": "4", "galaxy": gid, "unrelated": "x"}
    )
    assert values == {"color_by": "sf_class", "cluster_method": "gmm", "n_clusters": 4, "focus": gid}
    assert rejected == {}
    values, rejected = parse_query(
        state, {"color": "__import__('os')", "method": "magic", "k": "99", "galaxy": "nope", "lasso": "1,2;x"}
    )
    assert values == {}
    assert set(rejected) == {"color", "method", "k", "galaxy", "lasso"}


def test_apply_query_turns_a_lasso_into_the_selection(tiny_data):
    state = ExplorerState(tiny_data)
    lo, hi = tiny_data.xy.min(0), tiny_data.xy.max(0)
    mid = (lo + hi) / 2
    poly = np.array([lo, [mid[0], lo[1]], mid, [lo[0], mid[1]]])
    apply_query(state, {"lasso": format_polygon(poly), "color_by": "log_mstar"})
    expected = lasso_select(tiny_data.xy, parse_polygon(format_polygon(poly)))
    assert len(expected) > 0
    np.testing.assert_array_equal(state.selection, expected)
    assert state.lasso and state.color_by == "log_mstar"


def test_sync_url_restores_the_view_and_replaces_bad_values(tiny_data):
    gid = tiny_data.galaxy_ids[3]
    loc = Location(search=f"?color=sf_class&k=7&galaxy={gid}&method=__class__")
    state = ExplorerState(tiny_data)
    rejected = sync_url(state, loc)
    assert set(rejected) == {"method"}
    assert (state.color_by, state.n_clusters, state.focus, state.cluster_method) == (
        "sf_class",
        7,
        gid,
        "kmeans",
    )
    assert "Ignored URL parameters" in state.message
    assert "method=kmeans" in loc.search
    state.color_by = "log_mstar"  # later changes go to the URL
    assert "color=log_mstar" in loc.search


def test_share_link_reopens_the_same_view(tiny_data):
    state = ExplorerState(tiny_data)
    state.color_by = "sf_class"
    state.set_focus(tiny_data.galaxy_ids[2])
    loc = SimpleNamespace(href="http://127.0.0.1:5006/explorer?old=1")  # href is set by the browser
    link = share_link(state, loc)
    assert link.startswith("http://127.0.0.1:5006/explorer?")
    query = view_query(state)
    again = ExplorerState(tiny_data)
    values, rejected = parse_query(again, query)
    apply_query(again, values)
    assert not rejected and again.color_by == "sf_class" and again.focus == state.focus


# -- zoom, every kind of selection, the id list ---------------------------------------------------
from galexplore.dashboard.compute.row_codes import MAX_CHARS, decode_rows, encode_rows  # noqa: E402
from galexplore.dashboard.url_state import URL_KEYS, clusters_current, select_link  # noqa: E402
from galexplore.dashboard.views.clusters import compute_clusters  # noqa: E402


def _reopen(data, query):
    """A fresh session opened with ``query``: its state and the rejected keys."""
    state = ExplorerState(data)
    values, rejected = parse_query(state, query)
    apply_query(state, values)
    return state, rejected


@pytest.mark.parametrize(
    "rows",
    [[0], [3, 4, 5, 6, 7], [90, 2, 41, 7], list(range(0, 96, 3)), np.arange(96)],
    ids=["one", "run", "ranked", "strided", "all"],
)
def test_row_lists_round_trip_in_any_order(rows):
    text = encode_rows(rows)
    assert text and all(c.isalnum() or c in "-_" for c in text)  # URL-safe, no padding
    np.testing.assert_array_equal(decode_rows(text, 96), rows)


def test_row_lists_are_compact_and_capped():
    rng = np.random.default_rng(0)
    dense = np.arange(10_000, 210_000)
    assert len(encode_rows(dense)) < 400  # a run of neighbours costs next to nothing
    scattered = np.sort(rng.choice(10**6, 2000, replace=False))
    assert len(encode_rows(scattered)) < MAX_CHARS  # ~2 bytes a row
    with pytest.raises(GalexploreError, match="longer than"):
        decode_rows("A" * (MAX_CHARS + 1), 10**6)


@pytest.mark.parametrize(
    "bad", ["", "!!!", "abc", "{{7*7}}", encode_rows([5, 200]), encode_rows([1, 2])[:-4]]
)
def test_bad_row_lists_are_refused(bad):
    with pytest.raises(GalexploreError):
        decode_rows(bad, 96)


def test_zoom_range_round_trips_and_bad_ones_are_refused(tiny_data):
    state, rejected = _reopen(tiny_data, {"zoom": "0.5,2.25,-1,3"})
    assert not rejected and state.map_range == "0.5,2.25,-1,3"
    assert view_query(state)["zoom"] == "0.5,2.25,-1,3"
    for bad in ("2,1,0,1", "0,1,1,1", "0,1,2", "a,b,c,d", "0,1,0,inf", "0,1,0,1,5"):
        values, rejected = parse_query(ExplorerState(tiny_data), {"zoom": bad})
        assert values == {} and "zoom" in rejected, bad


def _link_kinds(data):
    x, y = data.xy[:, 0], data.xy[:, 1]
    mx, my = np.median(x), np.median(y)
    m, s, _ = data.mass_sfr
    return {
        "box": f"{x.min()},{y.min()},{mx},{my}",
        "msbox": f"{np.nanmedian(m)},{np.nanmin(s)},{np.nanmax(m)},{np.nanmax(s)}",
        "mslasso": f"9,-3;12,-3;12,2;9,{np.nanmedian(s)}",
        "range": "log_mstar,10,10.8",
        "similar": f"7,{data.galaxy_ids[11]}",
    }


@pytest.mark.parametrize("kind", ["box", "msbox", "mslasso", "range", "similar"])
def test_every_kind_of_selection_reopens_from_its_link(tiny_data, kind):
    state = ExplorerState(tiny_data)
    value = parse_selection_value(state, kind, _link_kinds(tiny_data)[kind])
    select_link(state, kind, value)
    assert state.n_selected > 0 and state.selection_link == f"{kind}={value}"
    query = view_query(state)
    assert query[kind] == value and "ids" not in query
    again, rejected = _reopen(tiny_data, query)
    assert not rejected
    np.testing.assert_array_equal(again.selection, state.selection)
    assert again.selection_label == state.selection_label and again.selection_link == state.selection_link


def parse_selection_value(state, key, value):
    from galexplore.dashboard.url_state import parse_selection

    return parse_selection(state, key, value)


def test_box_link_selects_the_box_on_the_map(tiny_data):
    x, y = tiny_data.xy[:, 0], tiny_data.xy[:, 1]
    x0, x1, y0, y1 = np.round([np.percentile(x, 20), np.percentile(x, 70), *np.percentile(y, [10, 80])], 3)
    state, rejected = _reopen(tiny_data, {"box": f"{x1},{y0},{x0},{y1}", "k": "3"})  # corners in any order
    expected = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
    assert not rejected and len(expected) > 5
    np.testing.assert_array_equal(state.selection, expected)
    assert state.selection_label == "box" and state.n_clusters == 3


def test_any_other_selection_goes_into_the_link_as_an_id_list(tiny_data):
    state = ExplorerState(tiny_data)
    state.select([40, 3, 77, 12], "tagged", ordered=True)  # a view that gives no link of its own
    query = view_query(state)
    assert set(query) >= {"ids"} and not state.selection_link
    again, rejected = _reopen(tiny_data, query)
    assert not rejected
    np.testing.assert_array_equal(again.selection, [40, 3, 77, 12])  # ranked order kept
    assert again.selection_label == "from a link"


@pytest.mark.parametrize(
    "key, bad",
    [
        ("box", "1,2,3"),
        ("box", "0,0,1,nan"),
        ("msbox", "a,b,c,d"),
        ("mslasso", "1,2;3,4"),
        ("range", "nope,1,2"),
        ("range", "galaxy_id,1,2"),
        ("range", "log_mstar,1"),
        ("cluster", "-3"),
        ("cluster", "1e3"),
        ("cluster", "__class__"),
        ("similar", "0,x"),
        ("similar", "5,no-such-galaxy"),
        ("similar", "99999,SYN"),
        ("ids", "!!!"),
        ("ids", encode_rows([5, 10_000])),
    ],
)
def test_bad_selection_values_are_refused_with_a_reason(tiny_data, key, bad):
    values, rejected = parse_query(ExplorerState(tiny_data), {key: bad})
    assert "selection_link" not in values and key in rejected


def test_only_the_first_selection_of_a_link_is_restored(tiny_data):
    values, rejected = parse_query(ExplorerState(tiny_data), {"box": "0,0,1,1", "ids": encode_rows([1, 2])})
    assert values["selection_link"] == "box=0,0,1,1" and set(rejected) == {"ids"}


def test_a_cluster_link_waits_for_the_links_clustering(tiny_data):
    labels = compute_clusters(tiny_data, "kmeans", 3)
    state, rejected = _reopen(tiny_data, {"k": "3", "cluster": "1"})
    assert not rejected and state.n_selected == 0  # no clusters yet
    state.set_clusters(labels, "kmeans k=3")
    np.testing.assert_array_equal(state.selection, np.flatnonzero(labels == 1))
    assert state.selection_label == "cluster 1 of kmeans k=3" and view_query(state)["cluster"] == "1"


def test_the_links_clustering_wins_over_a_saved_one(tiny_data):
    state = ExplorerState(tiny_data)
    state.set_clusters(compute_clusters(tiny_data, "kmeans", 5), "kmeans k=5 (saved)")
    assert clusters_current(state)
    apply_query(state, parse_query(state, {"k": "5"})[0])
    assert state.cluster_labels is not None  # the same settings: the saved clusters stay
    apply_query(state, parse_query(state, {"k": "7"})[0])
    assert state.cluster_labels is None and state.n_clusters == 7  # the page recomputes them


def test_sync_url_follows_every_selection_and_keeps_foreign_parameters(tiny_data):
    loc = Location(search="?theme=dark")
    state = ExplorerState(tiny_data)
    sync_url(state, loc)
    select_link(state, "box", "0,0,100,100")
    assert "box=0,0,100,100" in loc.search and "theme=dark" in loc.search
    state.select([5, 9], "tagged")
    assert "ids=" in loc.search and "box=" not in loc.search
    state.map_range = "0,1,0,1"
    assert "zoom=0,1,0,1" in loc.search
    state.clear_selection()
    assert "ids=" not in loc.search and "theme=dark" in loc.search


@pytest.mark.parametrize("key", [k for k in URL_KEYS if k not in ("color", "method", "k", "galaxy")])
def test_hostile_values_of_the_new_keys_are_refused(tiny_data, key):
    state = ExplorerState(tiny_data)
    for value in ("../../etc/passwd", "__import__('os').system('x')", "{{7*7}}", "1+1", "\x00"):
        values, rejected = parse_query(state, {key: value})
        assert values == {} and key in rejected, (key, value)


def test_hdbscan_settings_go_into_the_link_only_for_hdbscan(tiny_data):
    state = ExplorerState(tiny_data)
    assert "mcs" not in view_query(state)  # k-means: no HDBSCAN settings in the link
    again, rejected = _reopen(tiny_data, {"method": "hdbscan", "mcs": "12", "msamples": "4"})
    assert not rejected and (again.cluster_method, again.min_cluster_size, again.min_samples) == (
        "hdbscan",
        12,
        4,
    )
    query = view_query(again)
    assert (query["method"], query["mcs"], query["msamples"]) == ("hdbscan", "12", "4")
    values, rejected = parse_query(again, {"mcs": "many", "msamples": "-5"})
    assert values == {} and set(rejected) == {"mcs", "msamples"}


def test_a_link_with_another_k_wins_over_the_runs_saved_clusters(
    tiny_survey, tiny_run, tmp_path, monkeypatch
):
    """The page of ``?k=3&cluster=1`` on a run with a saved k=5 clustering shows k=3 and its cluster 1."""
    import asyncio
    import shutil
    from functools import partial

    import pandas as pd

    from galexplore.analysis.cluster_store import save_clusters
    from galexplore.dashboard import url_state
    from galexplore.dashboard.app import Explorer
    from galexplore.dashboard.data import ExplorerData

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    data = ExplorerData.load(tiny_survey.path, run)
    saved = compute_clusters(data, "kmeans", 5)
    frame = pd.DataFrame({"galaxy_id": data.galaxy_ids.astype(str), "cluster": saved})
    save_clusters(run, frame, {"method": "kmeans", "n_clusters": 5}, "kmeans_k5")
    loc = Location(search="?k=3&cluster=1")
    monkeypatch.setattr(url_state, "sync_url", partial(url_state.sync_url, location=loc))
    page = Explorer(data, sync_url=True)
    state = page.state
    if not clusters_current(state):  # the page schedules the computation (outside a server: done)
        asyncio.run(page.clusters.recompute())
    assert state.cluster_key == "kmeans k=3"
    np.testing.assert_array_equal(state.selection, np.flatnonzero(compute_clusters(data, "kmeans", 3) == 1))
    assert "k=3" in loc.search and "cluster=1" in loc.search
