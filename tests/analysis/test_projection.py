"""2-D projections: UMAP keeps neighbourhoods, subsample fits place every row, caching works."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from galexplore.analysis.projection import PCAProjector, UMAPProjector, embedding_fingerprint, project_run
from galexplore.artifacts.runs import read_projection
from galexplore.errors import GalexploreError


@pytest.mark.slow
def test_umap_trustworthiness_on_curved_sheet(make_manifold):
    """A 2-D sheet folded through 64-d: UMAP keeps neighbourhoods (≥ 0.9), where PCA cannot."""
    X = make_manifold(800, freq=4.0, seed=0)
    xy = UMAPProjector(n_neighbors=15, min_dist=0.1, random_state=0).fit_transform(X)
    assert xy.shape == (800, 2) and xy.dtype == np.float32
    t_umap = trustworthiness(X, xy, n_neighbors=10)
    t_pca = trustworthiness(X, PCAProjector(metric="euclidean").fit_transform(X), n_neighbors=10)
    assert t_umap >= 0.9
    assert t_umap > t_pca + 0.05


@pytest.mark.slow
def test_subsample_fit_then_batched_transform(make_blobs):
    X, labels, _ = make_blobs(n_per_class=300, n_classes=3, seed=11)
    calls = []
    proj = UMAPProjector(max_fit_samples=300, batch_size=200, random_state=0)
    xy = proj.fit_transform(X, progress=lambda done, total, stage: calls.append((done, total, stage)))
    assert len(proj.fit_rows_) == 300 and np.isfinite(xy).all()
    transform_calls = [c for c in calls if c[2] == "umap transform"]
    assert [c[0] for c in transform_calls] == [500, 700, 900] and all(c[1] == 900 for c in calls)
    # Rows placed by transform land with their own class: nearest fitted neighbour agrees.
    from sklearn.neighbors import KNeighborsClassifier

    rest = np.setdiff1d(np.arange(len(X)), proj.fit_rows_)
    knn = KNeighborsClassifier(5).fit(xy[proj.fit_rows_], labels[proj.fit_rows_])
    assert knn.score(xy[rest], labels[rest]) > 0.95


def test_pca_cosine_is_scale_invariant(make_blobs):
    X, _, _ = make_blobs(n_per_class=50, seed=12)
    scaled = X * np.random.default_rng(0).uniform(0.5, 3, (len(X), 1)).astype(np.float32)
    p = PCAProjector()
    np.testing.assert_allclose(np.abs(p.fit_transform(X)), np.abs(p.fit_transform(scaled)), atol=1e-4)


def test_bad_parameters_are_named(make_blobs):
    X, _, _ = make_blobs(n_per_class=10)
    with pytest.raises(GalexploreError, match="min_dist"):
        UMAPProjector(min_dist=2.0).fit(X)
    with pytest.raises(GalexploreError, match="n_neighbors"):
        UMAPProjector(n_neighbors=1).fit(X)
    with pytest.raises(GalexploreError, match="not fitted"):
        UMAPProjector().transform(X)
    with pytest.raises(GalexploreError, match="NaN"):
        PCAProjector().fit(np.full((5, 3), np.nan))


@pytest.mark.slow
def test_project_run_writes_parameters_and_uses_cache(run_copy):
    from galexplore.artifacts.runs import read_embeddings

    emb = read_embeddings(run_copy)
    path = project_run(run_copy, n_neighbors=10, min_dist=0.2, random_state=3)
    df, meta = read_projection(run_copy)
    assert path.name == "projection.parquet"
    assert list(df["galaxy_id"]) == list(emb.galaxy_ids)
    assert meta["method"] == "umap" and meta["metric"] == "cosine"
    assert (meta["n_neighbors"], meta["min_dist"], meta["random_state"]) == (10, 0.2, 3)
    assert meta["embedding_fingerprint"] == embedding_fingerprint(emb.galaxy_ids, emb.get("maps"))
    assert meta["encoder_fingerprint"] == "test-features-v1"
    assert "cached" not in meta
    cached = list((run_copy / "cache" / "projection").glob("*.npy"))
    assert len(cached) == 1
    project_run(run_copy, n_neighbors=10, min_dist=0.2, random_state=3)
    df2, meta2 = read_projection(run_copy)
    assert meta2["cached"] is True
    np.testing.assert_array_equal(df[["x", "y"]].to_numpy(), df2[["x", "y"]].to_numpy())
    # Other parameters: a new projection, a second cache entry; PCA works through the same path.
    project_run(run_copy, method="pca")
    _, meta3 = read_projection(run_copy)
    assert meta3["method"] == "pca" and len(list((run_copy / "cache" / "projection").glob("*.npy"))) == 2
    with pytest.raises(GalexploreError, match="'tsne'"):
        project_run(run_copy, method="tsne")
