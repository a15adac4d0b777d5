"""Spreading rasters so isolated galaxies stay visible (array code, no Numba)."""

from __future__ import annotations

import numpy as np

from galexplore.dashboard.compute.spreading import density, dynspread_radius, spread_nearest, spread_rgba


def test_spread_fills_empty_pixels_from_the_nearest_galaxy_only():
    v = np.full((9, 9), np.nan)
    v[2, 2], v[2, 6] = 1.0, 5.0
    out = spread_nearest(v, 1)
    assert out[2, 2] == 1.0 and out[1, 2] == 1.0 and out[2, 3] == 1.0 and out[3, 3] == 1.0  # the 3×3 block
    assert out[2, 5] == 5.0 and np.isnan(out[2, 4])  # each galaxy paints its own 3×3 block
    assert np.isnan(out[2, 0]) and np.isnan(out[5, 5])  # nothing beyond
    assert np.isfinite(out).sum() == 18
    wide = spread_nearest(v, 2)  # radius 2: x² + y² ≤ 6 (21 pixels each); (2, 4) is nearer galaxy 1
    assert wide[2, 4] in (1.0, 5.0) and wide[0, 2] == 1.0 and np.isnan(wide[0, 0])
    dense = np.ones((3, 3))
    np.testing.assert_array_equal(spread_nearest(dense, 2), dense)  # filled pixels keep their values
    np.testing.assert_array_equal(spread_nearest(v, 0), v)


def test_density_counts_galaxies_with_neighbours():
    filled = np.zeros((10, 10), bool)
    filled[1, 1] = filled[1, 2] = filled[8, 8] = True
    assert density(filled, 1) == 2 / 3  # the pair has neighbours, the lone pixel not
    assert density(filled, 7) == 1.0
    assert density(np.zeros((4, 4), bool), 1) == np.inf


def test_sparse_images_spread_more_than_dense_ones():
    rng = np.random.default_rng(0)
    sparse = np.zeros((100, 100), bool)
    sparse[rng.integers(0, 100, 20), rng.integers(0, 100, 20)] = True
    dense = rng.random((100, 100)) < 0.5
    assert dynspread_radius(sparse, 0.8, 4) == 4
    assert dynspread_radius(dense, 0.8, 4) == 0


def test_rgba_spreading_moves_colours_not_alpha_blends():
    r, g, b, a = (np.zeros((5, 5), np.uint8) for _ in range(4))
    r[2, 2], a[2, 2] = 200, 255
    out = spread_rgba([r, g, b, a], 1)
    assert (out[0][1:4, 1:4] == 200).all() and (out[3][1:4, 1:4] == 255).all()
    assert out[3].sum() == 9 * 255
