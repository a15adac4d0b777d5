"""Clusterings saved under RUN/clusters/: round trip, latest by default, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.analysis.cluster_store import cluster_run, list_clusterings, load_clusters
from galexplore.artifacts.runs import read_embeddings
from galexplore.errors import StoreError


def test_round_trip_and_latest(run_copy):
    with pytest.raises(StoreError, match="no saved clustering"):
        load_clusters(run_copy)
    a = cluster_run(run_copy, "kmeans", 2, random_state=1)
    b = cluster_run(run_copy, "gmm", 3)
    assert list_clusterings(run_copy) == ["kmeans_k2_embedding", "gmm_k3_embedding"]
    latest = load_clusters(run_copy)
    assert latest.params["name"] == "gmm_k3_embedding" and latest.params["method"] == "gmm"
    np.testing.assert_array_equal(latest.labels["cluster"], b.labels["cluster"])
    again = load_clusters(run_copy, "kmeans_k2_embedding")
    assert again.params["n_clusters"] == 2 and again.params["random_state"] == 1
    assert again.params["encoder_fingerprint"] == "test-features-v1"
    assert list(again.labels["galaxy_id"]) == list(read_embeddings(run_copy).galaxy_ids)
    np.testing.assert_array_equal(again.labels["cluster"], a.labels["cluster"])
    with pytest.raises(StoreError, match="no clustering named 'nope'.*kmeans_k2_embedding"):
        load_clusters(run_copy, "nope")
    assert not list((run_copy / "clusters").glob("*.tmp-*"))


def test_unsaved_and_projection_space(run_copy):
    res = cluster_run(run_copy, "kmeans", 2, save=False)
    assert res.path is None and not (run_copy / "clusters").exists()
    with pytest.raises(StoreError, match="projection.parquet"):
        cluster_run(run_copy, "kmeans", 2, space="projection")
