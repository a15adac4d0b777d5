"""Clusters on demand: recovery of known classes, k suggestion, summaries that add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from galexplore.analysis.clustering import Clusterer, cluster_summary, suggest_k
from galexplore.errors import GalexploreError


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_recovers_known_classes(method, make_blobs):
    X, labels, _ = make_blobs(n_per_class=150, n_classes=4, seed=5)
    model = Clusterer(method, 4, random_state=0).fit(X)
    assert model.n_clusters_ == 4
    assert adjusted_rand_score(labels, model.labels_) > 0.95
    assert model.centroids_.shape == (4, X.shape[1])


def test_labels_ordered_by_size_and_deterministic(make_blobs):
    X, labels, _ = make_blobs(n_per_class=200, n_classes=3, seed=6)
    keep = np.concatenate(
        [np.flatnonzero(labels == 0)[:40], np.flatnonzero(labels == 1), np.flatnonzero(labels == 2)[:100]]
    )
    a = Clusterer("kmeans", 3, random_state=1).fit(X[keep]).labels_
    b = Clusterer("kmeans", 3, random_state=1).fit(X[keep]).labels_
    np.testing.assert_array_equal(a, b)
    assert list(np.bincount(a)) == [200, 100, 40]


def test_hdbscan_on_projection_marks_noise():
    rng = np.random.default_rng(0)
    xy = np.concatenate(
        [rng.normal(0, 0.3, (300, 2)), rng.normal(5, 0.3, (200, 2)), rng.uniform(-10, 15, (20, 2))]
    )
    truth = np.r_[np.zeros(300), np.ones(200)]
    model = Clusterer("hdbscan", space="projection", min_cluster_size=30).fit(xy)
    assert model.n_clusters_ == 2
    assert (model.labels_[500:] == -1).mean() > 0.5  # scattered points are noise
    assert adjusted_rand_score(truth, model.labels_[:500]) > 0.95


@pytest.mark.parametrize("method", ["gmm", "hdbscan"])
def test_subsample_fit_labels_every_row(method, make_blobs):
    X, labels, _ = make_blobs(n_per_class=300, n_classes=3, seed=7)
    model = Clusterer(method, 3, max_fit_samples=300, min_cluster_size=20, random_state=0).fit(X)
    assert len(model.labels_) == len(X)
    found = model.labels_ >= 0
    assert found.mean() > 0.8
    assert adjusted_rand_score(labels[found], model.labels_[found]) > 0.9


@pytest.mark.parametrize("method", ["silhouette", "bic"])
def test_suggest_k_finds_the_true_number(method, make_blobs):
    X, _, _ = make_blobs(n_per_class=120, n_classes=4, seed=8, spread=0.25)
    s = suggest_k(X, range(2, 8), method=method)
    assert s.best_k == 4
    assert set(s.scores) == set(range(2, 8))


def test_bad_arguments_are_named(make_blobs):
    X, _, _ = make_blobs(n_per_class=5)
    with pytest.raises(GalexploreError, match="'dbscan'"):
        Clusterer("dbscan").fit(X)
    with pytest.raises(GalexploreError, match="n_clusters"):
        Clusterer("kmeans", 0).fit(X)
    with pytest.raises(GalexploreError, match="'umap'"):
        Clusterer(space="umap").fit(X)
    with pytest.raises(GalexploreError, match="NaN"):
        Clusterer().fit(np.full((4, 2), np.nan))
    with pytest.raises(GalexploreError, match="k_range"):
        suggest_k(X, [1, 2], method="silhouette")


def test_cluster_summary_adds_up_to_the_survey(tiny_survey, feature_run):
    from galexplore.artifacts.runs import read_embeddings

    cat = tiny_survey.catalog
    Z = read_embeddings(feature_run).get("maps")
    model = Clusterer("kmeans", 3).fit(Z)
    summary = cluster_summary(cat, model.labels_, model.prepare(Z))
    assert summary["size"].sum() == len(cat)
    assert summary["fraction"].sum() == pytest.approx(1.0)
    frac_cols = ["frac_star-forming", "frac_green-valley", "frac_retired"]
    np.testing.assert_allclose(summary[frac_cols].sum(axis=1), 1.0)
    # size-weighted class mix of the clusters is the survey's class mix
    mix = (summary[frac_cols].mul(summary["size"], axis=0).sum() / len(cat)).to_numpy()
    survey_mix = (
        cat["sf_class"]
        .value_counts(normalize=True)
        .reindex(["star-forming", "green-valley", "retired"])
        .fillna(0)
    )
    np.testing.assert_allclose(mix, survey_mix.to_numpy(), atol=1e-12)
    for c, row in summary.iterrows():
        members = cat.loc[model.labels_ == c]
        assert row["median_ew_ha"] == pytest.approx(members["ew_ha"].median())
        assert set(row["exemplars"]) <= set(members["galaxy_id"])
        assert len(row["exemplars"]) == min(5, len(members))
    # the exemplar listed first is the member nearest its centroid
    c0 = model.prepare(Z)[model.labels_ == 0]
    first = cat["galaxy_id"].to_numpy()[model.labels_ == 0][
        np.argmin(np.linalg.norm(c0 - c0.mean(0), axis=1))
    ]
    assert summary.loc[0, "exemplars"][0] == first


def test_cluster_summary_keeps_noise_row():
    cat = pd.DataFrame({"galaxy_id": list("abcdef"), "ew_ha": [1.0, 2, 30, 40, 5, np.nan]})
    summary = cluster_summary(cat, [0, 0, 1, 1, -1, -1])
    assert list(summary.index) == [0, 1, -1]
    assert summary.loc[-1, "size"] == 2
    assert summary.loc[-1, "median_ew_ha"] == 5.0
    with pytest.raises(GalexploreError, match="3 cluster labels"):
        cluster_summary(cat, [0, 1, 2])


def test_large_n_kmeans_path_recovers_classes(make_blobs, monkeypatch):
    """The subsample-seeded k-means used above 10⁵ rows finds the same partition."""
    import galexplore.analysis.clustering as clustering

    monkeypatch.setattr(clustering, "KMEANS_SEED_ROWS", 100)
    X, labels, _ = make_blobs(n_per_class=200, n_classes=5, seed=9)
    model = Clusterer("kmeans", 5, random_state=0).fit(X)
    assert adjusted_rand_score(labels, model.labels_) > 0.95


def test_cluster_summary_with_missing_values_and_classes():
    """A column without any value in a cluster has a NaN median; galaxies without a class
    count in the cluster's size but in no class's fraction."""
    cat = pd.DataFrame(
        {
            "galaxy_id": list("abcdefg"),
            "ew_ha": [np.nan, np.nan, 3.0, 5.0, 4.0, 1.0, 2.0],
            "sf_class": ["retired", None, "star-forming", "star-forming", "retired", None, "green-valley"],
        }
    )
    summary = cluster_summary(cat, [0, 0, 1, 1, 1, -1, -1])
    assert np.isnan(summary.loc[0, "median_ew_ha"])
    assert summary.loc[1, "median_ew_ha"] == 4.0
    assert summary.loc[0, "frac_retired"] == 0.5 and summary.loc[0, "frac_star-forming"] == 0.0
    assert summary.loc[1, "frac_star-forming"] == pytest.approx(2 / 3)
    assert summary.loc[-1, "frac_green-valley"] == 0.5
