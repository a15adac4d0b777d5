"""The unusual-galaxies and tags controls, driven from Python: on-demand scores that colour the
map, the most unusual selected, tags written to the run and read back by a new session."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from galexplore.analysis.anomaly_store import load_anomaly
from galexplore.artifacts.tags import TagStore
from galexplore.dashboard.state import ANOMALY, TAGS, ExplorerState, color_choices, column_kind
from galexplore.dashboard.views.anomaly import UnusualGalaxies, compute_anomaly
from galexplore.dashboard.views.embedding_map import EmbeddingMap
from galexplore.dashboard.views.tags import TagControls
from galexplore.testing import radial_pca_run


@pytest.fixture
def data(tiny_survey, tmp_path):
    """Explorer data on a private, writable run (tags and scores are written into it)."""
    from galexplore.dashboard.data import ExplorerData

    return ExplorerData.load(tiny_survey.path, radial_pca_run(tiny_survey, tmp_path / "run"))


def test_anomaly_and_tags_are_colourings(data):
    choices = color_choices(data)
    assert ANOMALY in choices and TAGS in choices
    assert column_kind(data, ANOMALY) == "numeric" and column_kind(data, TAGS) == "categorical"
    state = ExplorerState(data)
    assert np.isnan(state.derived_values(ANOMALY)).all() and set(state.derived_values(TAGS)) == {"none"}


def test_anomaly_colouring_is_computed_on_demand_and_cached_in_the_run(data):
    state = ExplorerState(data)
    view, galaxy_map = UnusualGalaxies(state), EmbeddingMap(state)
    assert ANOMALY not in state.derived and not (data.run / "anomaly.parquet").exists()
    state.color_by = ANOMALY
    scores = asyncio.run(view.ensure_scores())
    np.testing.assert_array_equal(state.derived[ANOMALY], scores)
    np.testing.assert_array_equal(scores, compute_anomaly(data))
    assert scores.shape == (data.n,) and np.isfinite(scores).all()
    cached = load_anomaly(data.run)
    np.testing.assert_array_equal(cached.aligned(data.galaxy_ids), scores)
    img = galaxy_map._pane.object[()].get(0)  # the map shows the scores: means within their range
    vals = img.dimension_values(2)
    vals = vals[np.isfinite(vals)]
    assert vals.size and vals.min() >= scores.min() - 1e-6 and vals.max() <= scores.max() + 1e-6
    assert "coloured by anomaly score" in galaxy_map._title(state.color_by)


def test_most_unusual_are_selected_most_unusual_first(data):
    state = ExplorerState(data)
    view = UnusualGalaxies(state)
    view._n.value = 5
    asyncio.run(view.select_most_unusual())
    scores = compute_anomaly(data)
    assert state.selection.tolist() == np.argsort(-scores, kind="stable")[:5].tolist()
    assert state.selection_label == "5 most unusual"
    assert np.all(np.diff(scores[state.selection]) <= 0)


def test_tag_selection_select_it_and_colour_by_it(data):
    state = ExplorerState(data)
    tags = TagControls(state)
    assert tags._tag.disabled  # nothing selected yet
    state.select([3, 1, 4], "lasso")
    tags._name.value = "ring candidates"
    tags.tag_selection()
    assert state.message == "" and tags.table.to_dict("list") == {"tag": ["ring candidates"], "n": [3]}
    assert TagStore(data.run).ids("ring candidates") == [str(data.galaxy_ids[i]) for i in (1, 3, 4)]
    # a bad name is a notice, not an exception
    tags._name.value = "   "
    tags.tag_selection()
    assert "tagging failed" in state.message and "empty" in state.message

    # a new session (a reloaded page, a restarted server) sees the tag and selects the same galaxies
    other = ExplorerState(data)
    other_tags = TagControls(other)
    assert other_tags._tags.value == "ring candidates"
    other_tags.select_tag()
    assert other.selection.tolist() == [1, 3, 4] and other.selection_label == "tag ring candidates"

    # colour by tags: the tagged galaxies are their own category
    other.color_by = TAGS
    col = other.derived[TAGS]
    assert set(col[[1, 3, 4]]) == {"ring candidates"} and (np.delete(col, [1, 3, 4]) == "untagged").all()
    galaxy_map = EmbeddingMap(other)
    assert type(galaxy_map._pane.object[()].get(0)).__name__ == "RGB"
    # a tag added by the first session reaches the second on its next refresh
    state.select([0], "tap")
    tags._name.value = "odd"
    tags.tag_selection()
    other_tags.refresh(force=True)
    assert list(other_tags._tags.options.values()) == ["ring candidates", "odd"]
    assert other.derived[TAGS][0] == "odd"
    # removing a tag removes it for everyone; the galaxies stay
    other_tags._tags.value = "ring candidates"
    other_tags.remove_tag()
    assert TagStore(data.run).names() == ["odd"] and other_tags._tags.value == "odd"
    assert set(other.derived[TAGS][[1, 3, 4]]) == {"untagged"}
