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
    rotated = write_survey(
        tmp_path / "rot", tiny_survey.catalog, {"maps": (rot, spec)}, name="rot", source="test"
    )
    a = radial_profile_features(tiny_survey, n_bins=6)
    b = radial_profile_features(rotated, n_bins=6)
    assert a.shape == (tiny_survey.n_galaxies, 5 * 6)
    assert np.allclose(a, b, atol=1e-5) and np.isfinite(a).all()


def test_pixel_pca_features(tiny_survey):
    f = pixel_pca_features(tiny_survey, n_components=64)
    assert f.shape == (tiny_survey.n_galaxies, 64) and np.isfinite(f).all()
    assert f[:, 0].var() >= f[:, -1].var()


def test_random_init_embeddings_are_seeded_and_untrained(tiny_survey, tmp_path):
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.embed import embed
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


def test_classification_scores_weigh_every_class_alike():
    from galexplore.evaluation.probes import classification_scores

    y = np.array(["e"] * 70 + ["s"] * 20 + ["edge"] * 10)
    guess = classification_scores(y, np.full(100, "e"))  # the majority guess of a 70 % set
    assert guess["accuracy"] == pytest.approx(0.7)
    assert guess["balanced_accuracy"] == pytest.approx(1 / 3)
    assert guess["macro_f1"] == pytest.approx((2 * 0.7 / 1.7) / 3)
    perfect = classification_scores(y, y)
    assert all(v == 1.0 for v in perfect.values())


def test_knn_scores_and_missing_labels_include_the_empty_string():
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(5, 1, (100, 2))])
    labels = np.array(["a"] * 300 + ["b"] * 100, dtype=object)
    labels[::10] = ""  # a missing label, as a CSV gives it, is left out, never a class of its own
    labels[1::10] = None
    tr, te = split_indices(400)
    out = knn_accuracy(X, labels, tr, te)
    assert set(out) == {"accuracy", "balanced_accuracy", "macro_f1", "f1_weighted"}
    assert out["balanced_accuracy"] > 0.95 and out["macro_f1"] > 0.95


def test_balanced_linear_probe_finds_the_minority_class():
    """On an imbalanced, overlapping set, class weighting trades a little accuracy for balanced accuracy."""
    from galexplore.evaluation.probes import linear_probe_classification

    rng = np.random.default_rng(3)
    n_major, n_minor = 1800, 200
    X = np.concatenate([rng.normal(0, 1, (n_major, 4)), rng.normal(0, 1, (n_minor, 4)) + [1.6, 0, 0, 0]])
    y = np.array(["major"] * n_major + ["minor"] * n_minor)
    tr, te = split_indices(len(y), 0.3, random_state=0)
    plain = linear_probe_classification(X, y, tr, te, class_weight=None)
    balanced = linear_probe_classification(X, y, tr, te)
    assert balanced["balanced_accuracy"] > plain["balanced_accuracy"] + 0.1
    assert plain["accuracy"] > balanced["accuracy"]  # the unweighted probe leans to the majority
    assert linear_probe_accuracy(X, y, tr, te) == balanced["accuracy"]
    one_class = np.array(["major"] * len(y))
    assert np.isnan(linear_probe_classification(X, one_class, tr, te)["accuracy"])
