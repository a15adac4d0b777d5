"""Unusual galaxies: an anomaly score per galaxy from its embedding (higher = more unusual).

:class:`AnomalyScorer` is shaped like a scikit-learn estimator. By default it

1. L2-normalises the vectors (contrastive embeddings are compared by cosine similarity, so
   only their direction carries meaning),
2. reduces them with a seeded PCA to at most ``n_components`` dimensions (fitted on at most
   ``max_fit`` galaxies: at 10⁶ × 1,024 a full isolation forest or neighbour search in the
   raw space would be slow and dominated by noise dimensions), plus one feature more: the
   distance from the PCA subspace (a galaxy unusual in a direction the components miss), and
3. scores them with scikit-learn's :class:`~sklearn.ensemble.IsolationForest` (linear in N,
   no neighbour graph; seconds to a minute at 10⁶ galaxies on a few cores).

``method="lof"`` uses :class:`~sklearn.neighbors.LocalOutlierFactor` instead: better at
outliers *between* dense clumps, but it needs a k-nearest-neighbour search, so it is meant for
surveys up to ~10⁵ galaxies. Both are turned into "higher = more unusual" scores (the negated
``score_samples``). The cache of these scores in a run is :mod:`galexplore.analysis.anomaly_store`.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: Anomaly scorers, by name.
ANOMALY_METHODS = ("isolation_forest", "lof")
#: Rows normalised and projected at a time (bounds the memory used beside the vectors).
BLOCK = 65536


class AnomalyScorer:
    """Anomaly score of every galaxy from its embedding vector.

    Parameters
    ----------
    method : {"isolation_forest", "lof"}
        The scorer (see the module docstring).
    n_components : int
        PCA dimensions kept after L2 normalisation (fewer when the data has fewer); 0 keeps
        the normalised vectors as they are.
    n_estimators : int
        Trees of the isolation forest.
    n_neighbors : int
        Neighbours of the local outlier factor.
    max_fit : int
        At most this many galaxies (a seeded random subset) fit the PCA and the isolation
        forest; every galaxy is scored.
    normalize : bool
        L2-normalise the vectors first.
    random_state : int
        Seed of the PCA, the subset and the forest: the same seed gives the same scores.

    Attributes
    ----------
    scores_ : ndarray, shape (N,), float32
        Anomaly score of each galaxy that was fitted (dimensionless; higher = more unusual).
    n_components_ : int
        PCA dimensions actually used (0: no PCA).
    """

    def __init__(
        self,
        method: str = "isolation_forest",
        *,
        n_components: int = 32,
        n_estimators: int = 200,
        n_neighbors: int = 20,
        max_fit: int = 200_000,
        normalize: bool = True,
        random_state: int = 0,
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.n_estimators = n_estimators
        self.n_neighbors = n_neighbors
        self.max_fit = max_fit
        self.normalize = normalize
        self.random_state = random_state

    def get_params(self) -> dict:
        """The constructor arguments (what the run's cache records)."""
        return {
            "method": self.method,
            "n_components": int(self.n_components),
            "n_estimators": int(self.n_estimators),
            "n_neighbors": int(self.n_neighbors),
            "max_fit": int(self.max_fit),
            "normalize": bool(self.normalize),
            "random_state": int(self.random_state),
        }

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X: npt.ArrayLike) -> AnomalyScorer:
        """Fit on embedding vectors ``X`` (N, D) and score them into :attr:`scores_`.

        Raises
        ------
        GalexploreError
            Unknown method, fewer than 3 galaxies, or non-finite vectors.
        """
        if self.method not in ANOMALY_METHODS:
            raise GalexploreError(
                f"unknown anomaly method {self.method!r} (choose from {', '.join(ANOMALY_METHODS)})"
            )
        X = np.asarray(X, dtype=np.float32)  # no copy of float32 vectors (10⁶ × 1,024 is 4 GB)
        if X.ndim != 2 or len(X) < 3:
            raise GalexploreError(f"anomaly scores need (N ≥ 3, D) vectors, got shape {X.shape}")
        rng = np.random.default_rng(self.random_state)
        fit_rows = np.sort(rng.choice(len(X), self.max_fit, replace=False)) if len(X) > self.max_fit else None
        Z = self._reduce(X, self._scales(X), fit_rows)
        if self.method == "lof":
            self.scores_ = self._lof(Z)
        else:
            self.scores_ = self._forest(Z, fit_rows)
        log.debug("anomaly scores of %d galaxies (%s, %d dims)", len(X), self.method, self.n_components_)
        return self

    def fit_score(self, X: npt.ArrayLike) -> np.ndarray:
        """:meth:`fit` and return :attr:`scores_` (N,) float32."""
        return self.fit(X).scores_

    def _scales(self, X: np.ndarray) -> np.ndarray:
        """1 / the L2 norm of each vector (N, 1) float32 (1 for a zero vector, or without
        normalisation); raises for non-finite vectors. In blocks: no copy of ``X``."""
        scales = np.ones((len(X), 1), np.float32)
        for i in range(0, len(X), BLOCK):
            block = X[i : i + BLOCK]
            if not np.isfinite(block).all():
                raise GalexploreError("anomaly scores need finite embedding vectors (found NaN or inf)")
            if self.normalize:
                norms = np.linalg.norm(block, axis=1)
                scales[i : i + len(block), 0] = 1 / np.where(norms > 0, norms, 1)
        return scales

    def _reduce(self, X: np.ndarray, scales: np.ndarray, fit_rows: np.ndarray | None) -> np.ndarray:
        """The normalised vectors ``X * scales``, by PCA to ``n_components`` (fitted on
        ``fit_rows``) plus each vector's distance from the PCA subspace as one more feature: a
        galaxy unlike the survey in a direction the components do not span would otherwise look
        ordinary. In blocks, so that 10⁶ × 1,024 vectors are never copied whole."""
        k = min(int(self.n_components), X.shape[1], len(X) - 1)
        if self.n_components <= 0 or k >= X.shape[1]:
            self.n_components_ = 0
            return X * scales
        from sklearn.decomposition import PCA

        pca = PCA(n_components=k, svd_solver="randomized", random_state=self.random_state)
        pca.fit(X * scales if fit_rows is None else X[fit_rows] * scales[fit_rows])
        self.n_components_ = k
        out = np.empty((len(X), k + 1), np.float32)
        for i in range(0, len(X), BLOCK):
            block = X[i : i + BLOCK] * scales[i : i + BLOCK]
            z = pca.transform(block)
            out[i : i + len(block), :k] = z
            out[i : i + len(block), k] = np.linalg.norm(block - pca.inverse_transform(z), axis=1)
        return out

    def _forest(self, Z: np.ndarray, fit_rows: np.ndarray | None) -> np.ndarray:
        from sklearn.ensemble import IsolationForest

        forest = IsolationForest(n_estimators=int(self.n_estimators), random_state=self.random_state)
        forest.fit(Z if fit_rows is None else Z[fit_rows])
        return (-forest.score_samples(Z)).astype(np.float32)

    def _lof(self, Z: np.ndarray) -> np.ndarray:
        from sklearn.neighbors import LocalOutlierFactor

        lof = LocalOutlierFactor(n_neighbors=min(int(self.n_neighbors), len(Z) - 1))
        lof.fit(Z)
        return (-lof.negative_outlier_factor_).astype(np.float32)


def most_unusual(scores: npt.ArrayLike, n: int) -> np.ndarray:
    """Indices (int64) of the ``n`` highest finite scores, most unusual first (ties: lower index first)."""
    scores = np.asarray(scores, dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(scores))
    order = ok[np.argsort(-scores[ok], kind="stable")]
    return order[: max(int(n), 0)].astype(np.int64)
