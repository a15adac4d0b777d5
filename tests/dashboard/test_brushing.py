"""Two-way brushing: a box or lasso on the main sequence, or a range on a histogram, selects
those galaxies for every view (galaxies with NaN on those axes never)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galexplore.dashboard.compute.selection import lasso_select
from galexplore.dashboard.data import ExplorerData
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.url_state import view_query
from galexplore.dashboard.views.distributions import Distributions
from galexplore.dashboard.views.embedding_map import EmbeddingMap
from galexplore.dashboard.views.main_sequence import MainSequence


@pytest.fixture(scope="module")
def holey_data() -> ExplorerData:
    """A catalog-only explorer of 500 galaxies, a tenth without mass and another without SFR."""
    rng = np.random.default_rng(1)
    n = 500
    mass = rng.uniform(8.5, 11.5, n)
    sfr = 0.8 * (mass - 10) + rng.normal(0, 0.6, n)
    mass[rng.choice(n, 50, replace=False)] = np.nan
    sfr[rng.choice(n, 50, replace=False)] = np.nan
    cat = pd.DataFrame(
        {
            "galaxy_id": [f"G{i:04d}" for i in range(n)],
            "log_mstar": mass,
            "log_sfr": sfr,
            "z": rng.uniform(0.01, 0.1, n),
            "sf_class": rng.choice(["star-forming", "green-valley", "retired"], n),
        }
    )
    return ExplorerData(cat, rng.normal(size=(n, 2)).astype(np.float32))


def test_a_main_sequence_box_selects_what_numpy_finds(holey_data):
    state = ExplorerState(holey_data)
    MainSequence(state)._on_boundsxy(bounds=(10.0, -1.5, 11.2, 0.5))
    m, s = holey_data.catalog["log_mstar"].to_numpy(), holey_data.catalog["log_sfr"].to_numpy()
    expected = np.flatnonzero((m >= 10.0) & (m <= 11.2) & (s >= -1.5) & (s <= 0.5))
    assert len(expected) > 20
    np.testing.assert_array_equal(state.selection, expected)
    assert np.isfinite(m[state.selection]).all() and np.isfinite(s[state.selection]).all()
    assert state.selection_label == "main sequence box"
    assert view_query(state)["msbox"] == "10,-1.5,11.2,0.5"


def test_a_box_over_everything_leaves_out_the_galaxies_without_mass_or_sfr(holey_data):
    state = ExplorerState(holey_data)
    MainSequence(state)._on_boundsxy(bounds=(-100, -100, 100, 100))
    _, _, ok = holey_data.mass_sfr
    np.testing.assert_array_equal(state.selection, np.flatnonzero(ok))
    assert state.n_selected < holey_data.n


def test_a_main_sequence_lasso_selects_what_numpy_finds(holey_data):
    state = ExplorerState(holey_data)
    poly = np.array([[9.0, -2.0], [11.0, -1.0], [11.0, 1.0], [9.5, 0.5]])
    MainSequence(state)._on_lasso(geometry=poly)
    m, s = holey_data.catalog["log_mstar"].to_numpy(), holey_data.catalog["log_sfr"].to_numpy()
    ok = np.isfinite(m) & np.isfinite(s)
    expected = np.flatnonzero(ok)[lasso_select(np.column_stack([m, s])[ok], poly)]
    assert len(expected) > 20
    np.testing.assert_array_equal(state.selection, expected)
    assert state.selection_label == "main sequence lasso"


def test_a_histogram_range_selects_that_range(holey_data):
    state = ExplorerState(holey_data)
    dist = Distributions(state)
    dist._select_range("log_mstar", 10.4, 9.6)  # dragged right to left
    m = holey_data.catalog["log_mstar"].to_numpy()
    np.testing.assert_array_equal(state.selection, np.flatnonzero((m >= 9.6) & (m <= 10.4)))
    assert (
        state.selection_label.startswith("log_mstar") and view_query(state)["range"] == "log_mstar,9.6,10.4"
    )


def test_the_map_box_and_zoom_go_into_the_state(holey_data):
    state = ExplorerState(holey_data)
    emap = EmbeddingMap(state)
    emap._on_boundsxy(bounds=(-0.5, -0.5, 0.5, 0.5))
    assert state.selection_label == "box" and state.selection_link == "box=-0.5,-0.5,0.5,0.5"
    emap._on_rangexy(x_range=(-1.0, 1.0), y_range=(-2.0, 0.5))
    assert state.map_range == "-1,1,-2,0.5"
    full = emap._full_lims()
    emap._on_rangexy(x_range=full["xlim"], y_range=full["ylim"])
    assert state.map_range == ""  # the whole map: no zoom in the link
    state.map_range = "0,1,0,2"  # a link or the find box: the map shows it
    assert emap._ranges == {"x": (0.0, 1.0), "y": (0.0, 2.0)}
