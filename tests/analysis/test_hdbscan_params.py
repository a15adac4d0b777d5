"""HDBSCAN's settings: min_cluster_size and min_samples, and defaults that leave little noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from galexplore.analysis.clustering import HDBSCAN_MIN_SAMPLES, Clusterer, default_min_cluster_size
from galexplore.errors import GalexploreError


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    """Four heavy-tailed (Student t, 3 dof) blobs of different widths and sizes in 16-d (600 points),
    close enough that their tails meet: HDBSCAN has noise to find, as in a real embedding."""
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 3, size=(4, 16))
    sizes, widths = (250, 170, 110, 70), (1.0, 1.4, 0.8, 1.8)
    return np.concatenate(
        [c + w * rng.standard_t(3, (n, 16)) for c, n, w in zip(centres, sizes, widths, strict=True)]
    ).astype(np.float32)


def test_new_defaults_leave_far_less_noise_than_hdbscans_own(make_blobs):
    """Three fuzzy classes on the unit sphere in 256-d, as contrastive embeddings are: with
    HDBSCAN's own min_samples (= min_cluster_size) two thirds are noise, as in the demo."""
    X, truth, _ = make_blobs(500, 3, dim=256, spread=0.6, seed=0)
    mcs = default_min_cluster_size(len(X))
    new = Clusterer("hdbscan").fit(X)
    old = Clusterer("hdbscan", min_cluster_size=mcs, min_samples=mcs).fit(X)
    noise_new, noise_old = np.mean(new.labels_ < 0), np.mean(old.labels_ < 0)
    assert noise_old > 0.5 and noise_new < 0.6 * noise_old, (noise_new, noise_old)
    assert new.n_clusters_ == 3
    kept = new.labels_ >= 0
    assert adjusted_rand_score(truth[kept], new.labels_[kept]) > 0.95  # less noise, still the classes


def test_min_cluster_size_is_respected(blobs):
    for mcs in (20, 80):
        labels = Clusterer("hdbscan", space="projection", min_cluster_size=mcs).fit(blobs).labels_
        sizes = np.bincount(labels[labels >= 0])
        assert sizes.size and sizes.min() >= mcs, (mcs, sizes)
    big = Clusterer("hdbscan", space="projection", min_cluster_size=200).fit(blobs)
    assert big.n_clusters_ <= 2  # only the 250-point blob (or a merger) is big enough


def test_larger_min_samples_keeps_only_dense_cores(blobs):
    fractions = [
        np.mean(Clusterer("hdbscan", space="projection", min_samples=m).fit(blobs).labels_ < 0)
        for m in (HDBSCAN_MIN_SAMPLES, 30)
    ]
    assert fractions[0] < fractions[1]


def test_bad_min_samples_is_a_clear_error(blobs):
    with pytest.raises(GalexploreError, match="min_samples"):
        Clusterer("hdbscan", space="projection", min_samples=0).fit(blobs)
