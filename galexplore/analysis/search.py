"""Cosine similarity search over embeddings: "find galaxies like these, but not like those".

:class:`SimilaritySearch` holds one set of vectors (one modality of a run), L2-normalised in
float32. A query is one galaxy, or the mean direction of several (positives), optionally pushed
away from negative examples (a Rocchio-style query ``q = mean(pos) − w · mean(neg)``). Search
is exact: one float32 matrix–vector product in blocks plus ``argpartition``, which answers a
top-50 query over 10⁶ × 64 vectors in tens of milliseconds. With ``backend="faiss"`` (the
optional ``faiss`` extra) an exact inner-product index is used instead.

For a cross-modal run (e.g. ``emb_images`` and ``emb_spectra`` aligned by a CLIP loss),
:func:`run_search` takes the query direction from one modality and searches another, as
AstroCLIP does for image → spectrum retrieval.

>>> s = SimilaritySearch().fit(vectors, galaxy_ids)              # doctest: +SKIP
>>> s.query(["g000012"], k=10)                                    # doctest: +SKIP
   galaxy_id  similarity  rank
0    g000012    1.000000     1
1    g000873    0.991250     2
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "numpy", "faiss")
#: Rows per block of the matrix–vector product (bounds the temporary memory to ~block floats).
BLOCK_ROWS = 1 << 20


def normalise(vectors: npt.ArrayLike) -> np.ndarray:
    """Rows scaled to unit L2 norm, as C-contiguous float32 (zero rows stay zero).

    Parameters
    ----------
    vectors : array_like, shape (N, D)

    Returns
    -------
    ndarray, shape (N, D), float32
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norm, np.float32(1e-12), out=norm)
    return x / norm


def _have_faiss() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class SimilaritySearch:
    """Exact cosine k-nearest-neighbour search over one set of embeddings.

    Parameters
    ----------
    backend : {"auto", "numpy", "faiss"}
        ``"numpy"``: exact blocked matrix product (default for ``"auto"``).
        ``"faiss"``: exact ``IndexFlatIP`` from the optional faiss extra; ``"auto"`` picks it
        only when faiss is installed and N > 2·10⁶.
    negative_weight : float
        Weight ``w`` of the negative examples in ``q = mean(pos) − w · mean(neg)``.

    Attributes
    ----------
    vectors_ : ndarray, shape (N, D), float32
        The fitted vectors, L2-normalised.
    galaxy_ids_ : ndarray of str, shape (N,)
    backend_ : str
        The backend actually used.
    """

    def __init__(self, *, backend: str = "auto", negative_weight: float = 0.5) -> None:
        self.backend = backend
        self.negative_weight = negative_weight

    def fit(self, vectors: npt.ArrayLike, galaxy_ids: Sequence[str]) -> SimilaritySearch:
        """Index ``vectors`` (N, D) whose rows belong to ``galaxy_ids`` (N,)."""
        if self.backend not in BACKENDS:
            raise GalexploreError(
                f"unknown search backend {self.backend!r} (choose from {', '.join(BACKENDS)})"
            )
        x = np.asarray(vectors)
        if x.ndim != 2 or len(x) == 0:
            raise GalexploreError(f"search vectors must have shape (N, D) with N ≥ 1, got {x.shape}")
        if not np.isfinite(x).all():
            raise GalexploreError("search vectors contain NaN or inf")
        ids = np.asarray([str(g) for g in galaxy_ids], dtype=object)
        if len(ids) != len(x):
            raise GalexploreError(f"{len(ids)} galaxy ids for {len(x)} vectors")
        self.vectors_ = normalise(x)
        self.galaxy_ids_ = ids
        self._index = pd.Index(ids)
        if not self._index.is_unique:
            raise GalexploreError("galaxy ids given to the search are not unique")
        self.backend_ = self._pick_backend(len(x))
        self._faiss = None
        if self.backend_ == "faiss":
            import faiss

            self._faiss = faiss.IndexFlatIP(self.vectors_.shape[1])
            self._faiss.add(self.vectors_)
        return self

    def _pick_backend(self, n: int) -> str:
        if self.backend == "faiss" and not _have_faiss():
            raise GalexploreError(
                "search backend 'faiss' needs the faiss extra: pip install 'galexplore[faiss]'"
            )
        if self.backend == "auto":
            return "faiss" if n > 2_000_000 and _have_faiss() else "numpy"
        return self.backend

    # -- looking things up ----------------------------------------------------------------
    def positions(self, galaxy_ids: Sequence[str]) -> np.ndarray:
        """Row positions of ``galaxy_ids``; a one-line error naming the first unknown id."""
        self._check_fitted()
        ids = [str(g) for g in galaxy_ids]
        pos = self._index.get_indexer(ids)
        if (pos < 0).any():
            bad = [g for g, p in zip(ids, pos, strict=True) if p < 0]
            more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
            raise GalexploreError(f"unknown galaxy_id {bad[0]!r}{more}")
        return pos.astype(np.int64)

    def direction(self, positives: Sequence[str], negatives: Sequence[str] = ()) -> np.ndarray:
        """Unit query direction (D,) float32 from positive and negative example galaxies."""
        self._check_fitted()
        positives = [positives] if isinstance(positives, str) else list(positives)
        negatives = [negatives] if isinstance(negatives, str) else list(negatives)
        if not positives:
            raise GalexploreError("a similarity query needs at least one galaxy")
        q = self.vectors_[self.positions(positives)].mean(axis=0)
        if negatives:
            q = q - np.float32(self.negative_weight) * self.vectors_[self.positions(negatives)].mean(axis=0)
        return normalise(q[None])[0]

    def _check_fitted(self) -> None:
        if not hasattr(self, "vectors_"):
            raise GalexploreError("SimilaritySearch is not fitted: call fit(vectors, galaxy_ids) first")

    # -- searching --------------------------------------------------------------------------
    def query_vector(self, q: npt.ArrayLike, k: int = 10, *, exclude: Sequence[str] = ()) -> pd.DataFrame:
        """The ``k`` galaxies most cosine-similar to the direction ``q`` (D,).

        Returns
        -------
        DataFrame with columns ``galaxy_id`` (str), ``similarity`` (float32, cosine in
        [−1, 1]) and ``rank`` (1 = most similar), sorted by rank.
        """
        self._check_fitted()
        q = normalise(np.asarray(q, dtype=np.float32).reshape(1, -1))[0]
        if q.shape[0] != self.vectors_.shape[1]:
            raise GalexploreError(f"query has dimension {q.shape[0]}, the index has {self.vectors_.shape[1]}")
        if k < 1:
            raise GalexploreError(f"k must be ≥ 1, got {k}")
        drop = self.positions(exclude) if len(exclude) else np.empty(0, np.int64)
        k_eff = min(int(k), len(self.vectors_) - len(drop))
        idx, sim = self._top(q, k_eff + len(drop))
        if len(drop):
            keep = ~np.isin(idx, drop)
            idx, sim = idx[keep][:k_eff], sim[keep][:k_eff]
        return pd.DataFrame(
            {
                "galaxy_id": self.galaxy_ids_[idx].astype(str),
                "similarity": sim.astype(np.float32),
                "rank": np.arange(1, len(idx) + 1),
            }
        )

    def _top(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.vectors_))
        if self._faiss is not None:
            sim, idx = self._faiss.search(q[None], k)
            return idx[0].astype(np.int64), sim[0]
        sims = np.empty(len(self.vectors_), dtype=np.float32)
        for start in range(0, len(self.vectors_), BLOCK_ROWS):
            stop = start + BLOCK_ROWS
            np.dot(self.vectors_[start:stop], q, out=sims[start:stop])
        n = len(sims)
        part = np.argpartition(sims, n - k)[n - k :] if k < n else np.arange(n)
        # Sort by similarity, ties broken by row order so results are deterministic.
        order = np.lexsort((part, -sims[part]))
        idx = part[order]
        return idx, sims[idx]

    def query(
        self,
        positives: Sequence[str] | str,
        k: int = 10,
        negatives: Sequence[str] | str = (),
        *,
        exclude_examples: bool = False,
    ) -> pd.DataFrame:
        """The ``k`` galaxies most similar to ``positives`` (and least like ``negatives``).

        Parameters
        ----------
        positives : str or sequence of str
            One galaxy id, or several: the query is their mean unit direction.
        k : int
            Number of results.
        negatives : str or sequence of str
            Galaxies to steer away from (weight :attr:`negative_weight`).
        exclude_examples : bool
            Drop the positive and negative examples themselves from the results. By default
            they stay, so a one-galaxy query returns that galaxy first (similarity 1).

        Returns
        -------
        DataFrame ``galaxy_id, similarity, rank`` sorted by rank.
        """
        q = self.direction(positives, negatives)
        exclude: list[str] = []
        if exclude_examples:
            exclude = [positives] if isinstance(positives, str) else list(positives)
            exclude += [negatives] if isinstance(negatives, str) else list(negatives)
        return self.query_vector(q, k, exclude=exclude)


def run_search(
    run: str | os.PathLike,
    positives: Sequence[str] | str,
    k: int = 10,
    negatives: Sequence[str] | str = (),
    *,
    modality: str | None = None,
    target_modality: str | None = None,
    exclude_examples: bool = False,
    backend: str = "auto",
) -> pd.DataFrame:
    """Search the embeddings of a run, within one modality or across two.

    Parameters
    ----------
    run : path-like
        Run directory with ``embeddings.parquet``.
    positives, k, negatives, exclude_examples
        As in :meth:`SimilaritySearch.query`.
    modality : str, optional
        Modality whose embeddings define the query (required when the run has several).
    target_modality : str, optional
        Modality searched (default: ``modality``). Different from ``modality`` gives a
        cross-modal search, e.g. ``modality="images", target_modality="spectra"``.
    """
    from galexplore.artifacts.runs import read_embeddings

    emb = read_embeddings(run)
    source_name = (
        modality if modality is not None else (emb.modalities[0] if len(emb.modalities) == 1 else None)
    )
    source = emb.get(source_name)
    target = emb.get(target_modality) if target_modality is not None else source
    index = SimilaritySearch(backend=backend).fit(target, emb.galaxy_ids)
    if target is source:
        return index.query(positives, k, negatives, exclude_examples=exclude_examples)
    if source.shape[1] != target.shape[1]:
        raise GalexploreError(
            f"cannot search across modalities of dimension {source.shape[1]} and {target.shape[1]}"
        )
    query_side = SimilaritySearch(backend="numpy").fit(source, emb.galaxy_ids)
    q = query_side.direction(positives, negatives)
    exclude: list[str] = []
    if exclude_examples:
        exclude = [positives] if isinstance(positives, str) else list(positives)
        exclude += [negatives] if isinstance(negatives, str) else list(negatives)
    return index.query_vector(q, k, exclude=exclude)
