"""The out-of-core map table: a run's projection joined with its survey's catalog, on disk.

:func:`galexplore.dashboard.ooc.build.build_map_table` streams the (partitioned) projection and
the catalog once, batch by batch, and writes ``RUN/cache/map_table-<key>/part-*.parquet``: one
row per projected galaxy with ``x``, ``y``, ``galaxy_id``, ``survey_row`` (its row in the
survey's arrays) and every catalog column. The rows are bucketed into vertical stripes of the
map (equal-count ranges of ``x``), so a zoomed view reads only the stripes it overlaps.
``table.json`` beside the parts holds what the dashboard needs without a pass over the data:
column kinds, the categories of each class column, colour limits, the extent, and each part's
row count and bounding box. Within a part the rows are sorted by ``y`` and cut into row groups
whose ``y`` ranges are listed too, so a view reads only the row groups of the stripes it meets
(a tile of the map).

:class:`MapTable` opens it and answers with Dask DataFrames (one partition per part) or small
pandas frames (the rows of a selection); no array of the survey's size is ever held.
A galaxy's *position* is its row in the table (parts in order), the dashboard's row number.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.paths import CATALOG, PART_GLOB, RunPaths, SurveyPaths
from galexplore.artifacts.runs import parquet_parts
from galexplore.data.store import Survey
from galexplore.errors import GalexploreError, StoreError

log = logging.getLogger(__name__)

TABLE_JSON = "table.json"
VERSION = 2


class LazySurvey(Survey):
    """A :class:`~galexplore.data.store.Survey` that never loads its catalog.

    Only the row count is checked (from the Parquet footer) and the modality arrays'
    lengths; ``catalog`` raises: the out-of-core dashboard reads catalog columns from the
    map table instead.
    """

    def _validate(self) -> None:
        import pyarrow.parquet as pq

        path = self.paths.catalog
        if not path.is_file():
            raise StoreError(f"{self.path}: missing {CATALOG}")
        rows = pq.ParquetFile(path).metadata.num_rows
        if rows != self.n_galaxies:
            raise StoreError(f"{path}: {rows} rows but survey.json says {self.n_galaxies} galaxies")
        for name in self.modalities:
            if self.array(name).shape[0] != rows:
                raise StoreError(
                    f"{self.paths.modality(name)}: {self.array(name).shape[0]} galaxies but the catalog has {rows}"
                )

    @property
    def catalog(self) -> pd.DataFrame:  # type: ignore[override]
        raise GalexploreError(f"{self.path}: the catalog is not loaded in out-of-core mode")


def source_key(survey: str | os.PathLike, run: str | os.PathLike) -> str:
    """A short hash of the inputs of a map table (paths, sizes and modification times)."""
    paths = [SurveyPaths.of(survey).catalog, *parquet_parts(RunPaths.of(run).projection)]
    text = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)
    return hashlib.blake2b(f"v{VERSION}|{text}".encode(), digest_size=8).hexdigest()


def table_path(survey: str | os.PathLike, run: str | os.PathLike) -> Path:
    """Where the map table of this survey and run lives: ``RUN/cache/map_table-<key>``."""
    return RunPaths.of(run).cache / f"map_table-{source_key(survey, run)}"


def projection_rows(run: str | os.PathLike) -> int:
    """Rows of a run's projection, from the Parquet footers (nothing else is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in parquet_parts(RunPaths.of(run).projection))


def _read_part(
    args: tuple,
    names: Sequence[str] | None = None,
    categories: dict[str, list[str]] | None = None,
    float32: Sequence[str] = (),
    rename: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Row groups of one part of the map table with their global positions (``pos``) and
    fixed categories. ``args``: (path, groups, first position of each group); groups None: all.
    ``names``: the columns (not called ``columns``: Dask's ``from_map`` would take it for a projection).
    ``float32`` columns are cast while still Arrow arrays, then columns are renamed by ``rename``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, groups, starts = args
    cols = [c for c in (names or []) if c != "pos"] or None
    f = pq.ParquetFile(path)
    table = f.read(columns=cols) if groups is None else f.read_row_groups(list(groups), columns=cols)
    for c in float32:
        table = table.set_column(table.schema.get_field_index(c), c, table.column(c).cast(pa.float32()))
    frame = table.to_pandas(split_blocks=True, self_destruct=True)  # no copy into 2-d blocks
    del table
    if names is None or "pos" in names:
        if groups is None:
            frame["pos"] = np.arange(starts[0], starts[0] + len(frame), dtype=np.int64)
        else:
            sizes = [f.metadata.row_group(g).num_rows for g in groups]
            frame["pos"] = np.concatenate(
                [np.arange(a, a + n, dtype=np.int64) for a, n in zip(starts, sizes, strict=True)]
            )
    return _shaped(frame, names, categories, rename)


def _shaped(
    frame: pd.DataFrame,
    columns: Sequence[str] | None,
    categories: dict[str, list[str]] | None,
    rename: dict[str, str] | None,
) -> pd.DataFrame:
    """``frame`` with its class columns as fixed categories, renamed, in the order of ``columns``."""
    for c, cats in (categories or {}).items():
        if c in frame.columns:
            frame[c] = pd.Categorical(frame[c].astype(str), categories=cats)
    if rename:
        frame.columns = [rename.get(c, c) for c in frame.columns]
    want = [(rename or {}).get(c, c) for c in columns] if columns is not None else None
    return frame if want is None or list(frame.columns) == want else frame[want]


class MapTable:
    """An opened map table (see :func:`build_map_table`).

    Parameters
    ----------
    path : path-like
        The table's folder (``part-*.parquet`` and ``table.json``).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self.meta: dict[str, Any] = json.loads((self.path / TABLE_JSON).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.path / TABLE_JSON}: cannot read the map table ({exc})") from exc
        self.parts = [str(p) for p in sorted(self.path.glob(PART_GLOB))]
        if len(self.parts) != len(self.meta["counts"]):
            raise StoreError(
                f"{self.path}: {len(self.parts)} parts but table.json lists {len(self.meta['counts'])}"
            )
        self.offsets = np.concatenate([[0], np.cumsum(self.meta["counts"])]).astype(np.int64)
        self.boxes = np.asarray(self.meta["boxes"], dtype=float).reshape(-1, 4)  # xmin, xmax, ymin, ymax
        self.groups = [
            np.asarray(g, dtype=float).reshape(-1, 3) for g in self.meta["groups"]
        ]  # ymin, ymax, rows

    @property
    def n(self) -> int:
        return int(self.offsets[-1])

    @cached_property
    def columns(self) -> list[str]:
        import pyarrow.parquet as pq

        return [*pq.read_schema(self.parts[0]).names, "pos"]

    @property
    def extent(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(x_min, x_max), (y_min, y_max) of the projection."""
        b = self.boxes
        return (float(b[:, 0].min()), float(b[:, 1].max())), (float(b[:, 2].min()), float(b[:, 3].max()))

    def overlapping(
        self, x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None
    ) -> list[int]:
        """Indices of the parts whose bounding box meets the view (at least one part)."""
        ok = np.ones(len(self.parts), bool)
        if x_range is not None:
            ok &= (self.boxes[:, 1] >= x_range[0]) & (self.boxes[:, 0] <= x_range[1])
        if y_range is not None:
            ok &= (self.boxes[:, 3] >= y_range[0]) & (self.boxes[:, 2] <= y_range[1])
        idx = np.flatnonzero(ok).tolist()
        return idx or [0]  # Datashader needs a frame, even one drawn nowhere

    def tiles(
        self, x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None
    ) -> list[tuple[int, tuple[int, ...]]]:
        """(part, row groups) that meet the view: the stripes it crosses, and in each the row
        groups whose y range meets it (at least one, so that there is a frame to draw)."""
        out = []
        for i in self.overlapping(x_range, y_range):
            g = self.groups[i]
            ok = (
                np.ones(len(g), bool)
                if y_range is None
                else (g[:, 1] >= y_range[0]) & (g[:, 0] <= y_range[1])
            )
            if ok.any():
                out.append((i, tuple(np.flatnonzero(ok).tolist())))
        return out or [(0, (0,))]

    def frame(
        self,
        columns: Sequence[str],
        parts: Sequence[int] | None = None,
        tiles: Sequence[tuple[int, tuple[int, ...]]] | None = None,
        *,
        float32: Sequence[str] = (),
        rename: dict[str, str] | None = None,
    ):
        """A Dask DataFrame of ``columns`` (``pos`` included on request), one partition per
        part: all parts, the given ``parts``, or only the row groups of the given ``tiles``;
        ``float32`` columns cast, columns renamed by ``rename`` (both while reading)."""
        import dask.dataframe as dd
        import pyarrow.parquet as pq

        if tiles is None:
            tiles = [(i, None) for i in (range(len(self.parts)) if parts is None else parts)]
        cats = {c: v for c, v in self.meta["categories"].items() if c in columns}
        args = []
        for i, groups in tiles:
            first = np.searchsorted(self._group_offsets, self.offsets[i])  # the part's first row group
            starts = (
                [int(self.offsets[i])]
                if groups is None
                else self._group_offsets[first + np.asarray(groups)].tolist()
            )
            args.append((self.parts[i], groups, starts))
        empty = pq.read_schema(self.parts[0]).empty_table().to_pandas()
        empty["pos"] = np.empty(0, np.int64)
        empty = empty[list(columns)].astype({c: np.float32 for c in float32})
        # positional: Dask's from_map treats a ``columns`` keyword as its own column projection
        return dd.from_map(
            _read_part,
            args,
            args=[list(columns), cats, list(float32), rename],
            meta=_shaped(empty, columns, cats, rename),
            enforce_metadata=False,
        )

    @cached_property
    def _group_offsets(self) -> np.ndarray:
        """Global position of the first row of every row group, parts in order, and the end."""
        sizes = np.concatenate([g[:, 2] for g in self.groups]).astype(np.int64)
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def rows(
        self, positions: np.ndarray, columns: Sequence[str] | None = None, *, as_categories: bool = True
    ) -> pd.DataFrame:
        """The rows at ``positions`` (int64, any order), in that order; reads only the row
        groups (a few thousand rows each) that hold them. Class columns come as the map's
        categories (strings), or with their stored types (``as_categories=False``, for export)."""
        import pyarrow.parquet as pq

        positions = np.asarray(positions, dtype=np.int64)
        cats = (
            self.meta["categories"]
            if columns is None
            else {c: v for c, v in self.meta["categories"].items() if c in columns}
        )
        cats = cats if as_categories else {}
        group = np.searchsorted(self._group_offsets, positions, side="right") - 1
        part = np.searchsorted(self.offsets, positions, side="right") - 1
        cols = [c for c in (columns or []) if c != "pos"] or None
        pieces = []
        for i in np.unique(part):
            in_part = part == i
            groups = np.unique(group[in_part])
            first = np.searchsorted(self._group_offsets, self.offsets[i])  # the part's first row group
            table = pq.ParquetFile(self.parts[i]).read_row_groups((groups - first).tolist(), columns=cols)
            sizes = self._group_offsets[groups + 1] - self._group_offsets[groups]
            start = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # of each read group in the table read
            local = (
                start[np.searchsorted(groups, group[in_part])]
                + positions[in_part]
                - self._group_offsets[group[in_part]]
            )
            frame = table.take(local).to_pandas()
            frame["pos"] = positions[in_part]
            pieces.append(frame)
        if not pieces:
            return _read_part((self.parts[0], [0], [0]), columns, cats).iloc[:0]
        out = pd.concat(pieces)
        out = out.iloc[np.argsort(np.argsort(part, kind="stable"), kind="stable")].reset_index(
            drop=True
        )  # order asked
        for c, v in cats.items():
            if c in out.columns:
                out[c] = pd.Categorical(out[c].astype(str), categories=v)
        return out[list(columns)] if columns is not None else out


__all__ = ["LazySurvey", "MapTable", "projection_rows", "source_key", "table_path"]
