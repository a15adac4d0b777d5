"""2-D projections of embeddings: UMAP (default, cosine metric) or PCA.

The projectors are sklearn-shaped: ``__init__`` only stores parameters, ``fit`` returns self,
``embedding_`` holds the 2-D coordinates of the fitted rows. For large N, UMAP is fitted on a
random subsample of ``max_fit_samples`` rows (10⁵ by default) and the remaining rows are
placed with ``transform`` in batches, reporting progress as it goes.

:func:`project_run` projects a run's embeddings and writes ``projection.parquet`` with its
parameters in the file metadata. Results are cached inside the run (``RUN/cache/projection/``)
under a key made of the embeddings' fingerprint and the parameters, so projecting the same
embeddings with the same parameters again is immediate.

>>> xy = UMAPProjector(n_neighbors=15, min_dist=0.1).fit_transform(Z)   # doctest: +SKIP
>>> project_run("runs/maps", progress=print)                           # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from galexplore.analysis.search import normalise
from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.provenance import encoder_fingerprint
from galexplore.artifacts.runs import read_embeddings, write_projection
from galexplore.errors import GalexploreError
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

METHODS = ("umap", "pca")
#: Above this many fitted rows ``init="auto"`` starts UMAP from PCA instead of the spectral layout.
SPECTRAL_MAX_ROWS = 20_000
#: From this many fitted rows the default layout optimisation runs :data:`LARGE_N_EPOCHS` epochs
#: instead of umap-learn's 200: at 10⁵ rows it halves the fit time while the map's
#: trustworthiness stays within 0.003 (``bench/analysis.py`` measures both side by side).
LARGE_N_ROWS = 50_000
LARGE_N_EPOCHS = 100


def _check_X(X: npt.ArrayLike) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) < 3:
        raise GalexploreError(f"embeddings to project must have shape (N, D) with N ≥ 3, got {X.shape}")
    if not np.isfinite(X).all():
        raise GalexploreError("embeddings to project contain NaN or inf")
    return X


class UMAPProjector:
    """UMAP (umap-learn) to 2-D, fitted on a subsample when N is large.

    Parameters
    ----------
    n_neighbors : int
        Size of the local neighbourhood (larger: more global structure).
    min_dist : float
        Minimum distance between points in the map (smaller: tighter clumps).
    metric : str
        Distance in the embedding space; ``"cosine"`` matches the contrastive loss.
    random_state : int or None
        Seed. A fixed seed makes the map reproducible; ``None`` lets umap-learn use all
        cores, which is faster for very large N.
    max_fit_samples : int
        Fit on at most this many random rows; the others are placed by ``transform``.
    batch_size : int
        Rows per ``transform`` call.
    n_epochs : int, optional
        Optimisation epochs. None: umap-learn's default (500 up to 10⁴ fitted rows, 200
        above) below :data:`LARGE_N_ROWS` fitted rows, :data:`LARGE_N_EPOCHS` from there.
    init : {"auto", "spectral", "pca", "tswspectral", "random"}
        Initial layout. ``"auto"``: umap-learn's spectral layout up to
        :data:`SPECTRAL_MAX_ROWS` fitted rows, PCA above (the sparse eigensolver dominates the
        fit there, while PCA gives the same trustworthiness on contrastive embeddings).

    Attributes
    ----------
    embedding_ : ndarray (N, 2) float32
        Coordinates of every row passed to ``fit``.
    fit_rows_ : ndarray (n_fit,) int64
        Rows the UMAP model was fitted on.
    n_epochs_ : int
        Layout epochs the fit ran.
    model_ : umap.UMAP
    """

    def __init__(
        self,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        metric: str = "cosine",
        *,
        random_state: int | None = 0,
        max_fit_samples: int = 100_000,
        batch_size: int = 50_000,
        n_epochs: int | None = None,
        init: str = "auto",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.random_state = random_state
        self.max_fit_samples = max_fit_samples
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.init = init

    def _model(self, n: int):
        import umap

        if not 2 <= self.n_neighbors:
            raise GalexploreError(f"n_neighbors must be ≥ 2, got {self.n_neighbors}")
        if not 0.0 <= self.min_dist <= 1.0:
            raise GalexploreError(f"min_dist must be in [0, 1], got {self.min_dist}")
        return umap.UMAP(
            n_neighbors=int(min(self.n_neighbors, n - 1)),
            min_dist=float(self.min_dist),
            metric=self.metric,
            random_state=self.random_state,
            n_epochs=self._epochs(n),
            init=("spectral" if n <= SPECTRAL_MAX_ROWS else "pca") if self.init == "auto" else self.init,
            n_components=2,
            # The fit is capped at max_fit_samples rows, so the faster NN-descent fits in memory.
            low_memory=False,
        )

    def _epochs(self, n: int) -> int | None:
        if self.n_epochs is not None:
            return int(self.n_epochs)
        return LARGE_N_EPOCHS if n >= LARGE_N_ROWS else None

    def fit(
        self, X: npt.ArrayLike, y: None = None, *, progress: ProgressCallback | None = None
    ) -> UMAPProjector:
        """Fit on ``X`` (N, D) (or a subsample of it) and place every row; sets ``embedding_``."""
        X = _check_X(X)
        n = len(X)
        rows = np.arange(n)
        if n > self.max_fit_samples:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(n, int(self.max_fit_samples), replace=False))
        self.fit_rows_ = rows
        self.model_ = self._model(len(rows))
        epochs = self._epochs(len(rows))
        # umap-learn's own default when we leave it None.
        self.n_epochs_ = epochs if epochs is not None else (500 if len(rows) <= 10_000 else 200)
        report(progress, 0, n, "umap fit")
        with warnings.catch_warnings():
            # umap warns that a fixed random_state disables parallelism: that is the point.
            warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
            fitted = self.model_.fit_transform(X[rows])
        out = np.empty((n, 2), dtype=np.float32)
        out[rows] = fitted
        report(progress, len(rows), n, "umap fit")
        if len(rows) < n:
            rest = np.setdiff1d(np.arange(n), rows, assume_unique=True)
            out[rest] = self._transform_batches(X[rest], progress, offset=len(rows), total=n)
        self.embedding_ = out
        return self

    def transform(self, X: npt.ArrayLike, *, progress: ProgressCallback | None = None) -> np.ndarray:
        """Place new rows (M, D) into the fitted map; returns (M, 2) float32."""
        if not hasattr(self, "model_"):
            raise GalexploreError("UMAPProjector is not fitted: call fit(X) first")
        X = np.ascontiguousarray(X, dtype=np.float32)
        return self._transform_batches(X, progress, offset=0, total=len(X))

    def _transform_batches(self, X: np.ndarray, progress, *, offset: int, total: int) -> np.ndarray:
        out = np.empty((len(X), 2), dtype=np.float32)
        step = max(1, int(self.batch_size))
        for start in range(0, len(X), step):
            stop = min(start + step, len(X))
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
                out[start:stop] = self.model_.transform(X[start:stop])
            report(progress, offset + stop, total, "umap transform")
        return out

    def fit_transform(
        self, X: npt.ArrayLike, y: None = None, *, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self.fit(X, progress=progress).embedding_


class PCAProjector:
    """The first two principal components (a fast, linear alternative to UMAP).

    Parameters
    ----------
    metric : {"cosine", "euclidean"}
        ``"cosine"`` L2-normalises rows first, like the UMAP default.
    random_state : int
        Seed of the randomised SVD solver.

    Attributes
    ----------
    embedding_ : ndarray (N, 2) float32
    explained_variance_ratio_ : ndarray (2,)
    model_ : sklearn.decomposition.PCA
    """

    def __init__(self, metric: str = "cosine", *, random_state: int = 0) -> None:
        self.metric = metric
        self.random_state = random_state

    def _prep(self, X: npt.ArrayLike) -> np.ndarray:
        X = _check_X(X)
        if self.metric not in ("cosine", "euclidean"):
            raise GalexploreError(f"PCA projection supports metric cosine or euclidean, got {self.metric!r}")
        return normalise(X) if self.metric == "cosine" else X

    def fit(
        self, X: npt.ArrayLike, y: None = None, *, progress: ProgressCallback | None = None
    ) -> PCAProjector:
        from sklearn.decomposition import PCA

        X = self._prep(X)
        report(progress, 0, len(X), "pca")
        self.model_ = PCA(n_components=2, random_state=self.random_state).fit(X)
        self.embedding_ = self.model_.transform(X).astype(np.float32)
        self.explained_variance_ratio_ = self.model_.explained_variance_ratio_
        report(progress, len(X), len(X), "pca")
        return self

    def transform(self, X: npt.ArrayLike, *, progress: ProgressCallback | None = None) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise GalexploreError("PCAProjector is not fitted: call fit(X) first")
        return self.model_.transform(self._prep(X)).astype(np.float32)

    def fit_transform(
        self, X: npt.ArrayLike, y: None = None, *, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return self.fit(X, progress=progress).embedding_


def make_projector(method: str = "umap", **params: Any) -> UMAPProjector | PCAProjector:
    """A projector by name: ``"umap"`` (:class:`UMAPProjector`) or ``"pca"`` (:class:`PCAProjector`)."""
    if method == "umap":
        return UMAPProjector(**params)
    if method == "pca":
        allowed = {"metric", "random_state"}
        return PCAProjector(**{k: v for k, v in params.items() if k in allowed})
    raise GalexploreError(f"unknown projection method {method!r} (choose from {', '.join(METHODS)})")


def projector_params(projector: UMAPProjector | PCAProjector) -> dict[str, Any]:
    """The parameters of a projector, plus its method name (for metadata and cache keys)."""
    method = "umap" if isinstance(projector, UMAPProjector) else "pca"
    return {"method": method, **{k: v for k, v in vars(projector).items() if not k.endswith("_")}}


def embedding_fingerprint(galaxy_ids: Sequence[str], vectors: np.ndarray) -> str:
    """A short hash of the ids and the exact float32 vectors (identifies a set of embeddings)."""
    h = hashlib.blake2b(digest_size=12)
    h.update("\n".join(map(str, galaxy_ids)).encode())
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    h.update(str(v.shape).encode())
    h.update(memoryview(v).cast("B"))
    return h.hexdigest()


def _cache_path(run: Path, fingerprint: str, params: dict[str, Any]) -> Path:
    key = hashlib.blake2b(
        json.dumps([fingerprint, params], sort_keys=True, default=str).encode(), digest_size=12
    )
    return RunPaths.of(run).cache / "projection" / f"{key.hexdigest()}.npy"


def project_run(
    run: str | os.PathLike,
    method: str = "umap",
    *,
    modality: str | None = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    random_state: int | None = 0,
    max_fit_samples: int = 100_000,
    use_cache: bool = True,
    progress: ProgressCallback | None = None,
) -> Path:
    """Project a run's embeddings to 2-D and write ``projection.parquet``.

    Parameters
    ----------
    run : path-like
        Run directory with ``embeddings.parquet``.
    method : {"umap", "pca"}
    modality : str, optional
        Which embedding of a multi-modal run (required when there are several).
    n_neighbors, min_dist, metric, random_state, max_fit_samples
        As in :class:`UMAPProjector` (PCA uses ``metric`` and ``random_state`` only).
    use_cache : bool
        Reuse a cached projection of the same embeddings with the same parameters.
    progress : ProgressCallback, optional

    Returns
    -------
    Path of ``projection.parquet``. Its metadata holds the parameters, the modality, the
    embeddings' fingerprint, the encoder fingerprint (if the embeddings carry one), the
    number of rows the model was fitted on and the seconds it took.
    """
    run = Path(run)
    emb = read_embeddings(run)
    name = modality if modality is not None else (emb.modalities[0] if len(emb.modalities) == 1 else None)
    X = emb.get(name)
    projector = make_projector(
        method,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        metric=metric,
        random_state=random_state,
        max_fit_samples=max_fit_samples,
    )
    params = projector_params(projector)
    fp = embedding_fingerprint(emb.galaxy_ids, X)
    cache = _cache_path(run, fp, params)
    meta: dict[str, Any] = {
        **params,
        "modality": name,
        "embedding_fingerprint": fp,
        "encoder_fingerprint": encoder_fingerprint(run, emb.metadata),
        "n_galaxies": len(X),
    }
    if use_cache and cache.is_file():
        xy = np.load(cache)
        if xy.shape == (len(X), 2):
            log.info("projection cache hit %s", cache.name)
            report(progress, len(X), len(X), f"{method} (cached)")
            return write_projection(run, emb.galaxy_ids, xy, {**meta, "cached": True})
    t0 = time.perf_counter()
    xy = projector.fit_transform(X, progress=progress)
    meta["seconds"] = round(time.perf_counter() - t0, 3)
    if hasattr(projector, "n_epochs_"):
        meta["n_epochs_used"] = projector.n_epochs_
    meta["n_fit"] = int(len(getattr(projector, "fit_rows_", X)))
    with atomic_file(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, xy)
    return write_projection(run, emb.galaxy_ids, xy, meta)
