"""Fixtures of the analysis tests: seeded synthetic embeddings and runs built from a survey.

The run fixtures hold embeddings made from the survey's own maps (block-averaged, then PCA),
a fixed, seeded feature extractor: enough to give the analysis code vectors in which similar
galaxies are close, without training an encoder in every test.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest


def blobs(n_per_class: int = 200, n_classes: int = 3, dim: int = 64, spread: float = 0.35, seed: int = 0):
    """Labelled vectors: one random unit direction per class plus isotropic noise.

    Returns (X (N, dim) float32, labels (N,) int, ids (N,) str).
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    X = centres[labels] + spread * rng.normal(size=(len(labels), dim)) / np.sqrt(dim) * 4
    ids = np.array([f"b{i:05d}" for i in range(len(labels))])
    return X.astype(np.float32), labels, ids


def manifold(n: int = 1000, dim: int = 64, freq: float = 4.0, seed: int = 0) -> np.ndarray:
    """Points on a curved 2-D sheet in ``dim`` dimensions (linear projections fail on it)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, (n, 2))
    W = rng.normal(size=(2, dim)) * freq
    phase = rng.uniform(0, 2 * np.pi, dim)
    return (np.sin(t @ W + phase) + 0.02 * rng.normal(size=(n, dim))).astype(np.float32)


def map_features(survey, n_components: int = 16) -> np.ndarray:
    """Seeded stand-in embeddings: 8×8 block means of every map channel, standardised, PCA."""
    from sklearn.decomposition import PCA

    maps = survey.read("maps", slice(None))  # (N, C, 64, 64)
    n, c, h, w = maps.shape
    blocks = np.nanmean(maps.reshape(n, c, 8, h // 8, 8, w // 8), axis=(3, 5))
    feats = blocks.reshape(n, -1)
    feats = np.where(np.isfinite(feats), feats, np.nanmean(feats, axis=0))
    feats = np.nan_to_num((feats - feats.mean(0)) / (feats.std(0) + 1e-6))
    return PCA(n_components, random_state=0).fit_transform(feats).astype(np.float32)


@pytest.fixture(scope="session")
def feature_run(tiny_survey, tmp_path_factory):
    """A run directory with stand-in embeddings of :func:`tiny_survey`; treat as read-only."""
    import warnings

    from galexplore.artifacts.runs import write_embeddings

    run = tmp_path_factory.mktemp("runs") / "features"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks outside the IFU field
        Z = map_features(tiny_survey)
    write_embeddings(run, tiny_survey.catalog["galaxy_id"], {"maps": Z},
                     {"encoder_fingerprint": "test-features-v1", "survey": str(tiny_survey.path)})
    return run


@pytest.fixture
def run_copy(feature_run, tmp_path):
    """A private, writable copy of :func:`feature_run`."""
    dst = tmp_path / "run"
    shutil.copytree(feature_run, dst)
    return dst


@pytest.fixture(scope="session")
def make_blobs():
    """The :func:`blobs` factory (tests cannot import conftest under importlib mode)."""
    return blobs


@pytest.fixture(scope="session")
def make_manifold():
    """The :func:`manifold` factory."""
    return manifold
