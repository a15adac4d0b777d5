"""Similarity search from the dashboard: a thin adapter over :class:`galexplore.analysis.search.SimilaritySearch`.

One index per (data, modality) is fitted lazily and shared read-only by all sessions.
For a cross-modal run (e.g. images + spectra in one CLIP space) the query galaxy's vector in
one modality can be searched among the vectors of another.
"""

from __future__ import annotations

import numpy as np

from galexplore.analysis.search import SimilaritySearch
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.errors import GalexploreError


@per_server_cache(8)
def search_index(data: ExplorerData, modality: str) -> SimilaritySearch:
    """The fitted cosine index of one embedded modality."""
    if data.embeddings is None:
        raise GalexploreError("this run has no embeddings.parquet: similarity search is unavailable")
    return SimilaritySearch().fit(data.embeddings.get(modality), data.galaxy_ids)


def find_similar(
    data: ExplorerData,
    galaxy_id: str,
    k: int = 20,
    *,
    query_modality: str | None = None,
    target_modality: str | None = None,
) -> np.ndarray:
    """Catalog rows (k,) int64 of the ``k`` galaxies most similar to ``galaxy_id`` (itself first):
    the rows of :func:`find_similar_scored`, which also gives their similarity."""
    return find_similar_scored(
        data, galaxy_id, k, query_modality=query_modality, target_modality=target_modality
    )[0]


def find_similar_scored(
    data: ExplorerData,
    galaxy_id: str,
    k: int = 20,
    *,
    query_modality: str | None = None,
    target_modality: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` galaxies most similar to ``galaxy_id`` (itself first) and their similarity.

    Parameters
    ----------
    data : ExplorerData
    galaxy_id : str
        The query galaxy.
    k : int
        Number of neighbours, the query galaxy included.
    query_modality, target_modality : str, optional
        Embedding of the query and embedding searched (default: the run's first modality
        for both). Different modalities need a shared (cross-modal) embedding space.

    Returns
    -------
    rows : ndarray of int64, shape (k,)
        Catalog rows, most similar first.
    similarity : ndarray of float64, shape (k,)
        Cosine similarity of each to the query, in [−1, 1].
    """
    if data.embeddings is None:
        raise GalexploreError("this run has no embeddings.parquet: similarity search is unavailable")
    mods = data.embeddings.modalities
    query_modality = query_modality or mods[0]
    target_modality = target_modality or query_modality
    for m in (query_modality, target_modality):
        if m not in mods:
            raise GalexploreError(f"no embedding for modality {m!r} (this run has {mods})")
    row = data.position(galaxy_id)
    if row is None:
        raise GalexploreError(f"unknown galaxy_id {galaxy_id!r}")
    index = search_index(data, target_modality)
    q = data.embeddings.get(query_modality)[row]
    if q.shape[0] != index.vectors_.shape[1]:
        raise GalexploreError(
            f"{query_modality} and {target_modality} embeddings have different sizes: not one space"
        )
    hits = index.query_vector(q, k=k)
    rows = data.index.get_indexer(hits["galaxy_id"].to_numpy()).astype(np.int64)
    return rows, hits["similarity"].to_numpy(np.float64)
