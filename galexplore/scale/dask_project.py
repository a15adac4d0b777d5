"""UMAP for survey-scale embeddings: fit on a subsample, transform the rest over Dask.

The client streams the (possibly partitioned) embeddings once to pick the fitting sample,
fits :class:`~galexplore.analysis.projection.UMAPProjector` on it exactly as the single-process path
does, broadcasts the fitted model, and lets the workers place the remaining rows in the same
batches :meth:`UMAPProjector.fit` would use. Only the 2-D coordinates (8 bytes a galaxy) come
back; the projection is written as partitioned Parquet aligned with the embeddings' parts.
The coordinates are identical to :func:`galexplore.analysis.projection.project_run`'s.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from galexplore.artifacts.atomic import atomic_directory
from galexplore.artifacts.paths import RunPaths, part_file
from galexplore.artifacts.runs import EMB_PREFIX, parquet_parts, with_metadata
from galexplore.errors import GalexploreError
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)


class EmbeddingParts:
    """Row-addressable view of ``embeddings.parquet`` (one file or ``part-*.parquet``), read lazily."""

    def __init__(self, run: str | os.PathLike, modality: str | None = None) -> None:
        import pyarrow.parquet as pq

        self.path = RunPaths.of(run).embeddings
        self.parts = [str(p) for p in parquet_parts(self.path)]
        schema = pq.read_schema(self.parts[0])
        mods = [c[len(EMB_PREFIX) :] for c in schema.names if c.startswith(EMB_PREFIX)]
        if modality is None and len(mods) != 1:
            raise GalexploreError(f"{self.path}: several embedded modalities {mods}: name one")
        if modality is not None and modality not in mods:
            raise GalexploreError(f"{self.path}: no embedding for modality {modality!r} (have {mods})")
        self.modality = modality or mods[0]
        counts = [pq.ParquetFile(p).metadata.num_rows for p in self.parts]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @property
    def n(self) -> int:
        return int(self.offsets[-1])

    def part(self, i: int, column: str):
        import pyarrow.parquet as pq

        return pq.read_table(self.parts[i], columns=[column]).column(column).combine_chunks()

    def vectors(self, i: int) -> np.ndarray:
        col = self.part(i, EMB_PREFIX + self.modality)
        return (
            col.flatten()
            .to_numpy(zero_copy_only=False)
            .reshape(len(col), col.type.list_size)
            .astype(np.float32, copy=False)
        )

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Vectors of the given sorted global rows, reading only the parts that hold them."""
        out = []
        for i in np.unique(np.searchsorted(self.offsets, rows, side="right") - 1):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            sel = rows[(rows >= lo) & (rows < hi)] - lo
            out.append(self.vectors(int(i))[sel])
        return np.concatenate(out) if out else np.empty((0, 0), dtype=np.float32)

    def fingerprint(self) -> str:
        """Same value as :func:`galexplore.analysis.projection.embedding_fingerprint` on the whole table."""
        h = hashlib.blake2b(digest_size=12)
        ids = [str(g) for i in range(len(self.parts)) for g in self.part(i, "galaxy_id").to_pylist()]
        h.update("\n".join(ids).encode())
        dim = self.vectors(0).shape[1]
        h.update(str((self.n, dim)).encode())
        for i in range(len(self.parts)):
            h.update(memoryview(np.ascontiguousarray(self.vectors(i))).cast("B"))
        return h.hexdigest()


def _transform_rows(
    projector: Any, source: EmbeddingParts, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Worker task: place ``rows`` with the fitted projector (one ``transform`` batch)."""
    return rows, projector.transform(source.rows(rows))


def _write_parts(run: Path, source: EmbeddingParts, xy: np.ndarray, meta: dict[str, Any]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = RunPaths.of(run).projection
    with atomic_directory(target) as tmp:
        for i in range(len(source.parts)):
            lo, hi = source.offsets[i], source.offsets[i + 1]
            table = pa.table({"galaxy_id": source.part(i, "galaxy_id"), "x": xy[lo:hi, 0], "y": xy[lo:hi, 1]})
            pq.write_table(with_metadata(table, {**meta, "partition": i}), part_file(tmp, i))
    return target


def project_with_dask(
    run: str | os.PathLike,
    client: Any,
    *,
    modality: str | None = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    random_state: int | None = 0,
    max_fit_samples: int = 100_000,
    batch_size: int = 50_000,
    n_epochs: int | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """UMAP-project a run's embeddings with the transform spread over ``client``'s workers.

    Parameters are those of :class:`~galexplore.analysis.projection.UMAPProjector`. Writes
    ``RUN/projection.parquet/part-*.parquet`` (one part per embeddings part) atomically, with
    the parameters, the fitted-row count and the embeddings' fingerprint in the metadata.
    """
    from distributed import as_completed

    from galexplore.analysis.projection import UMAPProjector, projector_params
    from galexplore.artifacts.provenance import encoder_fingerprint
    from galexplore.artifacts.runs import read_embeddings_metadata

    run = Path(run).resolve()
    source = EmbeddingParts(run, modality)
    n = source.n
    projector = UMAPProjector(
        n_neighbors,
        min_dist,
        metric,
        random_state=random_state,
        max_fit_samples=max_fit_samples,
        batch_size=batch_size,
        n_epochs=n_epochs,
    )
    fit_rows = np.arange(n)
    if n > max_fit_samples:
        fit_rows = np.sort(np.random.default_rng(random_state).choice(n, int(max_fit_samples), replace=False))
    t0 = time.perf_counter()
    report(progress, 0, n, "umap fit")
    projector.fit(source.rows(fit_rows))
    xy = np.empty((n, 2), dtype=np.float32)
    xy[fit_rows] = projector.embedding_
    report(progress, len(fit_rows), n, "umap fit")
    rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
    if len(rest):
        model = client.scatter(projector, broadcast=True)
        src = client.scatter(source, broadcast=True)
        tasks = [
            client.submit(_transform_rows, model, src, rest[i : i + batch_size], pure=False)
            for i in range(0, len(rest), batch_size)
        ]
        done = len(fit_rows)
        for fut in as_completed(tasks):
            rows, coords = fut.result()
            xy[rows] = coords
            done += len(rows)
            report(progress, done, n, "umap transform (dask)")
    meta = {
        **projector_params(projector),
        "modality": source.modality,
        "embedding_fingerprint": source.fingerprint(),
        "encoder_fingerprint": encoder_fingerprint(run, read_embeddings_metadata(run)),
        "n_galaxies": n,
        "n_fit": int(len(fit_rows)),
        "seconds": round(time.perf_counter() - t0, 3),
        "dask_workers": len(client.scheduler_info().get("workers", {})),
    }
    path = _write_parts(run, source, xy, meta)
    log.info("wrote %s (%d parts)", path, len(source.parts))
    return path


__all__ = ["EmbeddingParts", "project_with_dask"]
