"""Clusters on demand: k-means, Gaussian mixtures or HDBSCAN on embeddings or the 2-D map.

:class:`Clusterer` is sklearn-shaped (``fit`` returns self; ``labels_``, ``n_clusters_``,
``centroids_`` afterwards). Embeddings are compared by cosine everywhere else in galexplore,
so in ``space="embedding"`` the rows are L2-normalised before clustering (spherical k-means).
Labels are renumbered by decreasing cluster size (0 = largest), so the same data give the same
numbers whatever the solver's internal order; HDBSCAN's noise is −1.

Large N stays fast: k-means is seeded by the best of four k-means++ runs on 10⁵ random rows
and then refined by Lloyd iterations on every row (seconds for 10⁶ × 64, see
``bench/analysis.py``). The Gaussian mixture and HDBSCAN fit on a random subsample of
``max_fit_samples`` rows and then label the rest (GMM by ``predict``, HDBSCAN by the label of
the nearest fitted row).

:func:`suggest_k` scores a range of k by silhouette (k-means) or BIC (Gaussian mixture);
:func:`cluster_summary` describes each cluster by the catalog; saving and loading clusterings
under ``RUN/clusters/`` is in :mod:`galexplore.analysis.cluster_store`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from galexplore.analysis.search import normalise
from galexplore.data.columns import SF_CLASSES, STANDARD_PROPERTIES
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

METHODS = ("kmeans", "gmm", "hdbscan")
#: How people read :data:`METHODS` (the dashboard's choices).
METHOD_LABELS = {"kmeans": "k-means", "gmm": "Gaussian mixture", "hdbscan": "HDBSCAN"}
SPACES = ("embedding", "projection")
#: How :func:`suggest_k` scores k.
CRITERIA = ("silhouette", "bic")
#: HDBSCAN's label of galaxies in no cluster, and its name in tables and legends.
NOISE = -1
NOISE_NAME = "noise"
#: Above this many rows k-means is seeded on a subsample of this size (see ``Clusterer``).
KMEANS_SEED_ROWS = 100_000
#: HDBSCAN's default ``min_samples``: with HDBSCAN's own default (= ``min_cluster_size``), 65 %
#: of the demo survey's 1,500 galaxies (416-d embeddings) were noise; with 5, 37 % (with 3, 29 %, but
#: scattered outliers then join clusters).
HDBSCAN_MIN_SAMPLES = 5


def default_min_cluster_size(n: int) -> int:
    """HDBSCAN's default minimum cluster size for ``n`` fitted rows: 2 % of them, at least 10."""
    return max(10, int(n) // 50)


def _check_X(X: npt.ArrayLike, what: str = "data") -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) < 2:
        raise GalexploreError(f"{what} to cluster must have shape (N, D) with N ≥ 2, got {X.shape}")
    if not np.isfinite(X).all():
        raise GalexploreError(f"{what} to cluster contains NaN or inf")
    return X


class Clusterer:
    """Cluster N points with k-means, a Gaussian mixture or HDBSCAN.

    Parameters
    ----------
    method : {"kmeans", "gmm", "hdbscan"}
    n_clusters : int
        k for k-means and the Gaussian mixture (ignored by HDBSCAN, which finds its own).
    space : {"embedding", "projection"}
        What ``X`` is. Embeddings are L2-normalised first (cosine geometry) unless
        ``normalise=False``; a 2-D projection is used as it is.
    random_state : int
        Seed of the initialisation and of the subsample.
    min_cluster_size : int, optional
        HDBSCAN's minimum cluster size (default: max(10, 2 % of the fitted rows)).
    min_samples : int, optional
        HDBSCAN's neighbourhood size of a core point (default :data:`HDBSCAN_MIN_SAMPLES`).
        Smaller values label fewer galaxies as noise; larger ones keep only dense cores.
    normalise : bool, optional
        Override the L2 normalisation implied by ``space``.
    max_fit_samples : int
        The Gaussian mixture and HDBSCAN fit on at most this many random rows.
    covariance_type : {"auto", "full", "diag", "tied", "spherical"}
        Covariance of the Gaussian mixture. ``"auto"`` uses full covariances only when there
        are at least 10 fitted rows per free parameter, else diagonal ones (a 64-d full
        covariance has 2080 parameters per component).

    Attributes
    ----------
    labels_ : ndarray (N,) int64
        Cluster of each row, 0 = largest cluster, −1 = noise (HDBSCAN only).
    n_clusters_ : int
        Number of clusters found (noise excluded).
    centroids_ : ndarray (n_clusters_, D) float32
        Mean of each cluster's members in the clustered (possibly normalised) space.
    """

    def __init__(
        self,
        method: str = "kmeans",
        n_clusters: int = 3,
        *,
        space: str = "embedding",
        random_state: int = 0,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        normalise: bool | None = None,
        max_fit_samples: int = 200_000,
        covariance_type: str = "auto",
    ) -> None:
        self.method = method
        self.n_clusters = n_clusters
        self.space = space
        self.random_state = random_state
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.normalise = normalise
        self.max_fit_samples = max_fit_samples
        self.covariance_type = covariance_type

    # -- fitting ----------------------------------------------------------------------------
    def _validate(self, n: int) -> None:
        if self.method not in METHODS:
            raise GalexploreError(
                f"unknown clustering method {self.method!r} (choose from {', '.join(METHODS)})"
            )
        if self.space not in SPACES:
            raise GalexploreError(
                f"unknown clustering space {self.space!r} (choose from {', '.join(SPACES)})"
            )
        if self.method != "hdbscan" and not 1 <= int(self.n_clusters) <= n:
            raise GalexploreError(f"n_clusters must be between 1 and the {n} galaxies, got {self.n_clusters}")
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise GalexploreError(f"min_cluster_size must be ≥ 2, got {self.min_cluster_size}")
        if self.min_samples is not None and self.min_samples < 1:
            raise GalexploreError(f"min_samples must be ≥ 1, got {self.min_samples}")

    def prepare(self, X: npt.ArrayLike) -> np.ndarray:
        """``X`` as float32, L2-normalised when clustering embeddings (see ``normalise``)."""
        X = _check_X(X)
        norm = self.normalise if self.normalise is not None else self.space == "embedding"
        return normalise(X) if norm else X

    def fit(self, X: npt.ArrayLike, y: None = None) -> Clusterer:
        """Cluster the rows of ``X`` (N, D); sets ``labels_``, ``n_clusters_``, ``centroids_``."""
        X = self.prepare(X)
        self._validate(len(X))
        raw = {"kmeans": self._kmeans, "gmm": self._gmm, "hdbscan": self._hdbscan}[self.method](X)
        self.labels_ = _relabel_by_size(raw)
        self.n_clusters_ = int(self.labels_.max() + 1) if (self.labels_ >= 0).any() else 0
        self.centroids_ = (
            np.stack([X[self.labels_ == c].mean(axis=0) for c in range(self.n_clusters_)])
            if self.n_clusters_
            else np.empty((0, X.shape[1]), np.float32)
        )
        log.info("%s found %d clusters in %d rows", self.method, self.n_clusters_, len(X))
        return self

    def fit_predict(self, X: npt.ArrayLike, y: None = None) -> np.ndarray:
        return self.fit(X).labels_

    def _subsample(self, n: int) -> np.ndarray | None:
        if n <= self.max_fit_samples:
            return None
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(n, self.max_fit_samples, replace=False))

    def _kmeans(self, X: np.ndarray) -> np.ndarray:
        from sklearn.cluster import KMeans

        k = int(self.n_clusters)
        if len(X) <= KMEANS_SEED_ROWS:
            return KMeans(k, n_init=4, random_state=self.random_state).fit_predict(X)
        # Large N: the best of 4 k-means++ runs on a subsample seeds Lloyd iterations on every
        # row. Same optimum as a full-data fit (lower inertia in practice), a fraction of the time.
        rng = np.random.default_rng(self.random_state)
        seed_rows = rng.choice(len(X), KMEANS_SEED_ROWS, replace=False)
        centres = KMeans(k, n_init=4, random_state=self.random_state).fit(X[seed_rows]).cluster_centers_
        return KMeans(k, init=centres, n_init=1, max_iter=100).fit_predict(X)

    def _gmm(self, X: np.ndarray) -> np.ndarray:
        from sklearn.mixture import GaussianMixture

        sub = self._subsample(len(X))
        fit_X = X if sub is None else X[sub]
        cov = _covariance_type(self.covariance_type, len(fit_X), X.shape[1], int(self.n_clusters))
        model = GaussianMixture(
            int(self.n_clusters), covariance_type=cov, reg_covar=1e-5, random_state=self.random_state
        )
        model.fit(fit_X)
        return model.predict(X)

    def _hdbscan(self, X: np.ndarray) -> np.ndarray:
        from sklearn.cluster import HDBSCAN
        from sklearn.neighbors import NearestNeighbors

        sub = self._subsample(len(X))
        fit_X = X if sub is None else X[sub]
        mcs = min(self.min_cluster_size or default_min_cluster_size(len(fit_X)), len(fit_X))
        ms = min(self.min_samples or HDBSCAN_MIN_SAMPLES, len(fit_X) - 1)
        labels = HDBSCAN(min_cluster_size=max(mcs, 2), min_samples=max(ms, 1), copy=True).fit_predict(fit_X)
        if sub is None:
            return labels
        nearest = NearestNeighbors(n_neighbors=1).fit(fit_X).kneighbors(X, return_distance=False)[:, 0]
        return labels[nearest]


def _covariance_type(kind: str, n: int, d: int, k: int) -> str:
    if kind != "auto":
        return kind
    return "full" if n >= 10 * k * (d * (d + 1) // 2 + d) else "diag"


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0, 1, … by decreasing size (ties by old label); noise stays −1."""
    labels = np.asarray(labels, dtype=np.int64)
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    mapping = np.full(int(labels.max(initial=-1)) + 2, NOISE, dtype=np.int64)
    mapping[order] = np.arange(len(order))
    return np.where(labels >= 0, mapping[labels], NOISE)


# -- choosing k ---------------------------------------------------------------------------------
@dataclass
class KSuggestion:
    """The suggested number of clusters and the score of every k tried."""

    best_k: int
    method: str
    scores: dict[int, float] = field(default_factory=dict)
    higher_is_better: bool = True


def suggest_k(
    X: npt.ArrayLike,
    k_range: Iterable[int] = range(2, 9),
    method: str = "silhouette",
    *,
    space: str = "embedding",
    random_state: int = 0,
    sample_size: int = 10_000,
) -> KSuggestion:
    """Suggest k by the silhouette of k-means (highest wins) or the BIC of a Gaussian mixture (lowest wins).

    Parameters
    ----------
    X : array_like (N, D)
    k_range : iterable of int
        Candidate k (each ≥ 2 for the silhouette).
    method : {"silhouette", "bic"}
    space : {"embedding", "projection"}
        As in :class:`Clusterer` (embeddings are L2-normalised).
    sample_size : int
        Scores are computed on at most this many random rows.
    """
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture

    if method not in CRITERIA:
        raise GalexploreError(f"unknown k-selection method {method!r} (choose from {', '.join(CRITERIA)})")
    ks = sorted({int(k) for k in k_range})
    X = Clusterer(space=space).prepare(X)
    if len(X) > sample_size:
        X = X[np.sort(np.random.default_rng(random_state).choice(len(X), sample_size, replace=False))]
    low = 2 if method == "silhouette" else 1
    if not ks or ks[0] < low or ks[-1] >= len(X):
        raise GalexploreError(f"k_range {ks} must lie in [{low}, {len(X) - 1}] for {method}")
    scores: dict[int, float] = {}
    for k in ks:
        if method == "silhouette":
            labels = Clusterer(
                "kmeans", k, space=space, random_state=random_state, normalise=False
            ).fit_predict(X)
            scores[k] = float(silhouette_score(X, labels)) if len(np.unique(labels)) > 1 else -1.0
        else:
            cov = _covariance_type("auto", len(X), X.shape[1], ks[-1])  # one type for every k
            gmm = GaussianMixture(k, covariance_type=cov, reg_covar=1e-5, random_state=random_state).fit(X)
            scores[k] = float(gmm.bic(X))
    pick = max if method == "silhouette" else min
    return KSuggestion(pick(scores, key=scores.__getitem__), method, scores, method == "silhouette")


# -- describing clusters -------------------------------------------------------------------------
def cluster_summary(
    catalog: pd.DataFrame,
    labels: npt.ArrayLike,
    X: npt.ArrayLike | None = None,
    *,
    columns: Sequence[str] | None = None,
    n_exemplars: int = 5,
) -> pd.DataFrame:
    """One row per cluster: size, medians of the properties, ``sf_class`` mix, exemplars.

    Parameters
    ----------
    catalog : DataFrame (N rows)
        Survey catalog aligned row by row with ``labels`` (``galaxy_id`` required).
    labels : array_like (N,) int
        Cluster of each galaxy; −1 is noise and gets its own row.
    X : array_like (N, D), optional
        The clustered vectors; exemplars are the members nearest their cluster's mean
        (cosine geometry is the caller's choice: pass normalised rows for it).
    columns : sequence of str, optional
        Numeric columns to summarise (default: every standard property in the catalog).
    n_exemplars : int
        Exemplar galaxies per cluster.

    Returns
    -------
    DataFrame indexed by ``cluster`` with ``size`` (int), ``fraction`` (of the survey),
    ``median_<column>`` per property, ``frac_<sf_class>`` for each class (when the catalog
    has ``sf_class``) and ``exemplars`` (list of galaxy ids, nearest the centroid first).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(catalog):
        raise GalexploreError(f"{len(labels)} cluster labels for a catalog of {len(catalog)} galaxies")
    if columns is None:
        columns = [
            c for c in STANDARD_PROPERTIES if c in catalog and pd.api.types.is_numeric_dtype(catalog[c])
        ]
    missing = [c for c in columns if c not in catalog]
    if missing:
        raise GalexploreError(f"catalog has no column {missing[0]!r}")
    Xa = None if X is None else np.asarray(X, dtype=np.float32)
    # the columns as arrays once (not the whole catalog copied per cluster: 0.1 s a cluster at 10⁶)
    values = {col: catalog[col].to_numpy(dtype=float, na_value=np.nan) for col in columns}
    if "sf_class" in catalog:
        class_codes, class_names = pd.factorize(catalog["sf_class"])  # −1: missing
        code_of = {name: i for i, name in enumerate(class_names)}
    rows = []
    for c in sorted(np.unique(labels), key=lambda v: (v < 0, v)):
        member = labels == c
        size = int(member.sum())
        row: dict[str, object] = {"cluster": int(c), "size": size, "fraction": size / len(labels)}
        for col, v in values.items():
            sub = v[member]
            row[f"median_{col}"] = float(np.nanmedian(sub)) if (~np.isnan(sub)).any() else np.nan
        if "sf_class" in catalog:
            codes = class_codes[member]
            counts = np.bincount(codes[codes >= 0], minlength=len(class_names))
            for cls in SF_CLASSES:
                row[f"frac_{cls}"] = float(counts[code_of[cls]]) / size if cls in code_of else 0.0
        if Xa is not None:
            row["exemplars"] = _exemplars(Xa[member], catalog["galaxy_id"].to_numpy()[member], n_exemplars)
        rows.append(row)
    return pd.DataFrame(rows).set_index("cluster")


def _exemplars(X: np.ndarray, ids: np.ndarray, n: int) -> list[str]:
    d = np.linalg.norm(X - X.mean(axis=0), axis=1)
    take = np.argsort(d, kind="stable")[:n]
    return [str(i) for i in ids[take]]
