"""What the dashboard shows, loaded once per server and shared read-only by every session.

:class:`ExplorerData` aligns a survey's catalog with a run's projection (and embeddings) row
by row. It is immutable: arrays are flagged read-only and no session writes to it, so the
server can hand one instance to every browser session. Per-session state lives in
:class:`galexplore.dashboard.state.ExplorerState`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import Embeddings, read_embeddings, read_projection
from galexplore.data.columns import (
    SF_CLASSES,
    STANDARD_COLUMNS,
    axis_label,
    categorical_columns,
    numeric_columns,
    unit_of,
)
from galexplore.data.store import Survey
from galexplore.errors import StoreError

log = logging.getLogger(__name__)

#: Catalog columns shown on hover and in the galaxy-in-focus table when present.
KEY_PROPERTIES = ("log_mstar", "log_sfr", "ew_ha", "sf_class", "morph_type", "z")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ExplorerData:
    """A catalog aligned with its 2-d projection, plus the survey arrays and embeddings.

    Parameters
    ----------
    catalog : DataFrame, N rows
        One row per projected galaxy, ``galaxy_id`` first, in projection order.
    xy : ndarray, shape (N, 2), float32
        Projection coordinates (UMAP units).
    survey : Survey or None
        The survey holding maps/images; None for a catalog-only explorer (benchmarks).
    rows : ndarray, shape (N,), int64, or None
        Row of each galaxy in the survey's arrays.
    embeddings : Embeddings or None
        Embedding vectors aligned with ``catalog`` (same order), for similarity search.
    run : Path or None
        The run directory.
    projection_params : dict
        Metadata of ``projection.parquet`` (method and parameters).
    """

    catalog: pd.DataFrame
    xy: np.ndarray
    survey: Survey | None = None
    rows: np.ndarray | None = None
    embeddings: Embeddings | None = None
    run: Path | None = None
    projection_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float32)
        if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(self.catalog):
            raise StoreError(f"projection has shape {xy.shape}; expected ({len(self.catalog)}, 2)")
        object.__setattr__(self, "xy", _readonly(xy))
        if self.rows is not None:
            object.__setattr__(self, "rows", _readonly(np.asarray(self.rows, dtype=np.int64)))

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def load(cls, survey: str | os.PathLike | Survey, run: str | os.PathLike) -> ExplorerData:
        """Open a survey and a run and align them on ``galaxy_id``.

        Raises
        ------
        StoreError
            If the run's projection names galaxies the survey lacks, or an artifact is
            missing or corrupt (the message names the file).
        """
        survey = survey if isinstance(survey, Survey) else Survey(survey)
        run = Path(run)
        proj, params = read_projection(run)
        ids = proj["galaxy_id"].astype(str).to_numpy()
        try:
            rows = survey.positions(ids)
        except StoreError as exc:
            raise StoreError(
                f"{RunPaths.of(run).projection}: does not match survey {survey.path} ({exc})"
            ) from exc
        catalog = survey.catalog.iloc[rows].reset_index(drop=True)
        xy = proj[["x", "y"]].to_numpy(np.float32)
        emb = None
        if RunPaths.of(run).embeddings.is_file():
            emb = _align_embeddings(read_embeddings(run), ids, RunPaths.of(run).embeddings)
        log.info("explorer data: %d galaxies from %s and %s", len(ids), survey.path, run)
        return cls(catalog, xy, survey=survey, rows=rows, embeddings=emb, run=run, projection_params=params)

    # -- derived, read-only ------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.catalog)

    @cached_property
    def galaxy_ids(self) -> np.ndarray:
        return _readonly(self.catalog["galaxy_id"].astype(str).to_numpy(dtype=object))

    @cached_property
    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest (x, y) of the projection, float64 (2,) each (NaN ignored): computed
        once per server, not at every zoom (two passes over the coordinates, 80 ms at 10⁶)."""
        xy = self.xy
        return _readonly(np.nanmin(xy, axis=0).astype(float)), _readonly(np.nanmax(xy, axis=0).astype(float))

    @cached_property
    def x_order(self) -> np.ndarray:
        """Rows sorted by projection x (int64, stable): the map slices a zoomed view from it."""
        return _readonly(np.argsort(self.xy[:, 0], kind="stable").astype(np.int64))

    @cached_property
    def sf_classes(self) -> tuple[np.ndarray, list[str]]:
        """``sf_class`` of every galaxy as codes (N,) int16 (−1: missing) and the class names,
        standard order first; computed once per server without a Python string per galaxy."""
        codes, classes = class_codes(self.catalog)
        return _readonly(codes), classes

    @cached_property
    def mass_sfr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """log M* and log SFR (N,) float64 and the rows where both are finite, shared read-only
        by every session's main sequence (NaN where a column is missing)."""
        cols = [
            self.catalog[c].to_numpy(float) if c in self.catalog.columns else np.full(self.n, np.nan)
            for c in ("log_mstar", "log_sfr")
        ]
        ok = np.isfinite(cols[0]) & np.isfinite(cols[1])
        return _readonly(cols[0]), _readonly(cols[1]), _readonly(ok)

    @cached_property
    def index(self) -> pd.Index:
        """``galaxy_id`` → position in :attr:`catalog`."""
        return pd.Index(self.galaxy_ids)

    @cached_property
    def numeric_columns(self) -> list[str]:
        return [c for c in numeric_columns(self.catalog) if c not in ("x", "y")]

    @cached_property
    def categorical_columns(self) -> list[str]:
        return categorical_columns(self.catalog)

    @property
    def key_properties(self) -> list[str]:
        return [c for c in KEY_PROPERTIES if c in self.catalog.columns]

    def has_modality(self, name: str) -> bool:
        return self.survey is not None and name in self.survey.modalities

    def unit(self, column: str) -> str:
        if self.survey is not None:
            return self.survey.unit(column)
        return unit_of(column)

    def label(self, column: str) -> str:
        """Axis label with units, e.g. ``"log M* [log M☉]"``."""
        if column in STANDARD_COLUMNS:
            return axis_label(column)
        unit = self.unit(column)
        return f"{column} [{unit}]" if unit else column

    def position(self, galaxy_id: str) -> int | None:
        """Row of a galaxy id, or None if unknown."""
        pos = self.index.get_indexer([str(galaxy_id)])[0]
        return None if pos < 0 else int(pos)

    @property
    def title(self) -> str:
        survey = self.survey.name if self.survey is not None else "catalog"
        run = self.run.name if self.run is not None else "projection"
        return f"{survey} · {run}"

    @property
    def token(self) -> str:
        """A string that changes when the loaded artifacts change (cache key)."""
        parts = [str(self.n)]
        if self.survey is not None:
            parts.append(self.survey.fingerprint)
        if self.run is not None:
            paths = RunPaths.of(self.run)
            for p in (paths.projection, paths.embeddings):
                parts.append(f"{p}:{p.stat().st_mtime_ns if p.is_file() else 0}")
        return "|".join(parts)


def per_server_cache(max_items: int):
    """Decorator memoising a function of an :class:`ExplorerData` (and plain arguments or
    arrays) for the whole server, i.e. across sessions: Panel's ``pn.cache`` keyed by the data's
    token and by the whole content of any array (Panel's own key for an array of 10⁶ values or
    more is a random sample of them, which two arrays differing in a few values can share)."""
    import panel as pn

    return pn.cache(
        max_items=max_items,
        hash_funcs={ExplorerData: lambda d: d.token.encode(), "numpy.ndarray": _array_key},
    )


def _array_key(a: np.ndarray) -> bytes:
    """A digest of an array's dtype, shape and every value (10 ms for 10⁶ int64)."""
    h = hashlib.blake2b(f"{a.dtype.str}{a.shape}".encode(), digest_size=16)
    values = pd.util.hash_array(a.ravel()) if a.dtype == object else a  # strings: by their content
    h.update(np.ascontiguousarray(values).data)
    return h.digest()


def class_codes(catalog: pd.DataFrame, column: str = "sf_class") -> tuple[np.ndarray, list[str]]:
    """A class column as codes (N,) int16 (−1: missing or no such column) and the class names,
    the standard ``sf_class`` order first, others sorted (no Python string per galaxy)."""
    if column not in catalog.columns:
        return np.full(len(catalog), -1, np.int16), []
    cat = pd.Categorical(catalog[column])
    present = [str(c) for c in cat.categories]
    classes = [c for c in SF_CLASSES if c in present] + sorted(c for c in present if c not in SF_CLASSES)
    lookup = np.array([classes.index(c) for c in present] + [-1], dtype=np.int16)
    return lookup[cat.codes], classes  # code −1 indexes the last entry: missing


def _align_embeddings(emb: Embeddings, ids: np.ndarray, path: Path) -> Embeddings:
    """Reorder embeddings to ``ids``; raises if any projected galaxy has no embedding."""
    pos = pd.Index(emb.galaxy_ids.astype(str)).get_indexer(ids)
    if (pos < 0).any():
        missing = ids[pos < 0]
        raise StoreError(f"{path}: no embedding for galaxy {missing[0]!r} (+{len(missing) - 1} more)")
    same = len(pos) == len(emb.galaxy_ids) and bool(
        (pos == np.arange(len(pos))).all()
    )  # no copy of 10⁶ × 1,024 floats
    vectors = {k: _readonly(v if same else v[pos]) for k, v in emb.vectors.items()}
    return Embeddings(ids.copy(), vectors, dict(emb.metadata))
