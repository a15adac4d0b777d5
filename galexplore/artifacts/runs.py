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

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import PART_GLOB, RunPaths
from galexplore.embedding_checks import (
    BadRow,
    block_rows,
    describe_row,
    duplicated_id,
    first_nonfinite_row,
    is_list_type,
    open_parquet,
    parquet_vector_blocks,
)
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
        table = (
            pa.concat_tables([pq.read_table(p) for p in parts]) if len(parts) > 1 else pq.read_table(parts[0])
        )
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise StoreError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    raw = (table.schema.metadata or {}).get(META_KEY)
    meta = json.loads(raw) if raw else {}
    return table, meta


def _check_ids(path: Path, ids: Sequence[str], n: int, *, unique: bool = True) -> np.ndarray:
    ids = np.asarray([str(i) for i in ids], dtype=object)
    if len(ids) != n:
        raise StoreError(f"{path}: {len(ids)} galaxy ids for {n} rows")
    dup = duplicated_id(ids) if unique else None
    if dup is not None:
        raise StoreError(f"{path}: galaxy_id is not unique ({dup!r} occurs more than once)")
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
    ids, arrays = _embedding_arrays(galaxy_ids, vectors, where=path)
    rows = block_rows(max(a.shape[1] for a in arrays.values()))
    with embeddings_writer(run, {m: a.shape[1] for m, a in arrays.items()}, metadata) as writer:
        for start in range(0, len(ids), rows):
            writer.write(ids[start : start + rows], {m: a[start : start + rows] for m, a in arrays.items()})
    return path


def _embedding_arrays(
    galaxy_ids: Sequence[str],
    vectors: Mapping[str, npt.ArrayLike],
    *,
    where: Path | str,
    first_row: int = 0,
    unique: bool = True,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The ids and the (N, D) C-contiguous float32 vectors, checked: N ids (unique unless told
    otherwise), N rows per modality, no NaN or inf (the error names the galaxy and its row, the
    rows of this block counted from ``first_row``)."""
    if not vectors:
        raise StoreError(f"{where}: no embedding vectors given")
    first = next(iter(vectors.values()))
    ids = _check_ids(Path(where), galaxy_ids, len(first), unique=unique)
    arrays = {}
    for name, arr in vectors.items():
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr.ndim != 2 or len(arr) != len(ids):
            raise StoreError(f"{where}: embedding {name!r} has shape {arr.shape}, expected ({len(ids)}, D)")
        bad = first_nonfinite_row(arr)
        if bad >= 0:
            raise StoreError(
                f"{where}: embedding {name!r} contains NaN or inf "
                f"(first in {describe_row(first_row + bad, ids, first_row)})"
            )
        arrays[name] = arr
    return ids, arrays


def _embeddings_schema(dims: Mapping[str, int], metadata: Mapping[str, Any]):
    import pyarrow as pa

    fields = [("galaxy_id", pa.string())] + [
        (EMB_PREFIX + m, pa.list_(pa.float32(), int(d))) for m, d in dims.items()
    ]
    return pa.schema(fields, metadata={META_KEY: json.dumps(metadata, default=str).encode()})


def embeddings_table(
    galaxy_ids: Sequence[str],
    vectors: Mapping[str, npt.ArrayLike],
    metadata: Mapping[str, Any] | None = None,
    *,
    where: Path | str = "embeddings",
):
    """The Arrow table and metadata of ``embeddings.parquet`` (or of one part of it)."""
    import pyarrow as pa

    ids, arrays = _embedding_arrays(galaxy_ids, vectors, where=where)
    cols = {"galaxy_id": pa.array(ids.tolist(), type=pa.string())}
    for name, arr in arrays.items():
        cols[EMB_PREFIX + name] = pa.FixedSizeListArray.from_arrays(pa.array(arr.ravel()), arr.shape[1])
    return pa.table(cols), {
        "modalities": list(arrays),
        "dims": {m: a.shape[1] for m, a in arrays.items()},
        **dict(metadata or {}),
    }


class EmbeddingsWriter:
    """Appends blocks of rows to an ``embeddings.parquet`` being written (see :func:`embeddings_writer`)."""

    def __init__(self, writer, path: Path, dims: Mapping[str, int]) -> None:
        self._writer, self.path, self.dims = writer, path, dict(dims)
        self._ids: list[np.ndarray] = []
        self.n_rows = 0

    def write(self, galaxy_ids: Sequence[str], vectors: Mapping[str, npt.ArrayLike]) -> None:
        """Append ``len(galaxy_ids)`` rows (one Parquet row group): the ids and, for every
        modality the writer was opened with, an (n, D) float array; checked as by
        :func:`write_embeddings`."""
        import pyarrow as pa

        if set(vectors) != set(self.dims):
            raise StoreError(
                f"{self.path}: block of modalities {sorted(vectors)}, the file has {sorted(self.dims)}"
            )
        ids, arrays = _embedding_arrays(
            galaxy_ids, vectors, where=self.path, first_row=self.n_rows, unique=False
        )
        for name, arr in arrays.items():
            if arr.shape[1] != self.dims[name]:
                raise StoreError(
                    f"{self.path}: embedding {name!r} has {arr.shape[1]} dimensions, the file {self.dims[name]}"
                )
        if not len(ids):
            return
        cols = [pa.array(ids.tolist(), type=pa.string())]
        cols += [
            pa.FixedSizeListArray.from_arrays(pa.array(arrays[m].ravel()), self.dims[m]) for m in self.dims
        ]
        self._writer.write_table(pa.Table.from_arrays(cols, schema=self._writer.schema))
        self._ids.append(ids)
        self.n_rows += len(ids)

    def _check_unique(self) -> None:
        dup = duplicated_id(np.concatenate(self._ids)) if self._ids else None
        if dup is not None:
            raise StoreError(f"{self.path}: galaxy_id is not unique ({dup!r} occurs more than once)")


@contextlib.contextmanager
def embeddings_writer(
    run: str | os.PathLike, dims: Mapping[str, int], metadata: Mapping[str, Any] | None = None
) -> Iterator[EmbeddingsWriter]:
    """Write ``RUN/embeddings.parquet`` block by block, atomically.

    Yields an :class:`EmbeddingsWriter`; each ``write`` becomes a row group, so writing holds
    one block at a time, never the whole table. The file appears only when the block exits
    without an error and its ids are unique; otherwise the previous file (if any) is kept.

    Parameters
    ----------
    run : path-like
        Run directory.
    dims : mapping modality → D
        The vector length of each modality, in column order.
    metadata : mapping, optional
        Stored as JSON in the file, with ``modalities`` and ``dims``.
    """
    import pyarrow.parquet as pq

    path = RunPaths.of(run).embeddings
    if not dims:
        raise StoreError(f"{path}: no embedding vectors given")
    schema = _embeddings_schema(dims, {"modalities": list(dims), "dims": dict(dims), **dict(metadata or {})})
    with atomic_file(path) as tmp:
        # no dictionary (unique ids, float vectors), no min/max statistics of the vectors and no
        # compression of them (float mantissas do not compress): each costs time on every value
        # and helps no reader
        codecs = {"galaxy_id": "snappy", **{EMB_PREFIX + m: "none" for m in dims}}
        with pq.ParquetWriter(
            tmp, schema, use_dictionary=False, write_statistics=["galaxy_id"], compression=codecs
        ) as pw:
            writer = EmbeddingsWriter(pw, path, dims)
            yield writer
        writer._check_unique()


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
    """Read ``embeddings.parquet`` of a run (one file or the parts of a partitioned one), checked:
    unique ids, a vector of one length for every row, all finite; the error names the file and
    the first galaxy at fault. The vectors are read block by block into their final arrays, so
    reading holds them once (plus a block), not twice."""
    import pyarrow as pa

    path = RunPaths.of(run).embeddings
    parts = parquet_parts(path)
    try:
        files = [open_parquet(p) for p in parts]
        schema = files[0].schema_arrow
        if "galaxy_id" not in schema.names:
            raise StoreError(f"{path}: no galaxy_id column")
        ids = np.concatenate(
            [np.asarray(pf.read(columns=["galaxy_id"]).column(0).to_pylist(), dtype=object) for pf in files]
        )
        dup = duplicated_id(ids)
        if dup is not None:
            raise StoreError(
                f"{path}: galaxy_id {dup!r} occurs more than once (each galaxy must have one embedding)"
            )
        names = [n for n in schema.names if n.startswith(EMB_PREFIX)]
        if not names:
            raise StoreError(f"{path}: no embedding columns (emb_*)")
        vectors = {name[len(EMB_PREFIX) :]: _vector_column(path, files, name, ids) for name in names}
    except (pa.ArrowException, OSError, KeyError) as exc:  # pyarrow raises several types for corrupt files
        raise StoreError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    raw = (schema.metadata or {}).get(META_KEY)
    return Embeddings(ids, vectors, json.loads(raw) if raw else {})


def _vector_column(path: Path, files: list, name: str, ids: np.ndarray) -> np.ndarray:
    """One ``emb_*`` column of every part as (N, D) float32 (see :func:`read_embeddings`)."""
    import pyarrow as pa

    typ = files[0].schema_arrow.field(name).type
    if not is_list_type(typ):
        raise StoreError(f"{path}: column {name} is {typ}, not a list of floats")
    dim = typ.list_size if pa.types.is_fixed_size_list(typ) else None
    out, pos = np.empty((len(ids), dim or 0), dtype=np.float32), 0
    try:
        for pf in files:
            for block in parquet_vector_blocks(pf, name, dim, block_rows(dim or 1024), first_row=pos):
                if dim is None:
                    dim = block.shape[1]
                    out = np.empty((len(ids), dim), dtype=np.float32)
                if pos + len(block) > len(ids):
                    raise StoreError(f"{path}: column {name} has more rows than galaxy_id")
                out[pos : pos + len(block)] = block
                bad = first_nonfinite_row(out[pos : pos + len(block)])
                if bad >= 0:
                    raise StoreError(
                        f"{path}: column {name} has NaN or inf in the vector of {describe_row(pos + bad, ids)}"
                    )
                pos += len(block)
    except BadRow as bad_row:
        what = (
            "has no vector for"
            if bad_row.what == "no vector"
            else f"has vectors of unequal length ({bad_row.what}) at"
        )
        raise StoreError(f"{path}: column {name} {what} {describe_row(bad_row.row, ids)}") from None
    if pos != len(ids):
        raise StoreError(f"{path}: column {name} has {pos} rows for {len(ids)} galaxy ids")
    return out


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
