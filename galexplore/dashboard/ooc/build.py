"""Building the map table (:mod:`galexplore.dashboard.ooc.table`) part by part.

The projection and the catalog are streamed once, in batches, in step (the projection lists
the survey's galaxies in survey order); each batch's rows go to the stripe of the map their
``x`` falls in, through small per-stripe buffers into one Parquet writer per stripe. Then each
stripe, one at a time, is sorted by ``y`` and rewritten in row groups whose ``y`` ranges go to
``table.json``. Memory is bounded by a few batches, the buffers and one stripe, whatever N.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.atomic import atomic_directory
from galexplore.artifacts.paths import RunPaths, part_file
from galexplore.artifacts.runs import parquet_parts
from galexplore.dashboard.ooc.table import TABLE_JSON, VERSION, LazySurvey, projection_rows, table_path
from galexplore.data.columns import categorical_columns, numeric_columns
from galexplore.data.store import Survey
from galexplore.errors import GalexploreError, StoreError
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

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


def _projection_batches(run: Path) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for part in parquet_parts(RunPaths.of(run).projection):
        for batch in pq.ParquetFile(part, **STREAM).iter_batches(
            batch_size=BATCH_ROWS, columns=["galaxy_id", "x", "y"]
        ):
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

    for batch in pq.ParquetFile(survey.paths.catalog, **STREAM).iter_batches(
        batch_size=BATCH_ROWS, columns=columns
    ):
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
                raise GalexploreError(
                    f"{RunPaths.of(run).projection}: more galaxies than survey {survey.path}"
                )
            buf = pd.concat([buf, nxt], ignore_index=True) if len(buf) else nxt
        cat, buf = buf.iloc[: len(proj)].reset_index(drop=True), buf.iloc[len(proj) :].reset_index(drop=True)
        ids = proj["galaxy_id"].astype(str).to_numpy()
        if not np.array_equal(ids, cat["galaxy_id"].astype(str).to_numpy()):
            raise GalexploreError(
                f"{RunPaths.of(run).projection}: galaxies are not in the survey's order (from row {start}); "
                "out-of-core mode needs a projection of the whole survey in survey order: serve it in memory"
            )
        out = cat.drop(columns="galaxy_id")
        out.insert(0, "survey_row", np.arange(start, start + len(proj), dtype=np.int64))
        out.insert(0, "y", proj["y"].to_numpy(np.float32))
        out.insert(0, "x", proj["x"].to_numpy(np.float32))
        out.insert(0, "galaxy_id", ids.astype(object))
        start += len(proj)
        yield out


class _Stripes:
    """Per-stripe Parquet writers with small buffers, and the running statistics of the table."""

    def __init__(
        self,
        folder: Path,
        edges: np.ndarray,
        numeric: list[str],
        categorical: list[str],
        rate: float,
        seed: int = 0,
    ) -> None:
        self.folder, self.edges, self.numeric, self.categorical, self.rate = (
            folder,
            edges,
            numeric,
            categorical,
            rate,
        )
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
            self.boxes[s] = [
                min(self.boxes[s][0], np.nanmin(x)),
                max(self.boxes[s][1], np.nanmax(x)),
                min(self.boxes[s][2], np.nanmin(y)),
                max(self.boxes[s][3], np.nanmax(y)),
            ]
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
            self.writers[s] = pq.ParquetWriter(part_file(self.folder, s), self.schema)
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
    from galexplore.dashboard.compute.raster import robust_limits

    out = {}
    for c in columns:
        lim = robust_limits(sample[c].to_numpy()) if c in sample else None
        out[c] = list(lim) if lim is not None else None
    return out


def build_map_table(
    survey: str | os.PathLike | Survey,
    run: str | os.PathLike,
    *,
    rows_per_part: int = ROWS_PER_PART,
    progress: ProgressCallback | None = None,
) -> Path:
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
    schema = pq.read_schema(survey.paths.catalog)
    columns = [c for c in schema.names if not c.startswith("__index")]
    if "galaxy_id" not in columns:
        raise StoreError(f"{survey.paths.catalog}: catalog has no 'galaxy_id' column")
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
            os.replace(part_file(tmp, s), part_file(tmp, new))
            groups.append(_sort_by_y(part_file(tmp, new)))
        sample = pd.concat(stripes.samples, ignore_index=True) if stripes.samples else pd.DataFrame()
        from galexplore.dashboard.compute.raster import category_order

        meta = {
            "version": VERSION,
            "n": int(done),
            "survey": str(survey.path.resolve()),
            "run": str(run.resolve()),
            "numeric": numeric,
            "categorical": categorical,
            "categories": {c: sorted(v, key=category_order) for c, v in stripes.categories.items()},
            "limits": _limits(sample, numeric),
            "ranges": {
                c: [float(np.nanmin(sample[c])), float(np.nanmax(sample[c]))]
                if sample[c].notna().any()
                else None
                for c in numeric
            },
            "counts": stripes.counts[kept].tolist(),
            "boxes": stripes.boxes[kept].tolist(),
            "groups": groups,
        }
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


__all__ = ["ROWS_PER_PART", "build_map_table"]
