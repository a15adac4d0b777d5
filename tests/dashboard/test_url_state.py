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
