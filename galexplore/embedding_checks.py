"""Checks of embedding vectors and their ids, shared by every writer and reader of them.

An embedding table is usable only if its galaxy ids are unique and every vector is finite and
of the same length; an imported one must also not be all zeros (a placeholder row, not an
embedding). Each check names the first id (or row) at fault, so the one-line error tells the
user where to look. Large arrays are scanned in blocks of rows, so a check never allocates a
temporary the size of the array, and Parquet vector columns are read through a small buffer in
batches of a few tens of MB (:func:`parquet_vector_blocks`), so reading never holds a whole row
group's pages, levels and values at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Rows scanned per block (64k rows of 1,024 float32 = 256 MB of vectors, 64 MB of flags).
BLOCK_ROWS = 1 << 16
#: Bytes of vectors per block when streaming a file (32 MB: 8,192 rows of 1,024 float32).
BLOCK_BYTES = 1 << 25
#: Read buffer of a streamed Parquet file (bytes).
PARQUET_BUFFER = 1 << 23


class BadRow(Exception):
    """A vector column is broken at one row (no vector, or a length other than the first row's)."""

    def __init__(self, row: int, what: str) -> None:
        super().__init__(f"row {row}: {what}")
        self.row, self.what = row, what


def block_rows(dim: int, itemsize: int = 4) -> int:
    """Rows per streamed block for vectors of ``dim`` values: about :data:`BLOCK_BYTES`,
    between 1,024 and :data:`BLOCK_ROWS` rows."""
    return int(min(BLOCK_ROWS, max(1024, BLOCK_BYTES // max(1, dim * itemsize))))


def duplicated_id(ids: Sequence | npt.ArrayLike) -> str | None:
    """The first id that occurs twice (in order of its second occurrence), or None."""
    s = pd.Series(np.asarray(ids, dtype=object))
    dup = s.duplicated(keep="first").to_numpy()
    return str(s.iloc[int(np.argmax(dup))]) if dup.any() else None


@dataclass
class VectorScan:
    """Scan an (N, D) array block by block for the first non-finite and the first all-zero row.

    Feed blocks in order with :meth:`update`; the attributes then hold the first bad row
    positions (−1 where there is none).
    """

    first_nonfinite: int = -1
    first_all_zero: int = -1
    _rows: int = field(default=0, repr=False)

    def update(self, block: np.ndarray) -> None:
        """Scan the next ``len(block)`` rows (``block`` is (n, D))."""
        if self.first_nonfinite < 0:
            bad = ~np.isfinite(block).all(axis=1)
            if bad.any():
                self.first_nonfinite = self._rows + int(np.argmax(bad))
        if self.first_all_zero < 0:
            zero = ~block.any(axis=1)
            if zero.any():
                self.first_all_zero = self._rows + int(np.argmax(zero))
        self._rows += len(block)

    @classmethod
    def of(cls, arr: np.ndarray, *, block_rows: int = BLOCK_ROWS) -> VectorScan:
        """Scan a whole (N, D) array."""
        scan = cls()
        for start in range(0, len(arr), block_rows):
            scan.update(arr[start : start + block_rows])
        return scan


def first_nonfinite_row(arr: np.ndarray, *, block_rows: int = BLOCK_ROWS) -> int:
    """Position of the first row of ``arr`` (N, D) holding NaN or ±inf, −1 if none."""
    for start in range(0, len(arr), block_rows):
        bad = ~np.isfinite(arr[start : start + block_rows]).all(axis=1)
        if bad.any():
            return start + int(np.argmax(bad))
    return -1


def is_list_type(t) -> bool:
    """Whether an Arrow type is a list, large list or fixed-size list."""
    import pyarrow as pa

    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def list_values(col, start: int, dim: int) -> np.ndarray:
    """An Arrow list array (rows ``start`` … of its file) as its (rows, ``dim``) values, without a
    copy where Arrow allows; :class:`BadRow` at the first row without a vector or of another length."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count:
        raise BadRow(
            start + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0]), "no vector"
        )
    if not pa.types.is_fixed_size_list(col.type):
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        if (lengths != dim).any():
            row = int(np.argmax(lengths != dim))
            raise BadRow(
                start + row, f"{int(lengths[row])} values where the first row has {dim} (ragged lengths)"
            )
    return col.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)


def open_parquet(path: str | Path):
    """A ``pyarrow.parquet.ParquetFile`` read through a :data:`PARQUET_BUFFER` buffer: batches
    are decoded page by page instead of loading each whole column chunk first."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, buffer_size=PARQUET_BUFFER, pre_buffer=False)


def parquet_vector_blocks(
    pf, column: str, dim: int | None, rows: int, *, first_row: int = 0
) -> Iterator[np.ndarray]:
    """The list column ``column`` of the ParquetFile ``pf`` (from :func:`open_parquet`) in
    blocks of ≤ ``rows`` rows, each (rows, D) of the file's value type; D is ``dim``, or the
    first row's length when None. Raises :class:`BadRow` at a row without a vector or of
    another length (rows counted from ``first_row``, the position of the file's first row)."""
    start = first_row
    for batch in pf.iter_batches(batch_size=rows, columns=[column], use_threads=False):
        col = batch.column(0)
        if dim is None and len(col):
            if not col[0].is_valid:
                raise BadRow(start, "no vector")
            dim = len(col[0].values)
        block = list_values(col, start, dim)
        start += len(block)
        yield block


def describe_row(row: int, ids: Sequence | np.ndarray | None, first: int = 0) -> str:
    """``"galaxy 'NGC 1' (row 12)"`` when ids are known, else ``"row 12"`` (rows count from 0;
    ``ids`` are those of rows ``first`` …)."""
    if ids is not None and 0 <= row - first < len(ids):
        return f"galaxy {str(ids[row - first])!r} (row {row})"
    return f"row {row}"


__all__ = [
    "BLOCK_BYTES",
    "BLOCK_ROWS",
    "BadRow",
    "VectorScan",
    "block_rows",
    "describe_row",
    "duplicated_id",
    "first_nonfinite_row",
    "is_list_type",
    "list_values",
    "open_parquet",
    "parquet_vector_blocks",
]
