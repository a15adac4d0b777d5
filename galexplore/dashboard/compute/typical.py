"""The most typical galaxy of a selection: the one nearest the selection's mean embedding.

A lasso or a box gives a set; the galaxy closest (by cosine) to the set's mean embedding is a
representative to look at first. Without embeddings (a catalog-only run) the 2-D projection
is used, by Euclidean distance.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from galexplore.analysis.search import normalise

#: At most this many selected galaxies are compared (a seeded random subset of bigger selections).
MAX_ROWS = 20_000


def typical_row(data, rows: npt.ArrayLike, *, seed: int = 0) -> int | None:
    """Catalog row of the selected galaxy nearest the selection's mean, or None if ``rows`` is empty.

    Parameters
    ----------
    data : ExplorerData
        ``embeddings`` (the first modality, compared by cosine) or, without them, ``xy``.
    rows : array_like of int, shape (n,)
        The selection's catalog rows.
    seed : int
        Seed of the subset drawn from selections of more than :data:`MAX_ROWS` galaxies.
    """
    rows = np.asarray(rows, dtype=np.int64).ravel()
    if rows.size == 0:
        return None
    if rows.size > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_ROWS, replace=False))
    emb = getattr(data, "embeddings", None)
    if emb is not None:
        X = normalise(np.asarray(emb.get(emb.modalities[0])[rows], dtype=np.float32))
        mean = X.mean(axis=0)
        return int(rows[int(np.argmax(X @ mean))])
    xy = getattr(data, "xy", None)
    if xy is None:
        return None
    X = np.asarray(xy[rows], dtype=np.float64)
    ok = np.isfinite(X).all(axis=1)
    if not ok.any():
        return None
    X, rows = X[ok], rows[ok]
    return int(rows[int(np.argmin(((X - X.mean(axis=0)) ** 2).sum(axis=1)))])
