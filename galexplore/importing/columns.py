"""Which columns of an imported table hold the ids, the sky positions and the vectors.

Vectors come either as one column per vector (a list, fixed-size list or 2-D column) or as one
column per dimension (``z0 … z63``, ``emb_0 … emb_1023``). Each vector column becomes one
modality of the run, named after the column: ``image_embedding`` → ``image``, ``emb_spectra``
→ ``spectra`` (so AstroCLIP's image and spectrum vectors become ``emb_image`` and
``emb_spectrum`` and can be searched across). A name given as ``COL=NAME`` sets it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.data.readers.catalogs import ALIASES, ID_ALIASES
from galexplore.errors import InputFileError

#: One-column-per-dimension groups need at least this many columns to be taken without being
#: named (so that ``w1 … w4`` WISE fluxes are not mistaken for a vector).
MIN_AUTO_DIMS = 8
_SUFFIXES = ("_embeddings", "_embedding", "_emb", "_vectors", "_vector", "_vec", "_features")
_DIGITS = re.compile(r"^(?P<prefix>.*?)(?P<index>\d+)$")


def modality_name(column: str) -> str:
    """The modality a vector column (or HDF5 dataset: its last path part) becomes (see module doc)."""
    name = re.sub(r"[^0-9a-z_]+", "_", column.strip().rsplit("/", 1)[-1].lower()).strip("_")
    if name.startswith("emb_"):
        name = name[4:]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name.strip("_") or "embedding"


def parse_request(spec: str) -> tuple[str, str | None]:
    """``"COL"`` → (COL, None); ``"COL=NAME"`` → (COL, NAME)."""
    column, _, name = spec.partition("=")
    return column.strip(), (modality_name(name) if name.strip() else None)


@dataclass(frozen=True)
class KeyColumns:
    """The columns that identify rows: an id column and/or ra/dec (any may be None)."""

    id: str | None
    ra: str | None
    dec: str | None

    @property
    def names(self) -> list[str]:
        return [c for c in (self.id, self.ra, self.dec) if c is not None]


def key_columns(columns: Sequence[str], id_column: str | None = None) -> KeyColumns:
    """Find the id and ra/dec columns among ``columns`` (case-insensitive common names)."""
    lower = {c.lower(): c for c in columns}
    if id_column is not None:
        if id_column not in columns:
            raise KeyError(id_column)
        idc = id_column
    else:
        idc = next((lower[a] for a in ID_ALIASES if a in lower), None)
    ra = next((lower[a] for a in ALIASES["ra"] if a in lower), None)
    dec = next((lower[a] for a in ALIASES["dec"] if a in lower), None)
    return KeyColumns(idc, ra, dec)


def dimension_groups(columns: Iterable[str], *, exclude: Iterable[str] = ()) -> dict[str, list[str]]:
    """Columns named ``<prefix><i>`` with i = 0…D−1 (or 1…D), as prefix → columns in index order.

    Only groups whose indices are contiguous qualify; the prefix keeps its separator
    (``emb_``), so ``emb_3`` and ``emb3`` are different groups.
    """
    skip = set(exclude)
    found: dict[str, dict[int, str]] = {}
    for col in columns:
        m = _DIGITS.match(col)
        if m and col not in skip:
            found.setdefault(m["prefix"], {})[int(m["index"])] = col
    groups = {}
    for prefix, by_index in found.items():
        idx = sorted(by_index)
        if len(idx) >= 2 and idx[0] in (0, 1) and idx[-1] - idx[0] == len(idx) - 1:
            groups[prefix] = [by_index[i] for i in idx]
    return groups


def group_name(prefix: str) -> str:
    """Modality name of a one-column-per-dimension group (its prefix without the separator)."""
    return modality_name(prefix.rstrip("_-. ")) if prefix.strip("_-. ") else "embedding"


@dataclass
class VectorColumn:
    """One vector column of the file: ``blocks(n)`` yields its rows in order, ≤ n at a time,
    as (rows, ``dim``) arrays of the file's dtype."""

    column: str
    dim: int
    dtype: str
    blocks: Callable[[int], Iterator[np.ndarray]]


@dataclass
class VectorSource:
    """What :func:`open_source` found in a file."""

    path: Path
    format: str
    n_rows: int
    keys: pd.DataFrame
    key_columns: KeyColumns
    vectors: dict[str, VectorColumn]


def choose_vectors(
    path: Path, lists: Mapping[str, object], scalars: Sequence[str], requests: Sequence[str], keys: KeyColumns
) -> dict[str, tuple[str, object]]:
    """Modality → ("list", column) or ("group", [columns]) from the requested or found columns."""
    groups = dimension_groups(scalars, exclude=keys.names)
    chosen: dict[str, tuple[str, object]] = {}

    def add(name: str, how: tuple[str, object], label: str) -> None:
        if name in chosen:
            raise InputFileError(
                path,
                f"two vector columns would both become modality {name!r} ({label}); name one with COL=NAME",
            )
        chosen[name] = how

    if requests:
        for spec in requests:
            col, name = parse_request(spec)
            prefix = next((p for p in groups if col in (p, p.rstrip("_-. "))), None)
            if col in lists:
                add(name or modality_name(col), ("list", col), col)
            elif prefix is not None:
                add(name or group_name(prefix), ("group", groups[prefix]), col)
            elif col in scalars:
                raise InputFileError(path, f"column {col!r} holds one number per row, not a vector")
            else:
                have = sorted(lists) + [p + "0…" for p in groups]
                raise InputFileError(
                    path, f"no vector column {col!r} (vector columns: {', '.join(have) or 'none'})"
                )
        return chosen
    for col in lists:
        add(modality_name(col), ("list", col), col)
    if not chosen:
        for prefix, cols in groups.items():
            if len(cols) >= MIN_AUTO_DIMS:
                add(group_name(prefix), ("group", cols), prefix + "0…")
    if not chosen:
        raise InputFileError(
            path,
            "no vector column found (a list column, or one column per dimension such as "
            "z0 … z63); name it with --vector-column",
        )
    return chosen


__all__ = [
    "VectorColumn",
    "VectorSource",
    "choose_vectors",
    "KeyColumns",
    "MIN_AUTO_DIMS",
    "dimension_groups",
    "group_name",
    "key_columns",
    "modality_name",
    "parse_request",
]
