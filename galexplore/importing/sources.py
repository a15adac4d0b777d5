"""A file of vectors, opened for import: its row keys, and its vector columns read block by block.

:func:`open_source` recognises the format by the file name: Parquet (streamed by row group),
NumPy ``.npy`` (read straight from the file, with the row keys from an ids file), and, read
whole, CSV, FITS and ECSV tables and HDF5 files (:mod:`galexplore.importing.tables`). Every
reader hands over the same :class:`VectorSource`, so matching and checking are written once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.embedding_checks import BLOCK_ROWS, BadRow, is_list_type, open_parquet, parquet_vector_blocks
from galexplore.errors import InputFileError
from galexplore.importing.columns import (
    KeyColumns,
    VectorColumn,
    VectorSource,
    choose_vectors,
    key_columns,
    modality_name,
    parse_request,
)

#: File name endings of each format.
FORMATS = {
    "parquet": (".parquet", ".pq"),
    "npy": (".npy",),
    "csv": (".csv", ".csv.gz", ".tsv"),
    "fits": (".fits", ".fit", ".fits.gz", ".fts"),
    "ecsv": (".ecsv",),
    "hdf5": (".h5", ".hdf5", ".hdf"),
}


def detect_format(path: Path) -> str:
    name = path.name.lower()
    for fmt, ends in FORMATS.items():
        if name.endswith(ends):
            return fmt
    known = ", ".join(e for ends in FORMATS.values() for e in ends)
    raise InputFileError(path, f"unknown vector file type (known: {known})")


def open_source(
    path: str | os.PathLike,
    *,
    id_column: str | None = None,
    vector_columns: Sequence[str] = (),
    ids_file: str | os.PathLike | None = None,
) -> VectorSource:
    """Open a file of vectors; see the module doc. Raises :class:`InputFileError` naming it."""
    from galexplore.importing import tables

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    fmt = detect_format(path)
    if fmt != "npy" and ids_file is not None:
        raise InputFileError(
            ids_file, f"an ids file goes with a .npy file only; {path.name} carries its own ids"
        )
    readers = {
        "parquet": _parquet,
        "npy": _npy,
        "csv": tables.csv,
        "fits": tables.fits,
        "ecsv": tables.ecsv,
        "hdf5": tables.hdf5,
    }
    try:
        return readers[fmt](path, id_column=id_column, requests=list(vector_columns), ids_file=ids_file)
    except (InputFileError, BadRow):
        raise
    except KeyError as exc:
        raise InputFileError(path, f"no column {exc.args[0]!r}") from exc
    except Exception as exc:  # parsers raise many types; all mean "cannot read this file"
        raise InputFileError(
            path, f"not a readable {fmt} file ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
        ) from exc


# -- Parquet --------------------------------------------------------------------------------------
def _parquet(path: Path, *, id_column, requests, ids_file) -> VectorSource:
    import pyarrow as pa

    pf = open_parquet(path)
    schema = pf.schema_arrow
    lists = {f.name: f.type for f in schema if is_list_type(f.type) and _is_number(f.type.value_type)}
    scalars = [f.name for f in schema if _is_number(f.type)]
    kc = key_columns(schema.names, id_column)
    chosen = choose_vectors(path, lists, scalars, requests, kc)
    keys = (
        pf.read(columns=kc.names).to_pandas()
        if kc.names
        else pd.DataFrame(index=pd.RangeIndex(pf.metadata.num_rows))
    )
    vectors = {}
    for name, (kind, what) in chosen.items():
        if kind == "list":
            typ = lists[what]
            dim = typ.list_size if pa.types.is_fixed_size_list(typ) else _first_length(pf, what)
            vectors[name] = VectorColumn(
                what, dim, str(typ.value_type.to_pandas_dtype().__name__), _parquet_list_blocks(pf, what, dim)
            )
        else:
            dtypes = {str(schema.field(c).type) for c in what}
            vectors[name] = VectorColumn(
                what[0].rstrip("0123456789") + "*",
                len(what),
                "/".join(sorted(dtypes)),
                _parquet_group_blocks(pf, what),
            )
    return VectorSource(path, "parquet", pf.metadata.num_rows, keys.reset_index(drop=True), kc, vectors)


def _is_number(t) -> bool:
    import pyarrow as pa

    return pa.types.is_floating(t) or pa.types.is_integer(t)


def _first_length(pf, column: str) -> int:
    """The length of the first vector of a variable-length list column (0 in an empty file)."""
    first = next(parquet_vector_blocks(pf, column, None, 1), None)
    return 0 if first is None else first.shape[1]


def _parquet_list_blocks(pf, column: str, dim: int) -> Callable[[int], Iterator[np.ndarray]]:
    def blocks(n: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
        yield from parquet_vector_blocks(pf, column, dim, n)

    return blocks


def _parquet_group_blocks(pf, columns: list[str]) -> Callable[[int], Iterator[np.ndarray]]:
    def blocks(n: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
        for batch in pf.iter_batches(batch_size=n, columns=columns, use_threads=False):
            yield np.column_stack(
                [batch.column(i).to_numpy(zero_copy_only=False) for i in range(len(columns))]
            )

    return blocks


# -- NumPy .npy + ids file ---------------------------------------------------------------------------
def _npy(path: Path, *, id_column, requests, ids_file) -> VectorSource:
    if ids_file is None:
        raise InputFileError(
            path,
            "a .npy file holds no ids: give the ids file too (--ids FILE: one id per line, "
            "a .npy of ids, or a table with an id or ra/dec columns)",
        )
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    if len(shape) != 2 or dtype.kind not in "fiu" or fortran:
        raise InputFileError(
            path,
            f"expected a C-ordered 2-D numeric array (N, D), got shape {shape} dtype {dtype}"
            + (" in Fortran order" if fortran else ""),
        )
    if len(requests) > 1:
        raise InputFileError(
            path, "a .npy file holds one vector column; give at most one --vector-column NAME"
        )
    if requests:  # for a .npy, --vector-column only names the modality
        column, given = parse_request(requests[0])
        name = given or modality_name(column)
    else:
        name = modality_name(path.stem)
    keys, kc = read_ids(ids_file, id_column)
    if len(keys) != shape[0]:
        raise InputFileError(ids_file, f"{len(keys)} ids for the {shape[0]} vectors of {path.name}")

    def blocks(n: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
        row_bytes = shape[1] * dtype.itemsize
        with open(path, "rb") as fh:
            fh.seek(offset)
            for start in range(0, shape[0], n):
                block = np.empty((min(n, shape[0] - start), shape[1]), dtype=dtype)
                got = fh.readinto(memoryview(block).cast("B"))
                if got != block.size * dtype.itemsize:
                    raise InputFileError(
                        path, f"truncated: ends at row {start + got // row_bytes} of {shape[0]}"
                    )
                yield block

    vectors = {name: VectorColumn(path.name, int(shape[1]), str(dtype), blocks)}
    return VectorSource(path, "npy", int(shape[0]), keys, kc, vectors)


def read_ids(path: str | os.PathLike, id_column: str | None = None) -> tuple[pd.DataFrame, KeyColumns]:
    """The row keys of a .npy file: a text file (one id per line), a .npy of ids, or any table
    (CSV, Parquet, FITS, ECSV) with an id column and/or ra/dec."""
    from galexplore.data.readers.catalogs import read_table

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such ids file")
    name = path.name.lower()
    try:
        if name.endswith(".npy"):
            ids = np.load(path, allow_pickle=False)
            return pd.DataFrame({"galaxy_id": ids.astype(str)}), KeyColumns("galaxy_id", None, None)
        if name.endswith(".txt"):
            lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
            return pd.DataFrame({"galaxy_id": lines}), KeyColumns("galaxy_id", None, None)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not a readable ids file ({type(exc).__name__}: {exc})") from exc
    table = read_table(path)
    try:
        kc = key_columns(list(table.columns), id_column)
    except KeyError:
        raise InputFileError(path, f"no column {id_column!r}") from None
    if not kc.names:
        raise InputFileError(path, "no id column (galaxy_id, id, name, objid, targetid …) and no ra/dec")
    return table[kc.names].reset_index(drop=True), kc


__all__ = [
    "BadRow",
    "FORMATS",
    "VectorColumn",
    "VectorSource",
    "choose_vectors",
    "detect_format",
    "open_source",
    "read_ids",
]
