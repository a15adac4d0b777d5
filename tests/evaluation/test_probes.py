"""Probes and baselines: protocol properties on synthetic features with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.evaluation.baselines import (
    pixel_pca_features,
    radial_profile_features,
    random_init_embeddings,
)
from galexplore.evaluation.probes import (
    knn_accuracy,
    knn_r2,
    linear_probe_accuracy,
    linear_probe_r2,
    split_indices,
)


def test_split_indices():
    tr, te = split_indices(100, 0.2, random_state=3)
    assert len(te) == 20 and len(tr) == 80
    assert not set(tr) & set(te) and sorted([*tr, *te]) == list(range(100))
    tr2, te2 = split_indices(100, 0.2, random_state=3)
    assert np.array_equal(te, te2)
    assert not np.array_equal(te, split_indices(100, 0.2, random_state=4)[1])


def test_knn_r2_recovers_a_smooth_function_and_ignores_nan_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    y_nan = y.copy()
    y_nan[::7] = np.nan
    tr, te = split_indices(600)
    assert knn_r2(X, y, tr, te) > 0.9
    assert knn_r2(X, y_nan, tr, te) > 0.9
    assert knn_r2(rng.normal(size=(600, 3)), y, tr, te) < 0.1  # unrelated features
    assert linear_probe_r2(X, 2 * X[:, 0] - X[:, 2], tr, te) > 0.99


def test_knn_is_scale_invariant_through_standardisation():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 2))
    y = X[:, 0] + X[:, 1]
    tr, te = split_indices(400)
    scaled = X * np.array([1000.0, 0.001])
    assert knn_r2(X, y, tr, te) == pytest.approx(knn_r2(scaled, y, tr, te), abs=1e-9)


def test_knn_accuracy_and_missing_labels():
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(6, 1, (200, 2))])
    labels = np.array(["a"] * 200 + ["b"] * 200, dtype=object)
    labels[::9] = None
    tr, te = split_indices(400)
    out = knn_accuracy(X, labels, tr, te)
    assert out["accuracy"] > 0.97 and out["f1_weighted"] > 0.97
    assert linear_probe_accuracy(X, labels, tr, te) > 0.97
    assert knn_accuracy(X, np.array([True, False] * 200), tr, te)["accuracy"] < 0.7


def test_radial_profile_is_rotation_invariant(tiny_survey, tmp_path):
    from galexplore.data import write_survey

    maps = tiny_survey.read("maps", slice(None))
    rot = np.rot90(maps, k=1, axes=(2, 3)).copy()
    spec = tiny_survey.spec("maps")
    rotated = write_survey(tmp_path / "rot", tiny_survey.catalog, {"maps": (rot, spec)}, name="rot", source="test")
    a = radial_profile_features(tiny_survey, n_bins=6)
    b = radial_profile_features(rotated, n_bins=6)
    assert a.shape == (tiny_survey.n_galaxies, 5 * 6)
    assert np.allclose(a, b, atol=1e-5) and np.isfinite(a).all()


def test_pixel_pca_features(tiny_survey):
    f = pixel_pca_features(tiny_survey, n_components=64)
    assert f.shape == (tiny_survey.n_galaxies, 64) and np.isfinite(f).all()
    assert f[:, 0].var() >= f[:, -1].var()


def test_random_init_embeddings_are_seeded_and_untrained(tiny_survey, tmp_path):
    from galexplore.embed import embed
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.training import TrainConfig, train

    run = tmp_path / "run"
    train(tiny_survey, run, TrainConfig(epochs=1, width=4, depth=2, batch_size=32, device="cpu"))
    a = random_init_embeddings(tiny_survey, run, seed=0)["maps"]
    b = random_init_embeddings(tiny_survey, run, seed=0)["maps"]
    c = random_init_embeddings(tiny_survey, run, seed=1)["maps"]
    embed(tiny_survey, run, device="cpu")
    trained = read_embeddings(run).get()
    assert a.shape == trained.shape
    assert np.array_equal(a, b) and not np.allclose(a, c) and not np.allclose(a, trained)
