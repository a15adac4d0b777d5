"""Per-session state: validation of everything that comes from outside, and no sharing."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.dashboard.state import (
    CLUSTER,
    DERIVED,
    ExplorerState,
    color_choices,
    column_kind,
    validate_color_by,
)
from galexplore.errors import GalexploreError


def test_colour_choices_are_catalog_columns_or_cluster(tiny_data):
    choices = color_choices(tiny_data)
    assert {"log_ssfr", "log_mstar", "sf_class", "morph_type", CLUSTER} <= set(choices)
    assert "galaxy_id" not in choices
    assert set(choices) - {CLUSTER, *DERIVED} <= set(tiny_data.catalog.columns)  # + anomaly scores, tags
    assert column_kind(tiny_data, "sf_class") == "categorical"
    assert column_kind(tiny_data, "log_mstar") == "numeric"


@pytest.mark.parametrize(
    "bad", ["__import__('os').system('true')", "galaxy_id", "nope", "", None, 3, ["log_mstar"]]
)
def test_colour_by_refuses_anything_else(tiny_data, bad):
    with pytest.raises(GalexploreError):
        validate_color_by(tiny_data, bad)
    state = ExplorerState(tiny_data)
    with pytest.raises(ValueError):
        state.color_by = bad


def test_default_colouring_is_specific_star_formation(tiny_data):
    assert ExplorerState(tiny_data).color_by == "log_ssfr"


def test_selection_is_deduplicated_clipped_and_optionally_ranked(tiny_data):
    state = ExplorerState(tiny_data)
    state.select([5, 3, 5, -1, 10_000, 7], "test")
    np.testing.assert_array_equal(state.selection, [3, 5, 7])
    state.select([9, 2, 9, 4], "ranked", ordered=True)
    np.testing.assert_array_equal(state.selection, [9, 2, 4])
    assert state.selection_label == "ranked"
    state.clear_selection()
    assert state.n_selected == 0 and state.selection_label == ""


def test_unknown_focus_is_refused(tiny_data):
    state = ExplorerState(tiny_data)
    with pytest.raises(GalexploreError, match="unknown galaxy_id"):
        state.set_focus("no-such-galaxy")
    gid = tiny_data.galaxy_ids[4]
    state.set_focus(gid)
    assert state.focus_row == 4


def test_two_sessions_never_share_state(tiny_data):
    one, two = ExplorerState(tiny_data), ExplorerState(tiny_data)
    one.select([1, 2, 3], "lasso")
    one.set_focus(tiny_data.galaxy_ids[1])
    one.color_by = "sf_class"
    one.set_clusters(np.zeros(tiny_data.n, dtype=int), "kmeans k=1")
    assert (
        two.n_selected == 0 and two.focus == "" and two.color_by == "log_ssfr" and two.cluster_labels is None
    )
    one.param.color_by.objects = ["log_mstar"]  # per-instance parameter objects
    assert "sf_class" in two.param.color_by.objects


def test_cluster_labels_must_cover_every_galaxy(tiny_data):
    state = ExplorerState(tiny_data)
    with pytest.raises(GalexploreError):
        state.set_clusters(np.zeros(3, dtype=int), "bad")
    labels = np.r_[np.full(tiny_data.n - 2, 1), -1, 0]
    state.set_clusters(labels, "hdbscan")
    names = state.cluster_names()
    assert names[-2] == "noise" and names[-1] == "0" and names[0] == "1"


def test_every_selection_change_bumps_the_version_the_views_memoise_on(tiny_data):
    state = ExplorerState(tiny_data)
    stream = state.selection_stream()
    seen = []
    stream.add_subscriber(lambda version: seen.append((version, state.selection.tolist())))
    state.select([5, 1, 3], "lasso")
    state.select([5, 1, 3], "lasso")  # the same galaxies again: still a change the views redraw for
    state.clear_selection()
    assert seen == [(1, [1, 3, 5]), (2, [1, 3, 5]), (3, [])]
    assert stream.contents == {"version": 3}  # an int, not the selection: cheap to hash
