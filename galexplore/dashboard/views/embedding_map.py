"""The embedding map: every galaxy's projection, rasterised by Datashader.

The map is never drawn as raw glyphs: the points are aggregated on the server into an
image the size of the plot (mean of a numeric column, or counts per category) and spread
dynamically so isolated galaxies stay visible (:mod:`galexplore.dashboard.compute.raster`).
Hovering sends the cursor position to the server, which finds the nearest galaxy in a k-d
tree and draws it as one ring with a tooltip (galaxy id and key properties). Lasso and box
selections arrive as polygons in data coordinates and are turned into catalog rows with
:mod:`galexplore.dashboard.compute.selection`.
"""

from __future__ import annotations

import logging
from functools import partial

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from galexplore.dashboard import _compat
from galexplore.dashboard._compat import colorbar_models
from galexplore.dashboard._setup import MAP_CANVAS, served
from galexplore.dashboard.compute.raster import (
    VALUE,
    category_order,
    placeholder_active,
    robust_limits,
    selection_mask,
    shade,
    shared_raster,
    sorted_map_frame,
    view_layer,
)
from galexplore.dashboard.compute.selection import box_select, lasso_select, nearest
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.gestures import select_on_release, throttled_cursor
from galexplore.dashboard.palettes import CONTINUOUS_CMAP, FOCUS, HIGHLIGHT, category_colors
from galexplore.dashboard.state import CLUSTER, DERIVED, ExplorerState, column_kind, reports_errors
from galexplore.dashboard.url_state import format_numbers, format_polygon, format_range, parse_range
from galexplore.dashboard.views.formatting import format_value
from galexplore.dashboard.views.map_controls import HV_TOOLS, MODES, legend_html, set_drag_mode

log = logging.getLogger(__name__)

#: Fraction of the visible x-range within which a tap picks the nearest galaxy.
TAP_TOLERANCE = 0.02
#: Fraction of the visible x-range within which the cursor shows a galaxy's tooltip.
HOVER_TOLERANCE = 0.015


@per_server_cache(4)
def point_tree(data: ExplorerData):
    """A k-d tree of the projection (nearest galaxy under the cursor), shared by all sessions."""
    from scipy.spatial import cKDTree

    return cKDTree(np.asarray(data.xy, dtype=np.float64))


#: The map's colouring as a stream: a new column re-renders the colour layer in place.
ColourStream = hv.streams.Stream.define("ColourStream", column="")


class EmbeddingMap(pn.viewable.Viewer):
    """The rasterised map of the projection, with lasso/box selection and tap-to-focus.

    Parameters
    ----------
    state : ExplorerState
        The session state it reads (colour-by, clusters, selection, focus) and writes
        (selection, focus).
    """

    height = param.Integer(default=560)
    select_mode = param.Selector(
        default="lasso", objects=list(MODES), doc="What a drag on the map does: lasso, box or pan."
    )

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._ranges: dict[str, tuple[float, float]] = {}
        self._hover_figures: set[str] = set()
        self._dragging = False  # a lasso, box or pan gesture is in progress on the map
        if state.map_range:  # a view restored from a link, before the first plot
            self._on_map_range()
        self._mode_figure = None  # the plot whose drag tool the switch sets
        self._mode_figures: set[str] = set()
        self._legend = _compat.HTML(
            "", css_classes=["gx-map-legend"], visible=False, margin=(8, 10), sizing_mode="stretch_width"
        )
        self._mode = pn.widgets.RadioButtonGroup.from_param(
            self.param.select_mode,
            options={v: k for k, v in MODES.items()},
            color="primary",
            variant="outline",
            css_classes=["gx-select-mode"],
            margin=(5, 10),
        )
        self.param.watch(self._on_mode, ["select_mode"])
        self._pane = pn.pane.HoloViews(
            self._build(),
            sizing_mode="stretch_width",
            height=self.height,
            linked_axes=False,
            css_classes=["gx-map"],
        )
        state.param.watch(self._recolour, ["color_by"])
        state.param.watch(self._on_map_range, ["map_range"])
        state.param.watch(self._on_clusters, ["cluster_labels"])
        state.param.watch(self._on_derived, ["derived"])

    # -- building ----------------------------------------------------------------------------
    def _build(self):
        state, data = self.state, self.state.data
        column = state.color_by
        self._kind = column_kind(data, column)
        self._update_legend(column)
        # A numeric colouring changes in place (the same plot: new pixels, colour limits and
        # labels); only a change of kind or a categorical one builds a new plot
        self._colour = ColourStream(column=column)
        lims = self._lims()
        layer = view_layer(self._shade, lims, self._colour)
        tools = ["lasso_select", "box_select", "tap"]
        if self._kind == "numeric":
            layer = layer.opts(
                cmap=CONTINUOUS_CMAP,
                colorbar=True,
                clabel=data.label(column),
                tools=tools,
                clipping_colors={"NaN": "transparent"},
            )
        else:
            layer = layer.opts(show_legend=True, legend_position="right", tools=tools)
        for stream in (
            hv.streams.Lasso(source=layer),
            hv.streams.BoundsXY(source=layer),
            hv.streams.Tap(source=layer),
            hv.streams.RangeXY(source=layer),
        ):
            stream.add_subscriber(getattr(self, f"_on_{type(stream).__name__.lower()}"))
        sel_layer = view_layer(
            lambda version, **view: self._selection_image(state.selection, **view),
            lims,
            state.selection_stream(),
        ).opts(cmap=[HIGHLIGHT], alpha=0.75, colorbar=False, tools=[], clipping_colors={"NaN": "transparent"})
        focus = hv.DynamicMap(
            lambda focus: self._focus_marker(focus), streams=[hv.streams.Params(state, ["focus"])]
        )
        method = str(data.projection_params.get("method", "UMAP")).upper()
        xlabel, ylabel = f"{method} 1", f"{method} 2"
        overlay = (layer * sel_layer * focus).opts(
            hv.opts.Overlay(
                responsive=True,
                hooks=[
                    self._add_hover,
                    self._label_colour,
                    select_on_release,
                    self._apply_mode,
                    _compat.prompt_view_events,
                ],
                xlabel=xlabel,
                ylabel=ylabel,
                active_tools=[HV_TOOLS[self.select_mode], "wheel_zoom"],
                title=self._title(column),
                **lims,
                **MAP_CANVAS,
            ),
        )
        return overlay

    def _title(self, column: str) -> str:
        return f"{self.state.data.n:,} galaxies coloured by {column}"

    def _shade(self, column: str, **view) -> hv.Image | hv.RGB:
        """The colour layer of one view (see :func:`shade`), with its colour limits."""
        if view["width"] > 1 and not self.state.map_drawn and served():
            # the first image at the plot's size: say so once it has gone out (next tick)
            pn.state.execute(partial(setattr, self.state, "map_drawn", True), schedule=True)
        if column == CLUSTER or self._is_derived(column):  # the session's clustering, anomaly scores, tags
            frame, kind = sorted_map_frame(self.state, column)
            lims = robust_limits(self.state.derived_values(column)) if kind == "numeric" else None
            return shade(frame, column, kind, binned=True, lims=lims, **view)
        return shared_raster(self.state.data, column, placeholder=placeholder_active(), **view)  # binned

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
        return self.state.data.extent

    def _lims(self) -> dict:
        """The current view after a rebuild, else the data extent padded by 4 %."""
        if self._ranges:
            return {"xlim": self._ranges["x"], "ylim": self._ranges["y"]}
        return self._full_lims()

    def _full_lims(self) -> dict:
        """The data extent padded by 4 %."""
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
        return hv.Points(xy, kdims=["x", "y"]).opts(
            marker="star", size=22, fill_color="white", line_color=FOCUS, line_width=2
        )

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
        ring = fig.scatter(
            "x",
            "y",
            source=source,
            size=14,
            fill_alpha=0,
            line_color="black",
            line_width=1.5,
            name="gx-hover",
        )
        tips = [("galaxy", "@galaxy_id"), ("coloured by", "@{gx_colour}")]
        tips += [(data.label(c), f"@{{gx_text_{c}}}") for c in cols[1:]]
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
        for c in data.key_properties:  # what the tooltip shows: the dashboard's precision
            out[f"gx_text_{c}"] = [format_value(c, v, unit=data.unit(c)) for v in out[c]]
        out["gx_colour"] = [self._colour_text(r) for r in rows]
        return out

    def _colour_text(self, row: int) -> str:
        """The galaxy's value of the map's colouring, e.g. ``"log_ssfr = -10.23 log yr⁻¹"``."""
        column, state = self.state.color_by, self.state
        if column == CLUSTER:
            names = state.cluster_names()
            value = names[row] if names is not None else None
        elif self._is_derived(column):
            value = state.derived_values(column)[row]
        else:
            value = state.data.catalog[column].iloc[row]
        return f"{column} = {format_value(column, value, unit=state.data.unit(column))}"

    # -- the selection-mode switch and the legend ------------------------------------------------
    def _apply_mode(self, plot, element) -> None:
        """HoloViews hook: the switch's drag tool is the plot's active one (see :func:`set_drag_mode`)."""
        fig = plot.state
        if fig.id not in self._mode_figures:  # hooks run on every update, of replaced plots too
            self._mode_figures.add(fig.id)
            self._mode_figure = fig  # the newest plot
        set_drag_mode(fig, self.select_mode)

    def _on_mode(self, *_events) -> None:
        if self._mode_figure is not None:
            set_drag_mode(self._mode_figure, self.select_mode)

    def _legend_categories(self, column: str) -> list[str]:
        """The categories of a categorical colouring, in the map's order (as :func:`shade` gets them)."""
        if column == CLUSTER or self._is_derived(column):
            values = self.state.cluster_names() if column == CLUSTER else self.state.derived_values(column)
            values = ["none"] if values is None else values
            return sorted(pd.Series(values).astype(str).fillna("none").unique(), key=category_order)
        return list(sorted_map_frame(self.state, column)[0][VALUE].cat.categories)

    def _update_legend(self, column: str) -> None:
        """A legend of the categories for a categorical colouring (none for a numeric one: its colour bar)."""
        if column_kind(self.state.data, column) != "categorical":
            self._legend.visible = False
            return
        colors = category_colors(column, self._legend_categories(column))
        self._legend.object = legend_html(colors, self.state.data.label(column))
        self._legend.visible = True

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
        if (row is None and not shown) or (
            row is not None and shown and shown[0] == self.state.data.galaxy_ids[row]
        ):
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

    def _is_derived(self, column: str) -> bool:
        """Whether ``column`` is a colouring the dashboard computes (anomaly scores, tags)."""
        return column in DERIVED and column not in self.state.data.catalog.columns

    def _on_derived(self, event) -> None:
        column = self.state.color_by
        if self._is_derived(column) and event.new.get(column) is not event.old.get(column):
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
        self.state.select(self._box_rows(bounds), "box", link=f"box={format_numbers(bounds)}")

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
        """A zoom or pan: remember the view; the link gets it on the next tick, after the raster."""
        if x_range is not None and y_range is not None and np.isfinite([*x_range, *y_range]).all():
            self._ranges = {"x": tuple(x_range), "y": tuple(y_range)}
            full = self._full_lims()
            whole = _close((full["xlim"], full["ylim"]), (x_range, y_range))
            value = "" if whole else format_range(x_range, y_range)
            pn.state.execute(lambda: self.state.param.update(map_range=value), schedule=True)

    @reports_errors("zooming the map")
    def _on_map_range(self, *_events) -> None:
        """The state's map range changed (a link, the find box): show it unless it is the view."""
        if not self.state.map_range:
            return
        x_range, y_range = parse_range(self.state.map_range)
        if self._ranges and _close((self._ranges["x"], self._ranges["y"]), (x_range, y_range)):
            return
        self._ranges = {"x": x_range, "y": y_range}
        if hasattr(self, "_pane"):
            self._rebuild()

    def __panel__(self):
        return pn.Column(
            pn.Row(self._mode, self._legend, sizing_mode="stretch_width"),
            self._pane,
            sizing_mode="stretch_width",
        )


def _close(a, b, rtol: float = 1e-4) -> bool:
    """Whether two views ((x0, x1), (y0, y1)) agree to ``rtol`` of their spans."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)  # (2, 2) each
    span = np.maximum(np.abs(a[:, 1] - a[:, 0]), 1e-12)[:, None]
    return bool((np.abs(a - b) <= rtol * span).all())
