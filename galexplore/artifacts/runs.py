"""The RUN/ directory: one trained encoder and everything computed from it (DESIGN §2).

::

    RUN/
      encoder.pt            state dict, model config, normalisation stats, survey fingerprint
      train_log.csv         one row per epoch
      embeddings.parquet    galaxy_id + one fixed-size float32 vector column per modality
      projection.parquet    galaxy_id, x, y; UMAP/PCA parameters in the file metadata
      metrics.json          evaluation results
      report/               markdown + PNG figures

This module owns the on-disk format of the Parquet artifacts so that every stage (embed,
project, cluster, search, evaluate, serve) reads and writes them the same way. Embedding
columns are named ``emb_<modality>`` (``emb_maps``, ``emb_images``, ``emb_spectra``), each a
``fixed_size_list<float32>[D]``. File-level metadata is JSON under the key ``galexplore``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import PART_GLOB, RunPaths
from galexplore.errors import StoreError

META_KEY = b"galexplore"
EMB_PREFIX = "emb_"


def with_metadata(table, metadata: Mapping[str, Any]):
    """``table`` with ``metadata`` stored as JSON under the ``galexplore`` schema key."""
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(metadata, default=str).encode()
    return table.replace_schema_metadata(meta)


def _write_table(path: Path, table, metadata: Mapping[str, Any]) -> None:
    import pyarrow.parquet as pq

    with atomic_file(path) as tmp:
        pq.write_table(with_metadata(table, metadata), tmp)


def parquet_parts(path: Path) -> list[Path]:
    """The files of a Parquet artifact: itself, or the sorted ``part-*.parquet`` of a
    partitioned one (a directory written by the Dask path)."""
    if path.is_dir():
        parts = sorted(path.glob(PART_GLOB))
        if not parts:
            raise StoreError(f"{path}: partitioned artifact without part-*.parquet files")
        return parts
    if not path.is_file():
        raise StoreError(f"{path}: not found (run the stage that writes it first)")
    return [path]


def _read_table(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = parquet_parts(path)
    try:
        table = pa.concat_tables([pq.read_table(p) for p in parts]) if len(parts) > 1 else pq.read_table(parts[0])
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise StoreError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    raw = (table.schema.metadata or {}).get(META_KEY)
    meta = json.loads(raw) if raw else {}
    return table, meta


def _check_ids(path: Path, ids: Sequence[str], n: int) -> np.ndarray:
    ids = np.asarray([str(i) for i in ids], dtype=object)
    if len(ids) != n:
        raise StoreError(f"{path}: {len(ids)} galaxy ids for {n} rows")
    if len(set(ids)) != len(ids):
        raise StoreError(f"{path}: galaxy_id is not unique")
    return ids


def write_embeddings(
    run: str | os.PathLike,
    galaxy_ids: Sequence[str],
    vectors: Mapping[str, npt.ArrayLike],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``embeddings.parquet`` atomically.

    Parameters
    ----------
    run : path-like
        Run directory.
    galaxy_ids : sequence of str, length N
    vectors : mapping modality → array (N, D) float
        One embedding per modality, e.g. ``{"maps": z}`` or ``{"images": zi, "spectra": zs}``.
    metadata : mapping, optional
        Stored as JSON in the file (encoder fingerprint, survey fingerprint, n_views …).
    """
    path = RunPaths.of(run).embeddings
    table, meta = embeddings_table(galaxy_ids, vectors, metadata, where=path)
    _write_table(path, table, meta)
    return path


def embeddings_table(
    galaxy_ids: Sequence[str],
    vectors: Mapping[str, npt.ArrayLike],
    metadata: Mapping[str, Any] | None = None,
    *,
    where: Path | str = "embeddings",
):
    """The Arrow table and metadata of ``embeddings.parquet`` (or of one part of it)."""
    import pyarrow as pa

    if not vectors:
        raise StoreError(f"{where}: no embedding vectors given")
    first = next(iter(vectors.values()))
    ids = _check_ids(Path(where), galaxy_ids, len(first))
    cols = {"galaxy_id": pa.array(ids.tolist(), type=pa.string())}
    dims = {}
    for name, arr in vectors.items():
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr.ndim != 2 or len(arr) != len(ids):
            raise StoreError(f"{where}: embedding {name!r} has shape {arr.shape}, expected ({len(ids)}, D)")
        if not np.isfinite(arr).all():
            raise StoreError(f"{where}: embedding {name!r} contains NaN or inf")
        dims[name] = arr.shape[1]
        cols[EMB_PREFIX + name] = pa.FixedSizeListArray.from_arrays(pa.array(arr.ravel()), arr.shape[1])
    return pa.table(cols), {"modalities": list(vectors), "dims": dims, **dict(metadata or {})}


@dataclass
class Embeddings:
    """Embeddings read from a run: ids (N,), vectors per modality (N, D) float32, metadata."""

    galaxy_ids: np.ndarray
    vectors: dict[str, np.ndarray]
    metadata: dict[str, Any]

    @property
    def modalities(self) -> list[str]:
        return list(self.vectors)

    def get(self, modality: str | None = None) -> np.ndarray:
        """The vectors of one modality (the only one if ``modality`` is None)."""
        if modality is None:
            if len(self.vectors) != 1:
                raise StoreError(f"several embedded modalities {self.modalities}: name one")
            return next(iter(self.vectors.values()))
        if modality not in self.vectors:
            raise StoreError(f"no embedding for modality {modality!r} (have {self.modalities})")
        return self.vectors[modality]


def read_embeddings(run: str | os.PathLike) -> Embeddings:
    """Read ``embeddings.parquet`` of a run."""
    path = RunPaths.of(run).embeddings
    table, meta = _read_table(path)
    if "galaxy_id" not in table.column_names:
        raise StoreError(f"{path}: no galaxy_id column")
    vectors = {}
    for name in table.column_names:
        if name.startswith(EMB_PREFIX):
            col = table.column(name).combine_chunks()
            dim = col.type.list_size
            vectors[name[len(EMB_PREFIX) :]] = col.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim).astype(np.float32, copy=False)
    if not vectors:
        raise StoreError(f"{path}: no embedding columns (emb_*)")
    ids = np.asarray(table.column("galaxy_id").to_pylist(), dtype=object)
    return Embeddings(ids, vectors, meta)


def read_embeddings_metadata(run: str | os.PathLike) -> dict[str, Any]:
    """The metadata of ``embeddings.parquet`` without reading its vectors."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(parquet_parts(RunPaths.of(run).embeddings)[0]).metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}


def write_projection(
    run: str | os.PathLike,
    galaxy_ids: Sequence[str],
    xy: npt.ArrayLike,
    params: Mapping[str, Any],
) -> Path:
    """Write ``projection.parquet`` (galaxy_id, x, y float32) with ``params`` as metadata."""
    import pyarrow as pa

    path = RunPaths.of(run).projection
    xy = np.asarray(xy, dtype=np.float32)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise StoreError(f"{path}: projection must have shape (N, 2), got {xy.shape}")
    ids = _check_ids(path, galaxy_ids, len(xy))
    table = pa.table({"galaxy_id": pa.array(ids.tolist(), type=pa.string()), "x": xy[:, 0], "y": xy[:, 1]})
    _write_table(path, table, dict(params))
    return path


def read_projection(run: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read ``projection.parquet``: a DataFrame (galaxy_id, x, y) and the projection parameters."""
    path = RunPaths.of(run).projection
    table, meta = _read_table(path)
    missing = {"galaxy_id", "x", "y"} - set(table.column_names)
    if missing:
        raise StoreError(f"{path}: missing columns {sorted(missing)}")
    return table.to_pandas(), meta
