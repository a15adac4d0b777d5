"""The out-of-core map table: a run's projection joined with its survey's catalog, on disk.

:func:`build_map_table` streams the (partitioned) projection and the catalog once, batch by
batch, and writes ``RUN/cache/map_table-<key>/part-*.parquet``: one row per projected galaxy
with ``x``, ``y``, ``galaxy_id``, ``survey_row`` (its row in the survey's arrays) and every
catalog column. The rows are bucketed into vertical stripes of the map (equal-count ranges of
``x``), so a zoomed view reads only the stripes it overlaps. ``table.json`` beside the parts
holds what the dashboard needs without a pass over the data: column kinds, the categories of
each class column, colour limits, the extent, and each part's row count and bounding box. Within a part the rows are sorted by
``y`` and cut into row groups whose ``y`` ranges are listed too, so a view reads only the row
groups of the stripes it meets (a tile of the map).

:class:`MapTable` opens it and answers with Dask DataFrames (one partition per part) or small
pandas frames (the rows of a selection); no array of the survey's size is ever held.
A galaxy's *position* is its row in the table (parts in order), the dashboard's row number.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore._io import atomic_directory
from galexplore.data.columns import categorical_columns, numeric_columns
from galexplore.data.store import CATALOG, Survey
from galexplore.errors import GalexploreError, StoreError
from galexplore.progress import ProgressCallback, report
from galexplore.runs import RunPaths, parquet_parts

log = logging.getLogger(__name__)

TABLE_JSON = "table.json"
VERSION = 2
#: Rows per stripe (part) of the map table.
ROWS_PER_PART = 1_000_000
#: Rows a stripe buffers before it writes a row group (bounds the build's memory).
FLUSH_ROWS = 16_384
#: Rows per row group of a finished part (sorted by y: a view reads the groups it meets).
GROUP_ROWS = 16_384
#: Values per numeric column kept (uniformly at random) to estimate the colour limits.
LIMIT_SAMPLE = 200_000
#: Bins of the x histogram that places the stripe edges.
EDGE_BINS = 8192
#: Catalog rows read at a time while building.
BATCH_ROWS = 262_144
#: Streaming reads: no read-ahead of whole files (pyarrow's pre-buffering keeps every row
#: group it has read in memory until the file is closed: ~100 bytes a galaxy at 10⁷).
STREAM = {"pre_buffer": False, "buffer_size": 1 << 22}


class LazySurvey(Survey):
    """A :class:`~galexplore.data.store.Survey` that never loads its catalog.

    Only the row count is checked (from the Parquet footer) and the modality arrays'
    lengths; ``catalog`` raises: the out-of-core dashboard reads catalog columns from the
    map table instead.
    """

    def _validate(self) -> None:
        import pyarrow.parquet as pq

        path = self.path / CATALOG
        if not path.is_file():
            raise StoreError(f"{self.path}: missing {CATALOG}")
        rows = pq.ParquetFile(path).metadata.num_rows
        if rows != self.n_galaxies:
            raise StoreError(f"{path}: {rows} rows but survey.json says {self.n_galaxies} galaxies")
        for name in self.modalities:
            if self.array(name).shape[0] != rows:
                raise StoreError(f"{self.path / (name + '.zarr')}: {self.array(name).shape[0]} galaxies but the catalog has {rows}")

    @property
    def catalog(self) -> pd.DataFrame:  # type: ignore[override]
        raise GalexploreError(f"{self.path}: the catalog is not loaded in out-of-core mode")


def source_key(survey: str | os.PathLike, run: str | os.PathLike) -> str:
    """A short hash of the inputs of a map table (paths, sizes and modification times)."""
    paths = [Path(survey) / CATALOG, *parquet_parts(RunPaths.of(run).projection)]
    text = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)
    return hashlib.blake2b(f"v{VERSION}|{text}".encode(), digest_size=8).hexdigest()


def table_path(survey: str | os.PathLike, run: str | os.PathLike) -> Path:
    """Where the map table of this survey and run lives: ``RUN/cache/map_table-<key>``."""
    return Path(run) / "cache" / f"map_table-{source_key(survey, run)}"


def projection_rows(run: str | os.PathLike) -> int:
    """Rows of a run's projection, from the Parquet footers (nothing else is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in parquet_parts(RunPaths.of(run).projection))


def _projection_batches(run: Path) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for part in parquet_parts(RunPaths.of(run).projection):
        for batch in pq.ParquetFile(part, **STREAM).iter_batches(batch_size=BATCH_ROWS, columns=["galaxy_id", "x", "y"]):
            yield batch.to_pandas()


def _stripe_edges(run: Path, n_stripes: int) -> np.ndarray:
    """Inner x edges (n_stripes − 1,) splitting the projection into equal-count stripes,
    from a histogram of x (two passes over the x column, memory independent of N)."""
    import pyarrow.parquet as pq

    parts = parquet_parts(RunPaths.of(run).projection)

    def xs() -> Iterator[np.ndarray]:
        for p in parts:
            for b in pq.ParquetFile(p, **STREAM).iter_batches(batch_size=BATCH_ROWS, columns=["x"]):
                x = b.column(0).to_numpy(zero_copy_only=False)
                yield x[np.isfinite(x)]

    lo, hi = np.inf, -np.inf
    for x in xs():
        if x.size:
            lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
    if n_stripes <= 1 or not hi > lo:
        return np.empty(0)
    bins = np.linspace(lo, hi, EDGE_BINS + 1)
    hist = np.zeros(EDGE_BINS, np.int64)
    for x in xs():
        hist += np.histogram(x, bins=bins)[0]
    cum = np.cumsum(hist)
    targets = cum[-1] * np.arange(1, n_stripes) / n_stripes
    return np.unique(bins[1:][np.searchsorted(cum, targets)])


def _catalog_batches(survey: Survey, columns: list[str]) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(survey.path / CATALOG, **STREAM).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        yield batch.to_pandas()


def _aligned(run: Path, survey: Survey, columns: list[str]) -> Iterator[pd.DataFrame]:
    """Projection batches joined with the same catalog rows (the projection must list the
    survey's galaxies in survey order, as ``galexplore embed``/``project`` write them)."""
    cat_iter = _catalog_batches(survey, columns)
    buf, start = pd.DataFrame(), 0
    for proj in _projection_batches(run):
        while len(buf) < len(proj):
            nxt = next(cat_iter, None)
            if nxt is None:
                raise GalexploreError(f"{RunPaths.of(run).projection}: more galaxies than survey {survey.path}")
            buf = pd.concat([buf, nxt], ignore_index=True) if len(buf) else nxt
        cat, buf = buf.iloc[: len(proj)].reset_index(drop=True), buf.iloc[len(proj) :].reset_index(drop=True)
        ids = proj["galaxy_id"].astype(str).to_numpy()
        if not np.array_equal(ids, cat["galaxy_id"].astype(str).to_numpy()):
            raise GalexploreError(
                f"{RunPaths.of(run).projection}: galaxies are not in the survey's order (from row {start}); "
                "out-of-core mode needs a projection of the whole survey in survey order: serve it in memory")
        out = cat.drop(columns="galaxy_id")
        out.insert(0, "survey_row", np.arange(start, start + len(proj), dtype=np.int64))
        out.insert(0, "y", proj["y"].to_numpy(np.float32))
        out.insert(0, "x", proj["x"].to_numpy(np.float32))
        out.insert(0, "galaxy_id", ids.astype(object))
        start += len(proj)
        yield out


class _Stripes:
    """Per-stripe Parquet writers with small buffers, and the running statistics of the table."""

    def __init__(self, folder: Path, edges: np.ndarray, numeric: list[str], categorical: list[str], rate: float,
                 seed: int = 0) -> None:
        self.folder, self.edges, self.numeric, self.categorical, self.rate = folder, edges, numeric, categorical, rate
        self.rng = np.random.default_rng(seed)
        self.buffers: list[list[pd.DataFrame]] = [[] for _ in range(len(edges) + 1)]
        self.writers: list[Any] = [None] * (len(edges) + 1)
        self.counts = np.zeros(len(edges) + 1, np.int64)
        self.boxes = np.tile([np.inf, -np.inf, np.inf, -np.inf], (len(edges) + 1, 1))
        self.samples: list[pd.DataFrame] = []
        self.categories: dict[str, set[str]] = {c: set() for c in categorical}
        self.schema = None

    def add(self, frame: pd.DataFrame) -> None:
        for c in self.categorical:
            self.categories[c].update(frame[c].astype(str).unique().tolist())
        if self.numeric:
            keep = self.rng.random(len(frame)) < self.rate
            self.samples.append(frame.loc[keep, self.numeric].astype(np.float64))
        stripe = np.searchsorted(self.edges, frame["x"].to_numpy(), side="right")
        for s in np.unique(stripe):
            part = frame[stripe == s]
            self.buffers[s].append(part)
            x, y = part["x"].to_numpy(), part["y"].to_numpy()
            self.boxes[s] = [min(self.boxes[s][0], np.nanmin(x)), max(self.boxes[s][1], np.nanmax(x)),
                             min(self.boxes[s][2], np.nanmin(y)), max(self.boxes[s][3], np.nanmax(y))]
            self.counts[s] += len(part)
            if sum(len(b) for b in self.buffers[s]) >= FLUSH_ROWS:
                self.flush(s)

    def flush(self, s: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.buffers[s]:
            return
        table = pa.Table.from_pandas(pd.concat(self.buffers[s], ignore_index=True), preserve_index=False)
        if self.schema is None:
            self.schema = table.schema
        table = table.cast(self.schema)
        if self.writers[s] is None:
            self.writers[s] = pq.ParquetWriter(self.folder / f"part-{s:05d}.parquet", self.schema)
        self.writers[s].write_table(table)
        self.buffers[s] = []

    def close(self) -> list[int]:
        """Flush and close every stripe; the indices of the non-empty ones."""
        for s in range(len(self.buffers)):
            self.flush(s)
        for w in self.writers:
            if w is not None:
                w.close()
        return [s for s in range(len(self.writers)) if self.writers[s] is not None]


def _limits(sample: pd.DataFrame, columns: list[str]) -> dict[str, list[float] | None]:
    from galexplore.dashboard.embedding_map import robust_limits

    out = {}
    for c in columns:
        lim = robust_limits(sample[c].to_numpy()) if c in sample else None
        out[c] = list(lim) if lim is not None else None
    return out


def build_map_table(survey: str | os.PathLike | Survey, run: str | os.PathLike, *,
                    rows_per_part: int = ROWS_PER_PART, progress: ProgressCallback | None = None) -> Path:
    """Write the map table of a survey and a run (see the module docstring); return its folder.

    An existing table for the same inputs is reused. Memory stays bounded by a few batches
    and the stripes' buffers, whatever the survey's size.

    Raises
    ------
    GalexploreError
        If the projection does not list the survey's galaxies in survey order.
    """
    import pyarrow.parquet as pq

    survey = survey if isinstance(survey, Survey) else LazySurvey(survey)
    run = Path(run)
    target = table_path(survey.path, run)
    if (target / TABLE_JSON).is_file():
        return target
    n = projection_rows(run)
    schema = pq.read_schema(survey.path / CATALOG)
    columns = [c for c in schema.names if not c.startswith("__index")]
    if "galaxy_id" not in columns:
        raise StoreError(f"{survey.path / CATALOG}: catalog has no 'galaxy_id' column")
    head = next(_catalog_batches(survey, columns))
    numeric = [c for c in numeric_columns(head) if c not in ("x", "y")]
    categorical = [c for c in categorical_columns(head) if c not in numeric]
    edges = _stripe_edges(run, max(1, -(-n // rows_per_part)))
    target.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    with atomic_directory(target) as tmp:
        stripes = _Stripes(tmp, edges, numeric, categorical, min(1.0, LIMIT_SAMPLE / max(n, 1)))
        for frame in _aligned(run, survey, columns):
            stripes.add(frame)
            done += len(frame)
            report(progress, done, n, "map table")
        kept = stripes.close()
        groups = []
        for new, s in enumerate(kept):  # consecutive part numbers: a part is a Dask partition
            os.replace(tmp / f"part-{s:05d}.parquet", tmp / f"part-{new:05d}.parquet")
            groups.append(_sort_by_y(tmp / f"part-{new:05d}.parquet"))
        sample = pd.concat(stripes.samples, ignore_index=True) if stripes.samples else pd.DataFrame()
        from galexplore.dashboard.embedding_map import _category_order

        meta = {
            "version": VERSION, "n": int(done), "survey": str(survey.path.resolve()), "run": str(run.resolve()),
            "numeric": numeric, "categorical": categorical,
            "categories": {c: sorted(v, key=_category_order) for c, v in stripes.categories.items()},
            "limits": _limits(sample, numeric),
            "ranges": {c: [float(np.nanmin(sample[c])), float(np.nanmax(sample[c]))] if sample[c].notna().any() else None
                       for c in numeric},
            "counts": stripes.counts[kept].tolist(), "boxes": stripes.boxes[kept].tolist(), "groups": groups,
        }  # fmt: skip
        (tmp / TABLE_JSON).write_text(json.dumps(meta, indent=1))
    log.info("map table: %d galaxies in %d parts at %s", done, len(kept), target)
    return target


def _sort_by_y(path: Path) -> list[list[float]]:
    """Rewrite one part sorted by y in row groups of :data:`GROUP_ROWS`; their
    [y_min, y_max, rows] (one part in memory at a time)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    table = table.take(np.argsort(table.column("y").to_numpy(), kind="stable"))  # NaN last
    pq.write_table(table, path, row_group_size=GROUP_ROWS)
    y = table.column("y").to_numpy()
    out = []
    for lo in range(0, len(y), GROUP_ROWS):
        chunk = y[lo : lo + GROUP_ROWS]
        finite = chunk[np.isfinite(chunk)]
        bounds = [float(finite.min()), float(finite.max())] if finite.size else [np.inf, -np.inf]
        out.append([*bounds, len(chunk)])
    return out


def _read_part(args: tuple, columns: Sequence[str] | None = None,
               categories: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Row groups of one part of the map table with their global positions (``pos``) and
    fixed categories. ``args``: (path, groups, first position of each group); groups None: all."""
    import pyarrow.parquet as pq

    path, groups, starts = args
    cols = [c for c in (columns or []) if c != "pos"] or None
    f = pq.ParquetFile(path)
    table = f.read(columns=cols) if groups is None else f.read_row_groups(list(groups), columns=cols)
    frame = table.to_pandas(split_blocks=True, self_destruct=True)  # no copy into 2-d blocks
    del table
    if columns is None or "pos" in columns:
        if groups is None:
            frame["pos"] = np.arange(starts[0], starts[0] + len(frame), dtype=np.int64)
        else:
            sizes = [f.metadata.row_group(g).num_rows for g in groups]
            frame["pos"] = np.concatenate([np.arange(a, a + n, dtype=np.int64) for a, n in zip(starts, sizes, strict=True)])
    for c, cats in (categories or {}).items():
        if c in frame.columns:
            frame[c] = pd.Categorical(frame[c].astype(str), categories=cats)
    return frame if columns is None or list(frame.columns) == list(columns) else frame[list(columns)]


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
        self.parts = [str(p) for p in sorted(self.path.glob("part-*.parquet"))]
        if len(self.parts) != len(self.meta["counts"]):
            raise StoreError(f"{self.path}: {len(self.parts)} parts but table.json lists {len(self.meta['counts'])}")
        self.offsets = np.concatenate([[0], np.cumsum(self.meta["counts"])]).astype(np.int64)
        self.boxes = np.asarray(self.meta["boxes"], dtype=float).reshape(-1, 4)  # xmin, xmax, ymin, ymax
        self.groups = [np.asarray(g, dtype=float).reshape(-1, 3) for g in self.meta["groups"]]  # ymin, ymax, rows

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

    def overlapping(self, x_range: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None) -> list[int]:
        """Indices of the parts whose bounding box meets the view (at least one part)."""
        ok = np.ones(len(self.parts), bool)
        if x_range is not None:
            ok &= (self.boxes[:, 1] >= x_range[0]) & (self.boxes[:, 0] <= x_range[1])
        if y_range is not None:
            ok &= (self.boxes[:, 3] >= y_range[0]) & (self.boxes[:, 2] <= y_range[1])
        idx = np.flatnonzero(ok).tolist()
        return idx or [0]  # Datashader needs a frame, even one drawn nowhere

    def tiles(self, x_range: tuple[float, float] | None = None,
              y_range: tuple[float, float] | None = None) -> list[tuple[int, tuple[int, ...]]]:
        """(part, row groups) that meet the view: the stripes it crosses, and in each the row
        groups whose y range meets it (at least one, so that there is a frame to draw)."""
        out = []
        for i in self.overlapping(x_range, y_range):
            g = self.groups[i]
            ok = np.ones(len(g), bool) if y_range is None else (g[:, 1] >= y_range[0]) & (g[:, 0] <= y_range[1])
            if ok.any():
                out.append((i, tuple(np.flatnonzero(ok).tolist())))
        return out or [(0, (0,))]

    def frame(self, columns: Sequence[str], parts: Sequence[int] | None = None,
              tiles: Sequence[tuple[int, tuple[int, ...]]] | None = None):
        """A Dask DataFrame of ``columns`` (``pos`` included on request), one partition per
        part: all parts, the given ``parts``, or only the row groups of the given ``tiles``."""
        import dask.dataframe as dd
        import pyarrow.parquet as pq

        if tiles is None:
            tiles = [(i, None) for i in (range(len(self.parts)) if parts is None else parts)]
        cats = {c: v for c, v in self.meta["categories"].items() if c in columns}
        args = []
        for i, groups in tiles:
            first = np.searchsorted(self._group_offsets, self.offsets[i])  # the part's first row group
            starts = [int(self.offsets[i])] if groups is None else self._group_offsets[first + np.asarray(groups)].tolist()
            args.append((self.parts[i], groups, starts))
        empty = pq.read_schema(self.parts[0]).empty_table().to_pandas()
        empty["pos"] = np.empty(0, np.int64)
        for c, v in cats.items():
            empty[c] = pd.Categorical([], categories=v)
        return dd.from_map(_read_part, args, columns=list(columns), categories=cats, meta=empty[list(columns)],
                           enforce_metadata=False)

    @cached_property
    def _group_offsets(self) -> np.ndarray:
        """Global position of the first row of every row group, parts in order, and the end."""
        sizes = np.concatenate([g[:, 2] for g in self.groups]).astype(np.int64)
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def rows(self, positions: np.ndarray, columns: Sequence[str] | None = None, *,
             as_categories: bool = True) -> pd.DataFrame:
        """The rows at ``positions`` (int64, any order), in that order; reads only the row
        groups (a few thousand rows each) that hold them. Class columns come as the map's
        categories (strings), or with their stored types (``as_categories=False``, for export)."""
        import pyarrow.parquet as pq

        positions = np.asarray(positions, dtype=np.int64)
        cats = self.meta["categories"] if columns is None else {c: v for c, v in self.meta["categories"].items() if c in columns}
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
            local = start[np.searchsorted(groups, group[in_part])] + positions[in_part] - self._group_offsets[group[in_part]]
            frame = table.take(local).to_pandas()
            frame["pos"] = positions[in_part]
            pieces.append(frame)
        if not pieces:
            return _read_part((self.parts[0], [0], [0]), columns, cats).iloc[:0]
        out = pd.concat(pieces)
        out = out.iloc[np.argsort(np.argsort(part, kind="stable"), kind="stable")].reset_index(drop=True)  # order asked
        for c, v in cats.items():
            if c in out.columns:
                out[c] = pd.Categorical(out[c].astype(str), categories=v)
        return out[list(columns)] if columns is not None else out


__all__ = ["LazySurvey", "MapTable", "build_map_table", "projection_rows", "table_path"]
