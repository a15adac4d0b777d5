"""Anomaly scores: injected outliers score highest, seeded, cached in RUN/anomaly.parquet and
recomputed when stale."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.analysis.anomaly import AnomalyScorer, most_unusual
from galexplore.analysis.anomaly_store import load_anomaly, run_anomaly
from galexplore.artifacts.runs import read_embeddings, write_embeddings
from galexplore.errors import GalexploreError


def with_outliers(make_blobs, n_out: int = 6, seed: int = 1):
    """Three tight classes of 200 plus ``n_out`` vectors pointing in random other directions."""
    X, _, _ = make_blobs(200, 3, dim=64, spread=0.2, seed=seed)
    rng = np.random.default_rng(seed + 100)
    out = rng.normal(size=(n_out, X.shape[1])).astype(np.float32)
    out *= np.linalg.norm(X, axis=1).mean() / np.linalg.norm(out, axis=1, keepdims=True)
    rows = rng.choice(len(X) + n_out, n_out, replace=False)
    keep = np.setdiff1d(np.arange(len(X) + n_out), rows)
    Y = np.empty((len(X) + n_out, X.shape[1]), np.float32)
    Y[keep], Y[rows] = X, out
    return Y, np.sort(rows)


@pytest.mark.parametrize("method", ["isolation_forest", "lof"])
def test_injected_outliers_are_most_unusual(make_blobs, method):
    X, outliers = with_outliers(make_blobs)
    scores = AnomalyScorer(method, n_components=16, random_state=0).fit(X).scores_
    assert scores.shape == (len(X),) and scores.dtype == np.float32
    np.testing.assert_array_equal(np.sort(most_unusual(scores, len(outliers))), outliers)
    # and not by a hair: the least unusual outlier is clearly above the typical galaxy
    inliers = np.setdiff1d(np.arange(len(X)), outliers)
    assert scores[outliers].min() > np.percentile(scores[inliers], 99)


def test_seeded_and_direction_only(make_blobs):
    X, _ = with_outliers(make_blobs)
    a = AnomalyScorer(random_state=3).fit_score(X)
    np.testing.assert_array_equal(a, AnomalyScorer(random_state=3).fit_score(X))
    # L2-normalised: rescaling a galaxy's vector does not make it unusual
    scaled = X * np.random.default_rng(0).uniform(0.5, 2.0, (len(X), 1)).astype(np.float32)
    np.testing.assert_allclose(AnomalyScorer(random_state=3).fit_score(scaled), a, atol=2e-3)


def test_subsampled_fit_scores_everyone(make_blobs):
    X, outliers = with_outliers(make_blobs)
    scorer = AnomalyScorer(n_components=8, max_fit=300, random_state=0).fit(X)
    assert scorer.n_components_ == 8 and len(scorer.scores_) == len(X)
    assert set(most_unusual(scorer.scores_, 10)) >= set(outliers)


def test_bad_input():
    with pytest.raises(GalexploreError, match="unknown anomaly method"):
        AnomalyScorer("magic").fit(np.ones((5, 3)))
    with pytest.raises(GalexploreError, match="finite"):
        AnomalyScorer().fit(np.array([[1.0, np.nan]] * 5))
    with pytest.raises(GalexploreError, match="N ≥ 3"):
        AnomalyScorer().fit(np.ones((2, 3)))
    assert most_unusual(np.array([0.1, np.nan, 0.5, 0.3]), 2).tolist() == [2, 3]


def test_run_cache(run_copy, make_blobs):
    emb = read_embeddings(run_copy)
    n = len(emb.galaxy_ids)
    X, _, _ = make_blobs(40, 3, dim=16, spread=0.1, seed=4)
    Z, rows = np.empty((n, 16), np.float32), np.array([7, 40, 81])
    Z[np.setdiff1d(np.arange(n), rows)] = X[np.random.default_rng(4).permutation(len(X))[: n - 3]]
    Z[rows] = np.random.default_rng(5).normal(size=(3, 16))  # three galaxies unlike the rest
    write_embeddings(run_copy, emb.galaxy_ids, {"maps": Z}, emb.metadata)

    first = run_anomaly(run_copy, AnomalyScorer(method="lof", n_components=8))
    assert not first.cached and first.path == run_copy / "anomaly.parquet"
    assert set(most_unusual(first.scores["anomaly"], 3)) == set(rows)
    again = run_anomaly(run_copy, AnomalyScorer(method="lof", n_components=8))
    assert again.cached
    np.testing.assert_array_equal(again.scores["anomaly"], first.scores["anomaly"])
    assert again.params["scorer"]["method"] == "lof" and again.params["modality"] == "maps"
    # aligned to any order of ids, NaN for unknown ones
    ids = list(emb.galaxy_ids[::-1]) + ["nope"]
    aligned = again.aligned(ids)
    np.testing.assert_array_equal(aligned[:-1], first.scores["anomaly"].to_numpy()[::-1])
    assert np.isnan(aligned[-1])

    # other settings, or new embeddings: recomputed
    assert not run_anomaly(run_copy, AnomalyScorer(method="lof", n_components=4)).cached
    write_embeddings(run_copy, emb.galaxy_ids, {"maps": emb.get("maps")}, emb.metadata)
    fresh = run_anomaly(run_copy, AnomalyScorer(method="lof", n_components=4))
    assert not fresh.cached and load_anomaly(run_copy).params == fresh.params
    # a corrupt cache is recomputed, never fatal
    (run_copy / "anomaly.parquet").write_bytes(b"not parquet")
    assert not run_anomaly(run_copy, AnomalyScorer(method="lof", n_components=4)).cached
    assert not list(run_copy.glob("*.tmp-*"))
