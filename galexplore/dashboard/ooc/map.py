"""The embedding map out of core: Datashader aggregates Dask DataFrames of the map table.

:class:`OutOfCoreMap` is the in-memory :class:`~galexplore.dashboard.views.embedding_map.EmbeddingMap`
(same layers, colour bar, spreading, lasso/box/tap) with its data access replaced: each view
aggregates only the parts of the map table that meet it (``Canvas.points`` on a Dask
DataFrame, on the active Dask client if there is one), and lasso, box and tap are answered
part by part. The session keeps only the selected galaxies' positions and coordinates.
There is no hover tooltip (it needs an index of every point in memory); a tap shows the
galaxy instead.
"""

from __future__ import annotations

import zlib

import numpy as np

from galexplore.dashboard.compute.raster import VALUE, shade_points
from galexplore.dashboard.ooc.data import OutOfCoreData
from galexplore.dashboard.state import column_kind
from galexplore.dashboard.views.embedding_map import EmbeddingMap


def render_view(
    data: OutOfCoreData,
    column: str,
    kind: str,
    categories: list[str] | None,
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
    lims: tuple[float, float] | None = None,
):
    """One view of the map coloured by ``column``, aggregated from the tiles that meet it (the
    colour column as :data:`~galexplore.dashboard.compute.raster.VALUE`, float32 when numeric,
    as in memory: one Datashader kernel for every column), a numeric one
    :func:`~galexplore.dashboard.compute.raster.colour_binned` for ``lims``."""
    frame = data.view_frame(
        ["x", "y", column],
        x_range,
        y_range,
        rename={column: VALUE},
        float32=[column] if kind == "numeric" else [],
    )
    view = dict(x_range=x_range, y_range=y_range, width=width, height=height)
    return shade_points(frame, column, kind, categories, binned=True, lims=lims, **view)


def _key(rows: np.ndarray) -> tuple[int, int]:
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    return len(rows), zlib.crc32(rows.tobytes())


class OutOfCoreMap(EmbeddingMap):
    """The map of an :class:`OutOfCoreData` (see the module docstring)."""

    def __init__(self, state, **params) -> None:
        self._selected: tuple[tuple[int, int], np.ndarray] | None = None
        self._focused: tuple[str, np.ndarray, int | None] | None = None
        super().__init__(state, **params)

    def _shade(self, column: str, **view):
        """The colour layer of one view, with the colour limits of ``table.json``."""
        data: OutOfCoreData = self.state.data
        kind = column_kind(data, column)
        categories = data.table.meta["categories"].get(column) if kind == "categorical" else None
        lims = data.limits(column) if kind == "numeric" else None
        return render_view(data, column, kind, categories, lims=lims, **view)

    def _legend_categories(self, column: str) -> list[str]:
        """The categories of ``table.json``, in the order :meth:`_shade` colours them."""
        return [str(c) for c in self.state.data.table.meta["categories"].get(column) or []]

    def _extent(self) -> tuple[np.ndarray, np.ndarray]:
        (x0, x1), (y0, y1) = self.state.data.table.extent
        return np.array([x0, y0]), np.array([x1, y1])

    def _selection_points(self, selection: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        selection = np.asarray(selection, dtype=np.int64)
        if self._selected is None or self._selected[0] != _key(selection):
            xy = self.state.data.table.rows(selection, ["x", "y"]).to_numpy(np.float32)
            self._selected = (_key(selection), xy)
        xy = self._selected[1]
        return xy, np.arange(len(xy))

    def _focus_xy(self, focus: str) -> np.ndarray:
        if not focus:
            return np.empty((0, 2), np.float32)
        self._locate(focus)
        return self._focused[1]

    def _locate(self, focus: str) -> None:
        if self._focused is None or self._focused[0] != focus:
            pos = self.state.data.position(focus)  # one pass over the id column
            xy = (
                self.state.data.table.rows([pos], ["x", "y"]).to_numpy(np.float32)
                if pos is not None
                else np.empty((0, 2), np.float32)
            )
            self._focused = (focus, xy, pos)

    def focus_position(self, focus: str) -> int | None:
        """Row of the galaxy ``focus`` (known at once for a tapped galaxy)."""
        self._locate(focus)
        return self._focused[2]

    def remember_focus(self, galaxy_id: str, xy: np.ndarray, pos: int | None = None) -> None:
        """The coordinates of a galaxy put in focus elsewhere (no look-up on the map then)."""
        self._focused = (galaxy_id, np.asarray(xy, np.float32).reshape(-1, 2), pos)

    def _keep(self, found) -> np.ndarray:
        """Remember the coordinates of a new selection (sorted positions) and return the positions."""
        pos = found["pos"].to_numpy(np.int64)
        self._selected = (_key(pos), found[["x", "y"]].to_numpy(np.float32))
        return pos

    def _lasso_rows(self, polygon: np.ndarray) -> np.ndarray:
        return self._keep(self.state.data.lasso(polygon))

    def _box_rows(self, bounds) -> np.ndarray:
        return self._keep(self.state.data.box(bounds))

    def _nearest_id(self, x: float, y: float, tolerance: float) -> str | None:
        pos = self.state.data.nearest((x, y), tolerance)
        if pos is None:
            return None
        row = self.state.data.table.rows([pos], ["galaxy_id", "x", "y"])
        galaxy_id = str(row["galaxy_id"].iloc[0])
        self._focused = (galaxy_id, row[["x", "y"]].to_numpy(np.float32), pos)
        return galaxy_id

    def _add_hover(self, plot, element) -> None:
        """No hover ring out of core (it needs every point in memory); tap a galaxy instead."""


__all__ = ["OutOfCoreMap", "render_view"]
