"""Vector files read whole: CSV, FITS and ECSV tables, HDF5 (see :mod:`~galexplore.importing.sources`).

- CSV: one column per dimension, or a column of bracketed lists (``"[0.1, 0.2, …]"``). Numbers
  are parsed exactly (pandas' round-trip parser) and then rounded to float32, so a float32
  written with its shortest repr comes back bit for bit.
- FITS (first table extension) and ECSV: a 2-D (vector) column per modality, or one column per
  dimension; FITS variable-length array columns are read as lists (and checked for raggedness).
- HDF5: every 2-D numeric dataset is a vector column (named after the dataset); 1-D datasets of
  the same length hold the ids (``galaxy_id``, ``id``, …) and ``ra``/``dec``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.embedding_checks import BLOCK_ROWS, BadRow
from galexplore.errors import InputFileError
from galexplore.importing.columns import VectorColumn, VectorSource, choose_vectors, key_columns


def _slices(arr: np.ndarray) -> Callable[[int], Iterator[np.ndarray]]:
    def blocks(n: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
        for start in range(0, len(arr), n):
            yield arr[start : start + n]

    return blocks


def _row_vector(value, row: int) -> np.ndarray:
    if isinstance(value, str):
        text = value.strip().strip("[]").replace(",", " ")
        return np.array([float(t) for t in text.split()], dtype=np.float64)
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        raise BadRow(row, "no vector")
    return np.asarray(value)


def _object_blocks(rows: np.ndarray) -> tuple[int, str, Callable[[int], Iterator[np.ndarray]]]:
    """Per-row vectors (arrays or bracketed strings): their length (the first row's), dtype and
    blocks; a block raises :class:`BadRow` at a missing or ragged row."""
    first = _row_vector(rows[0], 0) if len(rows) else np.empty(0)
    dim = len(first)

    def blocks(n: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
        for start in range(0, len(rows), n):
            vecs = [_row_vector(v, start + i) for i, v in enumerate(rows[start : start + n])]
            for i, vec in enumerate(vecs):
                if len(vec) != dim:
                    raise BadRow(
                        start + i, f"{len(vec)} values where the first row has {dim} (ragged lengths)"
                    )
            yield np.stack(vecs)

    return dim, str(first.dtype), blocks


def _from_frame(
    path: Path,
    fmt: str,
    columns: dict[str, np.ndarray],
    lists: dict[str, np.ndarray],
    n: int,
    *,
    id_column,
    requests,
) -> VectorSource:
    """A source from in-memory columns: ``columns`` 1-D (name → (N,)), ``lists`` vector-like."""
    scalars = [c for c, v in columns.items() if v.dtype.kind in "fiu"]
    kc = key_columns(list(columns), id_column)
    chosen = choose_vectors(path, lists, scalars, requests, kc)
    vectors = {}
    for name, (kind, what) in chosen.items():
        if kind == "list":
            arr = lists[what]
            if arr.dtype == object or arr.ndim != 2:
                vectors[name] = VectorColumn(what, *_object_blocks(arr))
            else:
                vectors[name] = VectorColumn(what, int(arr.shape[1]), str(arr.dtype), _slices(arr))
        else:
            arr = np.column_stack([columns[c] for c in what])
            vectors[name] = VectorColumn(
                what[0].rstrip("0123456789") + "*", len(what), str(arr.dtype), _slices(arr)
            )
    keys = pd.DataFrame({c: columns[c] for c in kc.names}, index=pd.RangeIndex(n))
    return VectorSource(path, fmt, n, keys, kc, vectors)


def csv(path: Path, *, id_column, requests, ids_file) -> VectorSource:
    sep = "\t" if path.name.lower().endswith(".tsv") else ","
    # pandas < 3 parses floats exactly only with "round_trip"; pandas 3 does by default (and deprecates it)
    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    df = pd.read_csv(path, sep=sep, low_memory=False, **exact)
    df.columns = [str(c) for c in df.columns]
    lists = {}
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c].dtype):
            first = df[c].dropna()
            if len(first) and str(first.iloc[0]).lstrip().startswith("["):
                lists[c] = df[c].to_numpy(dtype=object)
    columns = {c: df[c].to_numpy() for c in df.columns if c not in lists}
    return _from_frame(path, "csv", columns, lists, len(df), id_column=id_column, requests=requests)


def _astropy_columns(table) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    columns, lists = {}, {}
    for name in table.colnames:
        col = table[name]
        values = col.filled(np.nan) if hasattr(col, "filled") and col.dtype.kind == "f" else col
        values = np.asarray(values)
        if values.dtype.byteorder not in ("=", "|"):
            values = values.astype(
                values.dtype.newbyteorder("=")
            )  # a byte swap: values unchanged, bit for bit
        if values.dtype.kind == "S":
            values = np.char.decode(values, "utf-8", "replace")
        if values.ndim == 2 or values.dtype == object:
            lists[name] = values
        elif values.ndim == 1:
            columns[name] = np.char.strip(values).astype(object) if values.dtype.kind == "U" else values
    return columns, lists


def fits(path: Path, *, id_column, requests, ids_file) -> VectorSource:
    from astropy.table import Table

    from galexplore.data.readers import fits_utils as fu

    with fu.open_fits(path) as hdul:
        hdu = next((h for h in hdul if h.is_image is False), None)
        if hdu is None:
            raise InputFileError(path, "no table extension in the FITS file")
        table = Table.read(hdu)
    columns, lists = _astropy_columns(table)
    return _from_frame(path, "fits", columns, lists, len(table), id_column=id_column, requests=requests)


def ecsv(path: Path, *, id_column, requests, ids_file) -> VectorSource:
    from astropy.table import Table

    table = Table.read(path, format="ascii.ecsv")
    columns, lists = _astropy_columns(table)
    return _from_frame(path, "ecsv", columns, lists, len(table), id_column=id_column, requests=requests)


def hdf5(path: Path, *, id_column, requests, ids_file) -> VectorSource:
    import h5py

    found: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(
            lambda key, obj: found.__setitem__(key, obj[()]) if isinstance(obj, h5py.Dataset) else None
        )
    lists = {k: v for k, v in found.items() if v.ndim == 2 and v.dtype.kind in "fiu"}
    if not lists and not requests:
        raise InputFileError(path, "no 2-D numeric dataset (N, D) of vectors")
    n = len(next(iter(lists.values()))) if lists else 0
    columns = {}
    for key, v in found.items():
        if v.ndim == 1 and len(v) == n:
            if v.dtype.kind in "SO":
                v = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in v], dtype=object)
            columns[key.rsplit("/", 1)[-1]] = v
    for key, v in lists.items():
        if len(v) != n:
            raise InputFileError(path, f"dataset {key} has {len(v)} rows where {next(iter(lists))} has {n}")
    return _from_frame(path, "hdf5", columns, lists, n, id_column=id_column, requests=requests)


__all__ = ["csv", "ecsv", "fits", "hdf5"]
