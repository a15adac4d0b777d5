"""Fixtures of the analysis tests: seeded synthetic embeddings, and a writable copy of the
feature run (``feature_run``, in ``tests/conftest.py``)."""

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
