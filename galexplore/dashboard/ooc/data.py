"""What the out-of-core dashboard shows: a survey and a run read through the map table.

:class:`OutOfCoreData` stands where :class:`~galexplore.dashboard.data.ExplorerData` stands
in the in-memory dashboard (the same names where the meaning is the same), but holds no
array of the survey's size: the map aggregates Dask DataFrames of the
:class:`~galexplore.dashboard.ooc.table.MapTable`, selections are computed part by part, and
the few galaxies a panel shows are read when asked (:meth:`OutOfCoreData.subset`).
"""

from __future__ import annotations

import json
import logging
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import parquet_parts
from galexplore.dashboard._compat import quick_datashader_tokens
from galexplore.dashboard.compute.selection import box_select, lasso_select
from galexplore.dashboard.data import KEY_PROPERTIES, ExplorerData
from galexplore.dashboard.ooc.build import ROWS_PER_PART, build_map_table
from galexplore.dashboard.ooc.table import LazySurvey, MapTable
from galexplore.data.columns import STANDARD_COLUMNS, axis_label
from galexplore.progress import ProgressCallback

log = logging.getLogger(__name__)

#: Internal columns of the map table, never offered to colour by or exported.
INTERNAL = ("x", "y", "survey_row", "pos")


def _inside_lasso(part: pd.DataFrame, polygon: np.ndarray) -> pd.DataFrame:
    return part.iloc[lasso_select(part[["x", "y"]].to_numpy(), polygon)]


def _inside_box(part: pd.DataFrame, bounds: tuple[float, float, float, float]) -> pd.DataFrame:
    return part.iloc[box_select(part[["x", "y"]].to_numpy(), bounds)]


class OutOfCoreData:
    """A survey and a run served without loading either into memory.

    Parameters
    ----------
    survey : LazySurvey
        The survey (arrays read per galaxy; the catalog is never loaded).
    run : Path
        The run directory.
    table : MapTable
        The map table of this survey and run.
    projection_params : dict
        Metadata of ``projection.parquet``.
    """

    out_of_core = True
    embeddings = None  # similarity search and clustering need every embedding in memory

    def __init__(
        self, survey: LazySurvey, run: Path, table: MapTable, projection_params: dict[str, Any]
    ) -> None:
        self.survey, self.run, self.table, self.projection_params = (
            survey,
            Path(run),
            table,
            projection_params,
        )

    @classmethod
    def load(
        cls,
        survey: str | os.PathLike,
        run: str | os.PathLike,
        *,
        rows_per_part: int = ROWS_PER_PART,
        progress: ProgressCallback | None = None,
    ) -> OutOfCoreData:
        """Open a survey and a run, building the map table on first use (see
        :func:`~galexplore.dashboard.ooc.build.build_map_table`)."""
        import pyarrow.parquet as pq

        from galexplore.artifacts.runs import META_KEY

        quick_datashader_tokens()
        lazy = LazySurvey(survey)
        table = MapTable(build_map_table(lazy, run, rows_per_part=rows_per_part, progress=progress))
        raw = (pq.read_schema(parquet_parts(RunPaths.of(run).projection)[0]).metadata or {}).get(META_KEY)
        params = json.loads(raw) if raw else {}
        log.info("out-of-core explorer: %d galaxies in %d parts (%s)", table.n, len(table.parts), table.path)
        return cls(lazy, Path(run), table, params)

    # -- what ExplorerData also answers ------------------------------------------------------
    @property
    def n(self) -> int:
        return self.table.n

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c in self.table.meta["numeric"] if c not in INTERNAL]

    @property
    def categorical_columns(self) -> list[str]:
        return [c for c in self.table.meta["categorical"] if c not in INTERNAL]

    @cached_property
    def key_properties(self) -> list[str]:
        return [c for c in KEY_PROPERTIES if c in self.table.columns]

    def has_modality(self, name: str) -> bool:
        return name in self.survey.modalities

    def unit(self, column: str) -> str:
        return self.survey.unit(column)

    def label(self, column: str) -> str:
        """Axis label with units, as :meth:`ExplorerData.label`."""
        if column in STANDARD_COLUMNS:
            return axis_label(column)
        unit = self.unit(column)
        return f"{column} [{unit}]" if unit else column

    @property
    def title(self) -> str:
        return f"{self.survey.name} · {self.run.name} (out-of-core)"

    @property
    def token(self) -> str:
        return f"ooc|{self.table.path}"

    def position(self, galaxy_id: str) -> int | None:
        """Row of a galaxy id (one pass over the id column, part by part), or None."""
        galaxy_id = str(galaxy_id)
        ids = self.table.frame(["galaxy_id", "pos"])
        hit = ids[ids["galaxy_id"] == galaxy_id]["pos"].compute()
        return int(hit.iloc[0]) if len(hit) else None

    # -- partition-wise queries ----------------------------------------------------------------
    def limits(self, column: str) -> tuple[float, float] | None:
        """Colour limits of a numeric column (1st–99th percentile, from a uniform sample)."""
        lim = self.table.meta["limits"].get(column)
        return tuple(lim) if lim else None

    def view_frame(self, columns: list[str], x_range=None, y_range=None, **options):
        """A Dask DataFrame of ``columns`` over the row groups (map tiles) that meet the view
        (``options``: ``float32``, ``rename`` of :meth:`MapTable.frame`)."""
        return self.table.frame(columns, tiles=self.table.tiles(x_range, y_range), **options)

    def lasso(self, polygon: np.ndarray) -> pd.DataFrame:
        """Positions and x, y of the galaxies inside a lasso polygon (sorted by position)."""
        poly = np.asarray(polygon, dtype=float)
        poly = (
            poly[np.isfinite(poly).all(axis=1)]
            if poly.ndim == 2 and poly.shape[1:] == (2,)
            else np.empty((0, 2))
        )
        if len(poly) < 3:
            return self._empty()
        (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
        frame = self.view_frame(["pos", "x", "y"], (x0, x1), (y0, y1))
        return (
            frame.map_partitions(_inside_lasso, poly, meta=frame._meta)
            .compute()
            .sort_values("pos", ignore_index=True)
        )

    def box(self, bounds: tuple[float, float, float, float]) -> pd.DataFrame:
        """Positions and x, y of the galaxies inside an axis-aligned box (sorted by position)."""
        x0, y0, x1, y1 = (float(b) for b in bounds)
        if not np.isfinite([x0, y0, x1, y1]).all():
            return self._empty()
        frame = self.view_frame(["pos", "x", "y"], (min(x0, x1), max(x0, x1)), (min(y0, y1), max(y0, y1)))
        return (
            frame.map_partitions(_inside_box, (x0, y0, x1, y1), meta=frame._meta)
            .compute()
            .sort_values("pos", ignore_index=True)
        )

    def nearest(self, point: tuple[float, float], max_distance: float) -> int | None:
        """Position of the galaxy nearest to ``point`` within ``max_distance``, or None."""
        px, py = point
        near = self.box((px - max_distance, py - max_distance, px + max_distance, py + max_distance))
        if near.empty:
            return None
        d2 = (near["x"].to_numpy(float) - px) ** 2 + (near["y"].to_numpy(float) - py) ** 2
        best = int(np.argmin(d2))
        return int(near["pos"].iloc[best]) if d2[best] <= max_distance**2 else None

    def _empty(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"pos": np.empty(0, np.int64), "x": np.empty(0, np.float32), "y": np.empty(0, np.float32)}
        )

    def subset(self, positions: np.ndarray) -> ExplorerData:
        """An in-memory :class:`ExplorerData` of a few galaxies (the panels of selected ones)."""
        rows = self.table.rows(np.asarray(positions, dtype=np.int64))
        catalog = rows.drop(columns=[c for c in INTERNAL if c in rows.columns]).reset_index(drop=True)
        return SubsetData(
            catalog,
            rows[["x", "y"]].to_numpy(np.float32),
            survey=self.survey,
            rows=rows["survey_row"].to_numpy(np.int64),
            run=self.run,
            projection_params=self.projection_params,
        )


class SubsetData(ExplorerData):
    """A few galaxies of an out-of-core survey in memory; its cache token names them."""

    @property
    def token(self) -> str:
        import hashlib

        digest = hashlib.blake2b("\n".join(self.galaxy_ids.tolist()).encode(), digest_size=8).hexdigest()
        return f"subset|{self.survey.path if self.survey is not None else ''}|{digest}"


__all__ = ["OutOfCoreData"]
