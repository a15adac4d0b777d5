"""Catalog rows as a short URL-safe text: the explicit id list of a shared link.

Rows are written as the differences between consecutive rows (zig-zag coded, so any order
survives), each as a variable-length integer (7 bits a byte), compressed with zlib and
written in URL-safe base64 without padding. A sorted selection of neighbouring galaxies
(differences of 1: long runs of equal bytes) compresses to a few bytes per thousand rows;
a scattered one costs about 1–2 bytes per row. Everything is vectorised: no Python loop
over rows.
"""

from __future__ import annotations

import base64
import binascii
import zlib

import numpy as np
import numpy.typing as npt

from galexplore.errors import GalexploreError

#: Longest encoded text written into a link (characters); larger selections are not linked.
MAX_CHARS = 8000
#: Most 7-bit groups of one value (int64 zig-zag needs at most 10).
_GROUPS = 10


def _varints(values: np.ndarray) -> bytes:
    """Unsigned integers (uint64) as LEB128 bytes."""
    groups = (values[:, None] >> (7 * np.arange(_GROUPS, dtype=np.uint64))) & np.uint64(0x7F)
    bits = np.zeros(len(values), dtype=np.int64)
    v = values.copy()
    while v.any():  # ≤ 64 passes over the array: the bit length of each value
        bits += v > 0
        v >>= np.uint64(1)
    n = np.maximum(1, -(-bits // 7))  # bytes per value
    col = np.arange(_GROUPS)
    out = groups.astype(np.uint8) | np.where(col < (n - 1)[:, None], 0x80, 0).astype(np.uint8)
    return out[col < n[:, None]].tobytes()


def _from_varints(raw: bytes) -> np.ndarray:
    """LEB128 bytes back to uint64 values; raises GalexploreError if truncated or too long."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if b.size == 0:
        return np.empty(0, np.uint64)
    ends = (b & 0x80) == 0
    if not ends[-1]:
        raise GalexploreError("row list is truncated")
    value = np.concatenate([[0], np.cumsum(ends)[:-1]])  # which value each byte belongs to
    starts = np.flatnonzero(np.concatenate([[True], ends[:-1]]))
    shift = np.arange(b.size) - starts[value]
    if shift.max() >= _GROUPS:
        raise GalexploreError("row list has a value that is too large")
    parts = (b & 0x7F).astype(np.uint64) << (7 * shift).astype(np.uint64)
    return np.add.reduceat(parts, starts)


def encode_rows(rows: npt.ArrayLike) -> str:
    """Catalog rows (int, any order, ≥ 0) as URL-safe text; '' for no rows.

    Parameters
    ----------
    rows : array_like of int, shape (n,)
        Catalog rows, in the order to keep.

    Returns
    -------
    str
        Text for :func:`decode_rows` (may be longer than :data:`MAX_CHARS`: the caller decides).
    """
    r = np.asarray(rows, dtype=np.int64).ravel()
    if r.size == 0:
        return ""
    d = np.diff(r, prepend=np.int64(0))
    zigzag = ((d << 1) ^ (d >> 63)).astype(np.uint64)
    packed = zlib.compress(_varints(zigzag), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_rows(text: object, n: int) -> np.ndarray:
    """Rows of :func:`encode_rows` (int64, order kept), validated against a catalog of ``n`` rows.

    Raises
    ------
    GalexploreError
        If the text is not an encoded row list, is longer than :data:`MAX_CHARS`, or names a
        row outside ``0 … n−1``.
    """
    if not isinstance(text, str) or not text:
        raise GalexploreError("empty row list")
    if len(text) > MAX_CHARS:
        raise GalexploreError(f"row list is longer than {MAX_CHARS} characters")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflate = zlib.decompressobj()
        raw = inflate.decompress(packed, 10 * max(n, 1) + 16)  # at most 10 bytes per row: no zip bomb
    except (binascii.Error, ValueError, zlib.error):
        raise GalexploreError("not an encoded row list") from None
    if inflate.unconsumed_tail or not inflate.eof:
        raise GalexploreError("row list is truncated or longer than the catalog")
    z = _from_varints(raw)
    d = (z >> np.uint64(1)).astype(np.int64) ^ -(z & np.uint64(1)).astype(np.int64)
    rows = np.cumsum(d)
    if rows.size > n or (rows.size and (rows.min() < 0 or rows.max() >= n)):
        raise GalexploreError(f"row list names rows outside the catalog's {n}")
    return rows
