"""Checks of embedding vectors and their ids, shared by every writer and reader of them.

An embedding table is usable only if its galaxy ids are unique and every vector is finite and
of the same length; an imported one must also not be all zeros (a placeholder row, not an
embedding). Each check names the first id (or row) at fault, so the one-line error tells the
user where to look. Large arrays are scanned in blocks of rows, so a check never allocates a
temporary the size of the array.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Rows scanned per block (64k rows of 1,024 float32 = 256 MB of vectors, 64 MB of flags).
BLOCK_ROWS = 1 << 16


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


def describe_row(row: int, ids: Sequence | np.ndarray | None) -> str:
    """``"galaxy 'NGC 1' (row 12)"`` when ids are known, else ``"row 12"`` (rows count from 0)."""
    if ids is not None and 0 <= row < len(ids):
        return f"galaxy {str(ids[row])!r} (row {row})"
    return f"row {row}"


__all__ = ["BLOCK_ROWS", "VectorScan", "describe_row", "duplicated_id", "first_nonfinite_row"]
