"""The embedding map's rasters: every galaxy's projection aggregated by Datashader.

The points are aggregated on the server into an image the size of the plot (mean of a numeric
column, or counts per category) and spread so isolated galaxies stay visible
(:mod:`~galexplore.dashboard.compute.spreading`); the selected galaxies become a mask of
pixels. The in-memory map (:class:`~galexplore.dashboard.views.embedding_map.EmbeddingMap`)
and the out-of-core one (:mod:`galexplore.dashboard.ooc.map`) draw with these functions.
"""

from __future__ import annotations

from contextvars import ContextVar

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.operation.datashader import datashade, rasterize

from galexplore.analysis.clustering import NOISE_NAME
from galexplore.dashboard._setup import served
from galexplore.dashboard.compute.colour_bins import snap_to_colour_bins
from galexplore.dashboard.compute.spreading import (
    dynspread_radius,
    dynspread_values,
    spread_nearest,
    spread_rgba,
)
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.palettes import category_colors
from galexplore.dashboard.state import CLUSTER, DERIVED, ExplorerState, column_kind
from galexplore.data.columns import SF_CLASSES

#: Dynamic spreading: grow isolated pixels up to this many pixels.
MAX_PX = 4
SPREAD_THRESHOLD = 0.8
#: The map frame's colour column, whatever the colouring: Datashader compiles (Numba) one
#: kernel per column name and dtype, so one name and float32 values mean one kernel for every
#: numeric colouring and one for every categorical one (warmed once per server) instead of a
#: compile of ~1–3 s, holding up every session, the first time each column is chosen.
VALUE = "value"
#: True while :func:`view_layer` renders a served page's placeholder (see
#: :func:`placeholder_rows`).
_PLACEHOLDER: ContextVar[bool] = ContextVar("galexplore_placeholder", default=False)


def placeholder_active() -> bool:
    """Whether the render under way is a placeholder, whose image is thrown away (:func:`blank`)."""
    return _PLACEHOLDER.get()


def placeholder_rows(frame):
    """``frame``, or none of its rows (same columns and dtypes) while a placeholder is rendered.

    The placeholder only needs the layer's type and options, not its pixels: an out-of-core
    frame (a Dask DataFrame) becomes its empty ``_meta``, so no part of the table is read
    (before, a page's first render made a pass over every part of a 10⁷-galaxy table for one
    pixel, and the main sequence a second one at 400 × 400)."""
    if not _PLACEHOLDER.get():
        return frame
    return frame._meta if hasattr(frame, "npartitions") else frame.iloc[:0]


def map_frame(state: ExplorerState, column: str) -> tuple[pd.DataFrame, str]:
    """The columns the map aggregates: x, y and the colour column's values as :data:`VALUE`.

    Returns
    -------
    frame : DataFrame, N rows
        ``x``, ``y`` (projection units) and :data:`VALUE`: float32 (numeric) or a
        pandas Categorical.
    kind : ``"numeric"`` or ``"categorical"``
    """
    data = state.data
    if column == CLUSTER:
        names = state.cluster_names()
        return _frame(data, column, names if names is not None else np.full(data.n, "none", dtype=object))
    if column in DERIVED and column not in data.catalog.columns:  # anomaly scores, tags
        return _frame(data, column, state.derived_values(column))
    return _frame(data, column, data.catalog[column].to_numpy())


def _frame(data: ExplorerData, column: str, values: np.ndarray) -> tuple[pd.DataFrame, str]:
    kind = column_kind(data, column)
    if kind == "categorical":
        values = pd.Series(values).astype(str).fillna("none")
        cats = sorted(values.unique(), key=category_order)
        values = pd.Categorical(values, categories=cats)
    else:
        values = np.asarray(values, dtype=np.float32)
    return pd.DataFrame({"x": data.xy[:, 0], "y": data.xy[:, 1], VALUE: values}), kind


def sorted_map_frame(state: ExplorerState, column: str) -> tuple[pd.DataFrame, str]:
    """:func:`map_frame` with its rows sorted by x (a zoom slices it). For a catalog column it
    is built once per server and shared read-only by every session (at 10⁷ galaxies each copy
    is ~200 MB); the colouring by the session's own clusters is the session's."""
    if column == CLUSTER or (column in DERIVED and column not in state.data.catalog.columns):
        frame, kind = map_frame(state, column)
        return frame.iloc[state.data.x_order].reset_index(drop=True), kind
    return _sorted_catalog_frame(state.data, column)


@per_server_cache(3)
def _sorted_catalog_frame(data: ExplorerData, column: str) -> tuple[pd.DataFrame, str]:
    frame, kind = _frame(data, column, data.catalog[column].to_numpy())
    return frame.iloc[data.x_order].reset_index(drop=True), kind


def with_dtype(img: hv.Image, dtype, *, zero_is_empty: bool = False) -> hv.Image:
    """``img`` with its value array cast to ``dtype`` (float32 halves what is sent to the browser).

    ``zero_is_empty`` turns zero counts into NaN (drawn transparent).
    """
    left, bottom, right, top = img.bounds.lbrt()
    if not (right > left and top > bottom):  # an empty layer (nothing selected): one transparent pixel
        return hv.Image(
            np.full((1, 1), np.nan, np.float32), bounds=(0, 0, 1, 1), kdims=img.kdims, vdims=img.vdims
        )
    data = img.data.copy()
    vdim = img.vdims[0]
    values = data[vdim.name]
    if zero_is_empty:
        values = values.where(values > 0)
    data[vdim.name] = values.astype(dtype)
    # no "nodata" marker: HoloViews would turn the values into float64 to put NaN there
    return img.clone(data, vdims=[vdim.clone(nodata=None)])


def with_values(img: hv.Image, fn) -> hv.Image:
    """``img`` with its values replaced by ``fn(values)`` (same shape) as float32."""
    left, bottom, right, top = img.bounds.lbrt()
    if not (right > left and top > bottom):
        return with_dtype(img, np.float32)
    data = img.data.copy()
    vdim = img.vdims[0]
    data[vdim.name] = data[vdim.name].copy(data=fn(data[vdim.name].values).astype(np.float32))
    # no "nodata" marker: HoloViews would turn the values into float64 to put NaN there
    return img.clone(data, vdims=[vdim.clone(nodata=None)])


def colour_binned(img: hv.Image, lims: tuple[float, float] | None, before=None) -> hv.Image:
    """A numeric layer with its values moved to the middle of their colour bins for ``lims``
    (:func:`~galexplore.dashboard.compute.colour_bins.snap_to_colour_bins`: the same colours,
    about half the bytes compressed), which become its colour limits (NaN limits when there are
    none: HoloViews then takes the data's range). ``before(values)``, if given, is applied
    first, in the same copy (each copy of an element costs a few ms)."""
    prepare = before or (lambda v: v)
    binned = with_values(img, lambda v: snap_to_colour_bins(prepare(v), lims))
    return binned.opts(clim=lims or (np.nan, np.nan), clone=False)  # a new element: changed in place


def category_order(c: str) -> tuple:
    """Sort key of a category on the map: the EW(Hα) classes in their standard order, then
    clusters by number, then other names, noise last."""
    if c in SF_CLASSES:
        return (0, SF_CLASSES.index(c), "")
    if c == NOISE_NAME:
        return (0, 1_000_000, "")
    try:
        return (1, int(c), "")
    except ValueError:
        return (2, 0, c)


def in_view(frame: pd.DataFrame, x_range: tuple[float, float]) -> pd.DataFrame:
    """The rows of ``frame`` (sorted by ``x``) with x inside ``x_range``: a slice, no copy.

    Datashader drops points outside the view anyway; slicing first makes a zoomed-in view
    cost in proportion to what it shows rather than to the survey. An empty view keeps one
    row from outside it (drawn nowhere): Datashader cannot shade zero rows by category.
    """
    x = frame["x"].to_numpy()
    lo, hi = np.searchsorted(x, x_range[0], side="left"), np.searchsorted(x, x_range[1], side="right")
    if hi <= lo:
        lo = min(max(lo - 1, 0), len(frame) - 1)
        hi = lo + 1
    return frame.iloc[lo:hi]


@per_server_cache(32)
def shared_raster(
    data: ExplorerData,
    column: str,
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
    placeholder: bool = False,
) -> hv.Image | hv.RGB:
    """:func:`shade` of a catalog column over one view, memoised for the whole server; a numeric
    one :func:`colour_binned` with the column's :func:`colour_limits`.

    Every session opens on the same view, and sessions colouring by the same column at the
    same view (the full map, a shared link) get the same image without aggregating again.
    Callers must not modify it (``.opts(..., clone=True)``). At most 32 images (≲ 2 MB each
    at 800 × 600 pixels) are kept. ``placeholder`` (:func:`placeholder_active`) is part of the
    key: a placeholder's image holds no galaxies.
    """
    frame, kind = _sorted_catalog_frame(data, column)
    lims = colour_limits(data, column) if kind == "numeric" else None
    view = dict(x_range=x_range, y_range=y_range, width=width, height=height)
    return shade(frame, column, kind, binned=True, lims=lims, **view)


def shade(
    frame: pd.DataFrame,
    column: str,
    kind: str,
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
    binned: bool = False,
    lims: tuple[float, float] | None = None,
) -> hv.Image | hv.RGB:
    """Rasterise the galaxies of ``frame`` (x, y, :data:`VALUE`; sorted by x) over one view.

    ``column`` names what the values are (the categories' colours follow it). Returns an
    :class:`~holoviews.Image` of float32 means of the values per pixel (numeric)
    or an :class:`~holoviews.RGB` shaded by category, ``width`` × ``height`` pixels over the
    given data ranges, spread so that every galaxy covers at least 3×3 pixels. With
    ``binned``, a numeric image is :func:`colour_binned` for ``lims``.
    """
    categories = list(frame[VALUE].cat.categories) if kind == "categorical" else None
    return shade_points(
        in_view(frame, x_range),
        column,
        kind,
        categories,
        x_range=x_range,
        y_range=y_range,
        width=width,
        height=height,
        binned=binned,
        lims=lims,
    )


def shade_points(
    points,
    column: str,
    kind: str,
    categories: list[str] | None,
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
    binned: bool = False,
    lims: tuple[float, float] | None = None,
) -> hv.Image | hv.RGB:
    """:func:`shade` of any frame HoloViews can aggregate: a pandas or a Dask DataFrame of x, y
    and :data:`VALUE` (float32, or categorical with ``categories`` when ``kind`` is
    categorical). Datashader aggregates a Dask DataFrame partition by partition, on the
    active Dask client if there is one."""
    if kind != "numeric" and placeholder_active():  # (Datashader cannot shade no galaxies by category)
        (x0, x1), (y0, y1) = x_range, y_range
        return hv.RGB(np.zeros((1, 1, 4), np.uint8), bounds=(x0, y0, x1, y1), kdims=["x", "y"])
    points = hv.Points(placeholder_rows(points), kdims=["x", "y"], vdims=[hv.Dimension(VALUE, label=column)])
    kw = dict(dynamic=False, x_range=x_range, y_range=y_range, width=width, height=height)
    if kind == "numeric":
        img = rasterize(points, aggregator=ds.mean(VALUE), **kw)

        # every galaxy gets at least 3×3 pixels (UMAP packs them in tight clumps that fool the
        # isolation test), more where the view is sparse; filled pixels keep their own mean
        def spread(v: np.ndarray) -> np.ndarray:
            return dynspread_values(spread_nearest(v, 1), SPREAD_THRESHOLD, MAX_PX)

        return colour_binned(img, lims, before=spread) if binned else with_values(img, spread)
    img = datashade(
        points,
        aggregator=ds.count_cat(VALUE),
        color_key=category_colors(column, categories),
        min_alpha=140,
        **kw,
    )
    return spread_rgb(img)


def spread_rgb(img: hv.RGB) -> hv.RGB:
    """Spread a shaded RGB image as the numeric map: 3×3 pixels per galaxy, more where sparse."""
    data = img.data
    if hasattr(data, "dims") and "band" in data.dims:  # Datashader's xarray: (y, x, band) uint8 RGBA
        rgba = np.moveaxis(np.asarray(data.transpose(..., "band").values), -1, 0)
    else:
        return img
    channels = spread_rgba(list(rgba), 1)
    px = dynspread_radius(channels[-1] > 0, SPREAD_THRESHOLD, MAX_PX)
    channels = spread_rgba(channels, px)
    return img.clone(data.transpose(..., "band").copy(data=np.stack(channels, axis=-1)))


def selection_mask(xy: np.ndarray, rows: np.ndarray, view: dict) -> np.ndarray | None:
    """Pixels of a ``height`` × ``width`` view holding a selected galaxy, grown to be visible.

    Every selected galaxy covers 3×3 pixels, 5×5 when fewer than 2 % of the pixels are set
    (a sparse selection must stand out). Row 0 is the bottom of the view. None if no selected
    galaxy is in view. Plain array arithmetic: O(selected) plus the pixel count.
    """
    from scipy.ndimage import binary_dilation

    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return None
    (x0, x1), (y0, y1), w, h = view["x_range"], view["y_range"], int(view["width"]), int(view["height"])
    pts = xy[rows]
    ix = np.floor((pts[:, 0] - x0) / (x1 - x0) * w).astype(np.int64)
    iy = np.floor((pts[:, 1] - y0) / (y1 - y0) * h).astype(np.int64)
    ok = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    if not ok.any():
        return None
    mask = np.zeros((h, w), dtype=bool)
    mask[iy[ok], ix[ok]] = True
    grow = 1 if mask.mean() >= 0.02 else 2
    return binary_dilation(mask, structure=np.ones((2 * grow + 1,) * 2, dtype=bool))


def view_layer(render, lims: dict, *streams: hv.streams.Stream) -> hv.DynamicMap:
    """A layer re-rendered by ``render(x_range=, y_range=, width=, height=, **stream_values)``.

    It re-renders on zoom, pan and resize and when one of ``streams`` changes, and only
    then: the callback is memoised on those values, so an event of another layer of the
    same overlay (the hover ring, the focus star) reuses the image and sends nothing.

    In a served page, the first render, made before the browser has laid the page out and
    reported the plot's size, is a blank image of one pixel (:func:`blank`) instead of one at
    a guessed 400 × 400 pixels: the browser reports the size as soon as the page is drawn and
    the image at that size follows, so a guessed one would only be rendered, sent with the
    page (about 1.9 MB uncompressed for the map and the main sequence) and replaced at once.
    Outside a server (a notebook export, tests), the first render is 400 × 400 as before.
    """

    def callback(x_range=None, y_range=None, width=None, height=None, scale=1.0, **values):
        unsized = width is None and height is None and served()
        token = _PLACEHOLDER.set(True) if unsized else None  # renders aggregate no galaxies
        try:
            img = render(
                x_range=tuple(x_range or lims["xlim"]),
                y_range=tuple(y_range or lims["ylim"]),
                width=1 if unsized else int(width or 400),
                height=1 if unsized else int(height or 400),
                **values,
            )
        finally:
            if token is not None:
                _PLACEHOLDER.reset(token)
        return blank(img) if unsized else img

    return hv.DynamicMap(callback, streams=[hv.streams.RangeXY(), hv.streams.PlotSize(), *streams])


def blank(img: hv.Image | hv.RGB) -> hv.Image | hv.RGB:
    """``img`` as one transparent pixel over the same bounds, keeping its type and options."""
    data = np.zeros((1, 1, 4), np.uint8) if isinstance(img, hv.RGB) else np.full((1, 1), np.nan, np.float32)
    return img.clone(data, datatype=["image", "xarray"])  # a plain array, whatever the image held


@per_server_cache(64)
def colour_limits(data: ExplorerData, column: str) -> tuple[float, float] | None:
    """:func:`robust_limits` of a numeric catalog column, computed once per server."""
    return robust_limits(data.catalog[column].to_numpy(dtype=float, na_value=np.nan))


def robust_limits(values: np.ndarray) -> tuple[float, float] | None:
    """The 1st and 99th percentiles of the finite values (colour limits)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    lo, hi = np.percentile(v, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(hi) + 0.5)
