"""Lasso and box selection on arrays: the same answer as a brute-force point-in-polygon test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path

from galexplore.dashboard.compute.selection import box_select, lasso_select, nearest


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_vertices=st.integers(3, 12))
def test_lasso_matches_brute_force(seed, n_vertices):
    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(3000, 2))
    poly = rng.normal(scale=1.2, size=(n_vertices, 2))
    expected = np.flatnonzero(Path(poly).contains_points(xy))
    np.testing.assert_array_equal(lasso_select(xy, poly), expected)


def test_lasso_of_a_square_selects_exactly_the_points_inside():
    g = np.stack(np.meshgrid(np.arange(10) + 0.5, np.arange(10) + 0.5), -1).reshape(-1, 2)
    rows = lasso_select(g, [(2, 2), (5, 2), (5, 5), (2, 5)])
    assert len(rows) == 9
    assert np.all((g[rows] > 2) & (g[rows] < 5))


@pytest.mark.parametrize(
    "poly", [[], [(0, 0)], [(0, 0), (1, 1)], [(0, 0), (np.nan, 1), (1, np.inf)], [[1, 2, 3]]]
)
def test_degenerate_polygons_select_nothing(poly):
    xy = np.random.default_rng(0).normal(size=(100, 2))
    assert lasso_select(xy, poly).size == 0


def test_box_select_accepts_corners_in_any_order():
    xy = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], dtype=float)
    np.testing.assert_array_equal(box_select(xy, (2.5, 0.5, 0.5, 2.5)), [1, 2])
    assert box_select(xy, (np.nan, 0, 1, 1)).size == 0


def test_nearest_respects_the_distance_limit():
    xy = np.array([[0, 0], [1, 0], [5, 5]], dtype=float)
    assert nearest(xy, (0.9, 0.1), 0.5) == 1
    assert nearest(xy, (3, 3), 0.5) is None


def test_a_million_points_need_no_python_loop():
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(1_000_000, 2)).astype(np.float32)
    theta = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    poly = np.c_[0.5 * np.cos(theta), 0.5 * np.sin(theta)]
    rows = lasso_select(xy, poly)
    # a disc of radius 0.5 under a unit 2-d Gaussian holds 1 - exp(-1/8) ≈ 11.75 % of the points
    assert abs(len(rows) / len(xy) - (1 - np.exp(-0.125))) < 0.003
