"""Similarity search: exact cosine neighbours, set queries, negatives, cross-modal runs."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.analysis.search import SimilaritySearch, run_search
from galexplore.artifacts.runs import write_embeddings
from galexplore.errors import GalexploreError


def test_query_returns_itself_first_and_same_class_neighbours(make_blobs):
    X, labels, ids = make_blobs(n_per_class=200, n_classes=4, seed=1)
    s = SimilaritySearch().fit(X, ids)
    purity = []
    for i in range(0, len(ids), 17):
        res = s.query(ids[i], k=11)
        assert res["galaxy_id"].iloc[0] == ids[i]
        assert res["similarity"].iloc[0] == pytest.approx(1.0, abs=1e-5)
        assert list(res["rank"]) == list(range(1, 12))
        assert (np.diff(res["similarity"].to_numpy()) <= 1e-7).all()
        found = labels[np.searchsorted(ids, res["galaxy_id"].iloc[1:])]
        purity.append(np.mean(found == labels[i]))
    # chance is 1/4; the classes are separable, so neighbours should nearly all agree
    assert np.mean(purity) > 0.95


def test_matches_brute_force_cosine_knn(make_blobs):
    from sklearn.neighbors import NearestNeighbors

    X, _, ids = make_blobs(n_per_class=150, seed=2, spread=1.5)
    s = SimilaritySearch().fit(X, ids)
    nn = NearestNeighbors(n_neighbors=50, metric="cosine", algorithm="brute").fit(X)
    dist, idx = nn.kneighbors(X[[5, 77, 301]])
    for row, q in enumerate([5, 77, 301]):
        res = s.query(ids[q], k=50)
        assert set(res["galaxy_id"]) == set(ids[idx[row]])
        np.testing.assert_allclose(
            np.sort(res["similarity"].to_numpy())[::-1], np.sort(1 - dist[row])[::-1], atol=1e-5
        )


def test_set_query_and_negatives(make_blobs):
    X, labels, ids = make_blobs(n_per_class=100, n_classes=3, seed=3, spread=0.5)
    s = SimilaritySearch().fit(X, ids)
    pos = ids[labels == 0][:5]
    res = s.query(pos, k=30, exclude_examples=True)
    assert not set(pos) & set(res["galaxy_id"])
    assert np.mean(labels[np.searchsorted(ids, res["galaxy_id"])] == 0) > 0.9
    # A negative example pushes the direction away: its class ranks lower than without it.
    neg = ids[labels == 1][:5]
    sim_neg = lambda r: r.set_index("galaxy_id")["similarity"]  # noqa: E731
    plain = sim_neg(s.query(pos, k=len(ids)))
    steered = sim_neg(s.query(pos, k=len(ids), negatives=neg))
    cls1 = ids[labels == 1]
    assert steered[cls1].mean() < plain[cls1].mean()


def test_errors_name_the_bad_value(make_blobs):
    X, _, ids = make_blobs(n_per_class=10)
    s = SimilaritySearch().fit(X, ids)
    with pytest.raises(GalexploreError, match="'nope'"):
        s.query("nope")
    with pytest.raises(GalexploreError, match="k must be"):
        s.query(ids[0], k=0)
    with pytest.raises(GalexploreError, match="not fitted"):
        SimilaritySearch().query(ids[0])
    with pytest.raises(GalexploreError, match="NaN"):
        SimilaritySearch().fit(np.full((3, 4), np.nan), ["a", "b", "c"])
    assert len(s.query(ids[0], k=10_000)) == len(ids)


def test_cross_modal_run_search(tmp_path, make_blobs):
    """Image → spectrum search through aligned embeddings finds the galaxy's own spectrum."""
    X, labels, ids = make_blobs(n_per_class=100, n_classes=3, seed=4, spread=1.0)
    rng = np.random.default_rng(0)
    # Two noisy views of the same latent vectors: an aligned (CLIP-like) pair of modalities.
    images = X + 0.05 * rng.normal(size=X.shape).astype(np.float32)
    spectra = X + 0.05 * rng.normal(size=X.shape).astype(np.float32)
    write_embeddings(tmp_path, ids, {"images": images, "spectra": spectra})
    res = run_search(tmp_path, ids[7], k=5, modality="images", target_modality="spectra")
    assert res["galaxy_id"].iloc[0] == ids[7]
    assert res["similarity"].iloc[0] < 1.0  # a different modality, so not the identical vector
    back = run_search(tmp_path, ids[7], k=5, modality="spectra", target_modality="images")
    assert back["galaxy_id"].iloc[0] == ids[7]
    with pytest.raises(GalexploreError, match="several embedded modalities"):
        run_search(tmp_path, ids[7])
