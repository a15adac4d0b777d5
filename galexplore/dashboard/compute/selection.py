"""Selecting galaxies on the 2-d map: lasso polygons and boxes, on arrays only.

A lasso polygon is first reduced to its bounding box (a vectorised comparison over all
points), and only the points inside the box are tested with
:meth:`matplotlib.path.Path.contains_points`. No Python loop runs over galaxies.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from matplotlib.path import Path

EMPTY = np.empty(0, dtype=np.int64)


def _as_xy(xy: npt.ArrayLike) -> np.ndarray:
    xy = np.asarray(xy)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {xy.shape}")
    return xy


def box_select(xy: npt.ArrayLike, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Positions of the points inside an axis-aligned box.

    Parameters
    ----------
    xy : array_like, shape (N, 2)
        Point coordinates.
    bounds : (x0, y0, x1, y1)
        Box corners in the same units, in any order.

    Returns
    -------
    ndarray of int64, sorted
        Positions into ``xy``.
    """
    xy = _as_xy(xy)
    x0, y0, x1, y1 = (float(b) for b in bounds)
    if not np.all(np.isfinite([x0, y0, x1, y1])):
        return EMPTY
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    x, y = xy[:, 0], xy[:, 1]
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return np.flatnonzero(inside).astype(np.int64)


def lasso_select(xy: npt.ArrayLike, polygon: npt.ArrayLike) -> np.ndarray:
    """Positions of the points inside a lasso polygon.

    Parameters
    ----------
    xy : array_like, shape (N, 2)
        Point coordinates.
    polygon : array_like, shape (M, 2)
        Polygon vertices in data coordinates (closed implicitly); fewer than 3 finite
        vertices select nothing.

    Returns
    -------
    ndarray of int64, sorted
        Positions into ``xy``.
    """
    xy = _as_xy(xy)
    poly = np.asarray(polygon, dtype=float)
    if poly.ndim != 2 or poly.shape[1] != 2:
        return EMPTY
    poly = poly[np.isfinite(poly).all(axis=1)]
    if len(poly) < 3:
        return EMPTY
    (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
    candidates = box_select(xy, (x0, y0, x1, y1))
    if candidates.size == 0:
        return EMPTY
    inside = Path(poly).contains_points(np.asarray(xy[candidates], dtype=float))
    return candidates[inside]


def nearest(xy: npt.ArrayLike, point: tuple[float, float], max_distance: float) -> int | None:
    """Position of the point nearest to ``point`` within ``max_distance``, or None."""
    xy = _as_xy(xy)
    px, py = point
    cand = box_select(xy, (px - max_distance, py - max_distance, px + max_distance, py + max_distance))
    if cand.size == 0:
        return None
    d2 = (xy[cand, 0] - px) ** 2 + (xy[cand, 1] - py) ** 2
    best = int(np.argmin(d2))
    return int(cand[best]) if d2[best] <= max_distance**2 else None
