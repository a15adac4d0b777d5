"""The embedding map: every galaxy's projection, rasterised by Datashader.

The map is never drawn as raw glyphs: the points are aggregated on the server into an
image the size of the plot (mean of a numeric column, or counts per category) and spread
dynamically so isolated galaxies stay visible. Hovering sends the cursor position to the
server, which finds the nearest galaxy in a k-d tree and draws it as one ring with a tooltip
(galaxy id and key properties). Lasso and box selections arrive as polygons in data coordinates and are turned
into catalog rows with :mod:`galexplore.dashboard.compute.selection`.
"""

from __future__ import annotations

import logging
from functools import partial

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from holoviews.operation.datashader import datashade, rasterize

from galexplore.dashboard._compat import colorbar_models
from galexplore.dashboard._setup import CANVAS
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.palettes import CONTINUOUS_CMAP, FOCUS, HIGHLIGHT, category_colors
from galexplore.dashboard.gestures import select_on_release, throttled_cursor
from galexplore.dashboard.compute.selection import box_select, lasso_select, nearest
from galexplore.dashboard.compute.spreading import dynspread_radius, dynspread_values, spread_nearest, spread_rgba
from galexplore.dashboard.state import CLUSTER, ExplorerState, column_kind, reports_errors
from galexplore.dashboard.url_state import format_polygon

log = logging.getLogger(__name__)

#: Dynamic spreading: grow isolated pixels up to this many pixels.
MAX_PX = 4
SPREAD_THRESHOLD = 0.8
#: Fraction of the visible x-range within which a tap picks the nearest galaxy.
TAP_TOLERANCE = 0.02
#: Fraction of the visible x-range within which the cursor shows a galaxy's tooltip.
HOVER_TOLERANCE = 0.015
#: The map frame's colour column, whatever the colouring: Datashader compiles (Numba) one
#: kernel per column name and dtype, so one name and float32 values mean one kernel for every
#: numeric colouring and one for every categorical one (warmed once per server) instead of a
#: compile of ~1–3 s, holding up every session, the first time each column is chosen.
VALUE = "value"


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
    return _frame(data, column, data.catalog[column].to_numpy())


def _frame(data: ExplorerData, column: str, values: np.ndarray) -> tuple[pd.DataFrame, str]:
    kind = column_kind(data, column)
    if kind == "categorical":
        values = pd.Series(values).astype(str).fillna("none")
        cats = sorted(values.unique(), key=_category_order)
        values = pd.Categorical(values, categories=cats)
    else:
        values = np.asarray(values, dtype=np.float32)
    return pd.DataFrame({"x": data.xy[:, 0], "y": data.xy[:, 1], VALUE: values}), kind


def sorted_map_frame(state: ExplorerState, column: str) -> tuple[pd.DataFrame, str]:
    """:func:`map_frame` with its rows sorted by x (a zoom slices it). For a catalog column it
    is built once per server and shared read-only by every session (at 10⁷ galaxies each copy
    is ~200 MB); the colouring by the session's own clusters is the session's."""
    if column == CLUSTER:
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
        return hv.Image(np.full((1, 1), np.nan, np.float32), bounds=(0, 0, 1, 1), kdims=img.kdims, vdims=img.vdims)
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


def _category_order(c: str) -> tuple:
    order = {"star-forming": 0, "green-valley": 1, "retired": 2, "noise": 1_000_000}
    if c in order:
        return (0, order[c], "")
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
def shared_raster(data: ExplorerData, column: str, *, x_range: tuple[float, float], y_range: tuple[float, float],
                  width: int, height: int) -> hv.Image | hv.RGB:
    """:func:`shade` of a catalog column over one view, memoised for the whole server.

    Every session opens on the same view, and sessions colouring by the same column at the
    same view (the full map, a shared link) get the same image without aggregating again.
    Callers must not modify it (``.opts(..., clone=True)``). At most 32 images (≲ 2 MB each
    at 800 × 600 pixels) are kept.
    """
    frame, kind = _sorted_catalog_frame(data, column)
    return shade(frame, column, kind, x_range=x_range, y_range=y_range, width=width, height=height)


def shade(frame: pd.DataFrame, column: str, kind: str, *, x_range: tuple[float, float],
          y_range: tuple[float, float], width: int, height: int) -> hv.Image | hv.RGB:
    """Rasterise the galaxies of ``frame`` (x, y, :data:`VALUE`; sorted by x) over one view.

    ``column`` names what the values are (the categories' colours follow it). Returns an
    :class:`~holoviews.Image` of float32 means of the values per pixel (numeric)
    or an :class:`~holoviews.RGB` shaded by category, ``width`` × ``height`` pixels over the
    given data ranges, spread so that every galaxy covers at least 3×3 pixels.
    """
    categories = list(frame[VALUE].cat.categories) if kind == "categorical" else None
    return shade_points(in_view(frame, x_range), column, kind, categories, x_range=x_range, y_range=y_range,
                        width=width, height=height)


def shade_points(points, column: str, kind: str, categories: list[str] | None, *, x_range: tuple[float, float],
                 y_range: tuple[float, float], width: int, height: int) -> hv.Image | hv.RGB:
    """:func:`shade` of any frame HoloViews can aggregate: a pandas or a Dask DataFrame of x, y
    and :data:`VALUE` (float32, or categorical with ``categories`` when ``kind`` is
    categorical). Datashader aggregates a Dask DataFrame partition by partition, on the
    active Dask client if there is one."""
    points = hv.Points(points, kdims=["x", "y"], vdims=[hv.Dimension(VALUE, label=column)])
    kw = dict(dynamic=False, x_range=x_range, y_range=y_range, width=width, height=height)
    if kind == "numeric":
        img = rasterize(points, aggregator=ds.mean(VALUE), **kw)
        # every galaxy gets at least 3×3 pixels (UMAP packs them in tight clumps that fool the
        # isolation test), more where the view is sparse; filled pixels keep their own mean
        return with_values(img, lambda v: dynspread_values(spread_nearest(v, 1), SPREAD_THRESHOLD, MAX_PX))
    img = datashade(points, aggregator=ds.count_cat(VALUE), color_key=category_colors(column, categories), min_alpha=140,
                    **kw)
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
    """

    def callback(x_range=None, y_range=None, width=None, height=None, scale=1.0, **values):
        return render(x_range=tuple(x_range or lims["xlim"]), y_range=tuple(y_range or lims["ylim"]),
                      width=int(width or 400), height=int(height or 400), **values)

    return hv.DynamicMap(callback, streams=[hv.streams.RangeXY(), hv.streams.PlotSize(), *streams])



@per_server_cache(4)
def point_tree(data: ExplorerData):
    """A k-d tree of the projection (nearest galaxy under the cursor), shared by all sessions."""
    from scipy.spatial import cKDTree

    return cKDTree(np.asarray(data.xy, dtype=np.float64))


#: The map's colouring as a stream: a new column re-renders the colour layer in place.
ColourStream = hv.streams.Stream.define("ColourStream", column="")


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


class EmbeddingMap(pn.viewable.Viewer):
    """The rasterised map of the projection, with lasso/box selection and tap-to-focus.

    Parameters
    ----------
    state : ExplorerState
        The session state it reads (colour-by, clusters, selection, focus) and writes
        (selection, focus).
    """

    height = param.Integer(default=560)

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._ranges: dict[str, tuple[float, float]] = {}
        self._hover_figures: set[str] = set()
        self._dragging = False  # a lasso, box or pan gesture is in progress on the map
        self._pane = pn.pane.HoloViews(self._build(), sizing_mode="stretch_width", height=self.height,
                                       linked_axes=False, css_classes=["gx-map"])
        state.param.watch(self._recolour, ["color_by"])
        state.param.watch(self._on_clusters, ["cluster_labels"])

    # -- building ----------------------------------------------------------------------------
    def _build(self):
        state, data = self.state, self.state.data
        column = state.color_by
        self._kind = column_kind(data, column)
        # A numeric colouring changes in place (the same plot: new pixels, colour limits and
        # labels); only a change of kind or a categorical one builds a new plot
        self._colour = ColourStream(column=column)
        lims = self._lims()
        layer = view_layer(self._shade, lims, self._colour)
        tools = ["lasso_select", "box_select", "tap"]
        if self._kind == "numeric":
            layer = layer.opts(cmap=CONTINUOUS_CMAP, colorbar=True, clabel=data.label(column), tools=tools,
                               clipping_colors={"NaN": "transparent"})
        else:
            layer = layer.opts(show_legend=True, legend_position="right", tools=tools)
        for stream in (hv.streams.Lasso(source=layer), hv.streams.BoundsXY(source=layer),
                       hv.streams.Tap(source=layer), hv.streams.RangeXY(source=layer)):
            stream.add_subscriber(getattr(self, f"_on_{type(stream).__name__.lower()}"))
        sel_layer = view_layer(self._selection_image, lims, hv.streams.Params(state, ["selection"])).opts(
            cmap=[HIGHLIGHT], alpha=0.75, colorbar=False, tools=[], clipping_colors={"NaN": "transparent"})
        focus = hv.DynamicMap(lambda focus: self._focus_marker(focus), streams=[hv.streams.Params(state, ["focus"])])
        method = str(data.projection_params.get("method", "UMAP")).upper()
        xlabel, ylabel = f"{method} 1", f"{method} 2"
        overlay = (layer * sel_layer * focus).opts(
            hv.opts.Overlay(responsive=True, hooks=[self._add_hover, self._label_colour, select_on_release], xlabel=xlabel, ylabel=ylabel,
                            active_tools=["lasso_select", "wheel_zoom"], title=self._title(column), **lims, **CANVAS),
        )
        return overlay

    def _title(self, column: str) -> str:
        return f"{self.state.data.n:,} galaxies coloured by {column}"

    def _shade(self, column: str, **view) -> hv.Image | hv.RGB:
        """The colour layer of one view (see :func:`shade`), with its colour limits."""
        if column == CLUSTER:  # the session's own clustering
            frame, kind = sorted_map_frame(self.state, column)
            return shade(frame, column, kind, **view)
        img = shared_raster(self.state.data, column, **view)
        if column_kind(self.state.data, column) == "numeric":
            img = img.opts(clim=colour_limits(self.state.data, column) or (np.nan, np.nan), clone=True)
        return img

    def _label_colour(self, plot, element) -> None:
        """HoloViews hook (runs on every update): the title and colour-bar label follow an
        in-place recolouring (HoloViews keeps the ones the plot was built with)."""
        column = self._colour.column
        plot.state.title.text = self._title(column)
        if self._kind == "numeric":
            for bar in colorbar_models(plot):
                bar.title = self.state.data.label(column)

    def _extent(self) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest (x, y) of the projection, float64 (2,) each."""
        xy = self.state.data.xy
        return np.nanmin(xy, axis=0).astype(float), np.nanmax(xy, axis=0).astype(float)

    def _lims(self) -> dict:
        """The current view after a rebuild, else the data extent padded by 4 %."""
        if self._ranges:
            return {"xlim": self._ranges["x"], "ylim": self._ranges["y"]}
        lo, hi = self._extent()
        pad = np.maximum((hi - lo) * 0.04, 1e-3)
        return {"xlim": (lo[0] - pad[0], hi[0] + pad[0]), "ylim": (lo[1] - pad[1], hi[1] + pad[1])}

    def _selection_image(self, selection: np.ndarray, **view) -> hv.Image:
        """The selected galaxies' pixels over one view (NaN elsewhere, drawn transparent)."""
        x0, x1 = view["x_range"]
        y0, y1 = view["y_range"]
        mask = selection_mask(*self._selection_points(selection), view)
        if mask is None:
            return hv.Image(np.full((1, 1), np.nan, np.float32), bounds=(0, 0, 1, 1), kdims=["x", "y"])
        img = np.where(mask, np.float32(1), np.float32(np.nan))[::-1]  # row 0 is the top of an hv.Image
        return hv.Image(img, bounds=(x0, y0, x1, y1), kdims=["x", "y"], vdims=["selected"])

    def _selection_points(self, selection: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates and the rows into them of the selected galaxies."""
        return self.state.data.xy, selection

    def _focus_xy(self, focus: str) -> np.ndarray:
        """(x, y) of the galaxy in focus as a (1, 2) array, (0, 2) for none."""
        row = self.state.data.position(focus) if focus else None
        return self.state.data.xy[[row]] if row is not None else np.empty((0, 2), np.float32)

    def _focus_marker(self, focus: str) -> hv.Points:
        xy = self._focus_xy(focus)
        return hv.Points(xy, kdims=["x", "y"]).opts(marker="star", size=22, fill_color="white",
                                                     line_color=FOCUS, line_width=2)

    # -- hover: plain Bokeh, outside the HoloViews pipeline --------------------------------------
    def _add_hover(self, plot, element) -> None:
        """HoloViews hook: a ring on the galaxy under the cursor, with a tooltip.

        The cursor position goes to the server throttled in the page (at most 20 a second,
        :func:`~galexplore.dashboard.gestures.throttled_cursor`); the nearest galaxy (k-d
        tree) is written into one small data source. Nothing else of the page is
        re-rendered, so hovering stays cheap at any survey size.
        """
        from bokeh.events import PanEnd, PanStart
        from bokeh.models import ColumnDataSource, HoverTool

        fig = plot.state
        if fig.id in self._hover_figures:  # hooks also run on every update
            return
        self._hover_figures.add(fig.id)
        data = self.state.data
        cols = ["galaxy_id", *data.key_properties]
        source = ColumnDataSource(self._hover_data(None), name="gx-hover-source")
        ring = fig.scatter("x", "y", source=source, size=14, fill_alpha=0, line_color="black", line_width=1.5,
                           name="gx-hover")
        tips = [("galaxy", "@galaxy_id"), *[(data.label(c), f"@{{{c}}}") for c in cols[1:]]]
        fig.add_tools(HoverTool(renderers=[ring], tooltips=tips))
        throttled_cursor(fig, partial(self._on_cursor, source))
        # No hover while a lasso or box is drawn: each hover update repaints the map under the
        # cursor, and a tooltip popping up under it must not interrupt the gesture
        fig.on_event(PanStart, partial(self._on_drag, source, True))
        fig.on_event(PanEnd, partial(self._on_drag, source, False))

    def hovered_row(self, x: float, y: float) -> int | None:
        """Catalog row of the galaxy within a few pixels of data point (x, y), or None."""
        data = self.state.data
        if x is None or y is None or not np.isfinite([x, y]).all():
            return None
        xr = self._ranges.get("x") or (float(data.xy[:, 0].min()), float(data.xy[:, 0].max()))
        dist, row = point_tree(data).query([x, y], distance_upper_bound=HOVER_TOLERANCE * (xr[1] - xr[0]))
        return int(row) if np.isfinite(dist) else None

    def _hover_data(self, row: int | None) -> dict[str, list]:
        data = self.state.data
        rows = [] if row is None else [row]
        out = {"x": data.xy[rows, 0].tolist(), "y": data.xy[rows, 1].tolist()}
        for c in ["galaxy_id", *data.key_properties]:
            out[c] = data.catalog[c].iloc[rows].tolist()
        return out

    @reports_errors("hover")
    def _on_cursor(self, source, x: float, y: float) -> None:
        """The pointer is at data point (x, y) (NaN: off the map): ring the galaxy under it."""
        if not self._dragging:
            self._show_hover(source, self.hovered_row(x, y))

    def _on_drag(self, source, dragging: bool, _event=None) -> None:
        self._dragging = dragging
        if dragging:
            self._show_hover(source, None)

    def _show_hover(self, source, row: int | None) -> None:
        shown = source.data["galaxy_id"]
        if (row is None and not shown) or (row is not None and shown and shown[0] == self.state.data.galaxy_ids[row]):
            return
        source.data = self._hover_data(row)

    def _recolour(self, *_events) -> None:
        column = self.state.color_by
        if self._kind == "numeric" and column_kind(self.state.data, column) == "numeric":
            self._colour.event(column=column)  # re-renders the colour layer only
        else:
            self._rebuild()

    def _rebuild(self, *_events) -> None:
        self._pane.object = self._build()

    def _on_clusters(self, *_events) -> None:
        if self.state.color_by == CLUSTER:
            self._rebuild()

    # -- stream callbacks (never raise into the server) ----------------------------------------
    @reports_errors("lasso selection")
    def _on_lasso(self, geometry=None, **_) -> None:
        if geometry is None or len(geometry) < 3:
            return
        polygon = np.asarray(geometry, dtype=float)
        self.state.select(self._lasso_rows(polygon), "lasso", lasso=format_polygon(polygon))

    @reports_errors("box selection")
    def _on_boundsxy(self, bounds=None, **_) -> None:
        if bounds is None:
            return
        self.state.select(self._box_rows(bounds), "box")

    @reports_errors("tap")
    def _on_tap(self, x=None, y=None, **_) -> None:
        if x is None or y is None:
            return
        xr = self._ranges.get("x") or tuple(float(v[0]) for v in self._extent())
        galaxy_id = self._nearest_id(x, y, TAP_TOLERANCE * (xr[1] - xr[0]))
        if galaxy_id is not None:
            self.state.focus = galaxy_id

    def _lasso_rows(self, polygon: np.ndarray) -> np.ndarray:
        return lasso_select(self.state.data.xy, polygon)

    def _box_rows(self, bounds) -> np.ndarray:
        return box_select(self.state.data.xy, bounds)

    def _nearest_id(self, x: float, y: float, tolerance: float) -> str | None:
        row = nearest(self.state.data.xy, (x, y), tolerance)
        return None if row is None else str(self.state.data.galaxy_ids[row])

    def _on_rangexy(self, x_range=None, y_range=None, **_) -> None:
        if x_range is not None and y_range is not None and np.isfinite([*x_range, *y_range]).all():
            self._ranges = {"x": tuple(x_range), "y": tuple(y_range)}

    def __panel__(self):
        return self._pane
