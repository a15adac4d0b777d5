"""The star-forming main sequence: log SFR against log M* of the whole survey and the selection.

The whole survey is a Datashader density in grey; the selection is drawn on top coloured by
EW(Hα) class or cluster (as glyphs up to :data:`MAX_GLYPHS` galaxies, rasterised beyond); the
galaxy in focus is a star; the main-sequence relation is the dashed line.
"""

from __future__ import annotations

import zlib

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from holoviews.operation.datashader import datashade, dynspread, rasterize

from galexplore.analysis.clustering import NOISE_NAME
from galexplore.dashboard import _compat
from galexplore.dashboard._setup import CANVAS
from galexplore.dashboard.compute.raster import placeholder_active, placeholder_rows, view_layer, with_dtype
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.gestures import select_on_release
from galexplore.dashboard.palettes import DENSITY_CMAP, FOCUS, category_colors
from galexplore.dashboard.state import CLUSTER, ExplorerState, reports_errors
from galexplore.dashboard.url_state import format_numbers, format_polygon, select_link
from galexplore.data.relations import MS_SCATTER, MS_SLOPE, MS_ZERO, main_sequence

X, Y = "log_mstar", "log_sfr"
MAX_GLYPHS = 3000
CLASS = "group"


def class_mix(codes: np.ndarray, categories: list[str]) -> pd.Series:
    """Counts per category from class codes, in category order (zeros kept)."""
    counts = np.bincount(codes[codes >= 0], minlength=len(categories))
    return pd.Series(dict(zip(categories, counts.tolist(), strict=True)), dtype=int)


@per_server_cache(4)
def survey_frame(data: ExplorerData) -> pd.DataFrame:
    """log M* and log SFR of the galaxies where both are finite, float32 (the density layer's
    data, built once per server and shared by every session: HoloViews only reads it)."""
    x, y, ok = data.mass_sfr
    return pd.DataFrame({X: x[ok].astype(np.float32), Y: y[ok].astype(np.float32)})


def relation_layers(lo: float, hi: float) -> tuple[hv.Area, hv.Curve]:
    """The main-sequence relation over log M* ∈ [lo − 0.3, hi + 0.3]: its scatter band and line."""
    mx = np.linspace(lo - 0.3, hi + 0.3, 50)
    ms = hv.Curve((mx, main_sequence(mx)), X, Y, label="main sequence").opts(
        color="#444", line_dash="dashed", line_width=2
    )
    band = hv.Area((mx, main_sequence(mx) - MS_SCATTER, main_sequence(mx) + MS_SCATTER), X, [Y, "y2"]).opts(
        color="#888", alpha=0.12, line_alpha=0
    )
    return band, ms


#: Options of the survey's density layer: grey, histogram-equalised, no colour bar or tools.
DENSITY_OPTS = {"cmap": DENSITY_CMAP, "cnorm": "eq_hist", "colorbar": False, "tools": []}


def overlay_options(data, lims: dict):
    """Options of the diagram's overlay: axis labels with units, limits, the relation as title."""
    return hv.opts.Overlay(
        responsive=True,
        xlabel=data.label(X),
        ylabel=data.label(Y),
        show_legend=False,
        **lims,
        **CANVAS,
        title=f"Main sequence: log SFR = {MS_SLOPE} log M* {MS_ZERO:+.2f}",
    )


def density_view(points: hv.Points, lims: dict) -> hv.DynamicMap:
    """The survey's density in grey: Datashader counts as float32 (half the bytes of HoloViews'
    float64), re-rendered at each view as a :func:`view_layer`, so with no image at a guessed
    size in the page a server sends (the first one comes at the plot's size, once the browser
    has reported it). The points may be a Dask DataFrame, which the placeholder does not read."""

    def render(**view) -> hv.Image:
        shown = points.clone(placeholder_rows(points.data)) if placeholder_active() else points
        img = rasterize(shown, aggregator=ds.count(), dynamic=False, **view)
        return with_dtype(img, np.float32, zero_is_empty=True)  # empty pixels transparent, as before

    return view_layer(render, lims).opts(**DENSITY_OPTS)


class MainSequence(pn.viewable.Viewer):
    """log SFR–log M* diagram of the survey with the selection and the galaxy in focus."""

    colour = param.Selector(default="sf_class", objects=["sf_class", CLUSTER], doc="Colour of the selection.")
    height = param.Integer(default=380)

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        data = state.data
        self.available = X in data.catalog.columns and Y in data.catalog.columns
        if "sf_class" not in data.catalog.columns:
            self.colour = CLUSTER
        self._caption = _compat.HTML("", css_classes=["gx-ms-caption"], sizing_mode="stretch_width")
        self._plot = pn.pane.HoloViews(
            None,
            sizing_mode="stretch_width",
            height=self.height,
            css_classes=["gx-main-sequence"],
            linked_axes=False,
        )
        self._code_cache = self._frame_cache = None
        if self.available:
            self._x, self._y, self._ok = data.mass_sfr  # shared by every session, read-only
            self._survey = hv.Points(survey_frame(data), kdims=[X, Y])
            self._extent = (
                [(float(v[self._ok].min()), float(v[self._ok].max())) for v in (self._x, self._y)]
                if self._ok.any()
                else [(0, 1)] * 2
            )
            self._plot.object = self._build()
            state.param.watch(self._update_caption, ["selection", "cluster_labels"])
            state.param.watch(self._rebuild_if_cluster, ["cluster_labels"])
            self.param.watch(lambda _: self._rebuild(), ["colour"])
            self._update_caption()
        else:
            self._caption.object = "<i>The catalog has no log_mstar / log_sfr columns.</i>"

    def categories(self) -> list[str]:
        """The classes of the current colouring, in legend order."""
        return self._codes()[1]

    def _codes(self) -> tuple[np.ndarray, list[str]]:
        """Class code (N,) of every galaxy and the class names, computed once per colouring/clustering."""
        key = (self.colour, self.state.cluster_key)
        if self._code_cache is None or self._code_cache[0] != key:
            if self.colour == CLUSTER:
                labels = self.state.cluster_labels
                if labels is None:
                    codes, cats = np.zeros(self.state.data.n, np.int16), ["none"]
                else:
                    found = [int(c) for c in np.unique(labels) if c >= 0]
                    cats = [str(c) for c in found] + ([NOISE_NAME] if (labels < 0).any() else [])
                    lookup = np.full(int(labels.max(initial=0)) + 2, len(cats) - 1, dtype=np.int16)
                    lookup[found] = np.arange(len(found))
                    codes = lookup[labels]  # −1 (noise) indexes the last entry, "noise"
            else:
                codes, cats = self.state.data.sf_classes
            self._code_cache = (key, (codes, cats))
        return self._code_cache[1]

    def selected_frame(self, rows: np.ndarray) -> pd.DataFrame:
        """Selected galaxies with finite mass and SFR: log_mstar, log_sfr, class (categorical).

        The frame of the last selection is kept: the caption and both plot layers ask for it.
        """
        rows = np.asarray(rows, dtype=np.int64)
        key = (zlib.crc32(rows.tobytes()), len(rows), self.colour, self.state.cluster_key)
        if self._frame_cache is not None and self._frame_cache[0] == key:
            return self._frame_cache[1]
        rows = rows[self._ok[rows]]
        codes, cats = self._codes()
        frame = pd.DataFrame(
            {
                X: self._x[rows],
                Y: self._y[rows],
                CLASS: pd.Categorical.from_codes(codes[rows], categories=cats),
            }
        )
        self._frame_cache = (key, frame)
        return frame

    # -- plot ------------------------------------------------------------------------------
    def _build(self):
        data = self.state.data
        colors = category_colors(self.colour, self.categories())
        (x0, x1), (y0, y1) = self._extent
        lims = {"xlim": (x0 - 0.2, x1 + 0.2), "ylim": (y0 - 0.3, y1 + 0.3)}
        density = density_view(self._survey, lims).opts(tools=["box_select", "lasso_select"])
        # a box or lasso here selects on every view (two-way brushing); NaN mass or SFR never
        for stream in (hv.streams.BoundsXY(source=density), hv.streams.Lasso(source=density)):
            stream.add_subscriber(getattr(self, f"_on_{type(stream).__name__.lower()}"))
        sel = self.state.selection_stream()
        glyphs = hv.DynamicMap(lambda version: self._glyphs(self.state.selection, colors), streams=[sel])
        raster = view_layer(
            lambda version, **view: self._selection_raster(
                selection=self.state.selection, colors=colors, **view
            ),
            lims,
            sel,
        ).opts(show_legend=False)
        focus = hv.DynamicMap(self._focus, streams=[hv.streams.Params(self.state, ["focus"])])
        band, ms = relation_layers(*np.nanpercentile(data.catalog[X].to_numpy(float), [0.5, 99.5]))
        return (density * band * ms * raster * glyphs * focus).opts(
            overlay_options(data, lims),
            hv.opts.Overlay(
                active_tools=["box_select"], hooks=[select_on_release, _compat.prompt_view_events]
            ),
        )

    @reports_errors("main sequence box")
    def _on_boundsxy(self, bounds=None, **_) -> None:
        if bounds is not None:
            select_link(self.state, "msbox", format_numbers(bounds))

    @reports_errors("main sequence lasso")
    def _on_lasso(self, geometry=None, **_) -> None:
        if geometry is not None and len(geometry) >= 3:
            select_link(self.state, "mslasso", format_polygon(geometry))

    def _glyphs(self, rows, colors) -> hv.Points:
        frame = self.selected_frame(rows) if len(rows) <= MAX_GLYPHS else self.selected_frame(rows[:0])
        return hv.Points(frame, [X, Y], [CLASS]).opts(
            color=CLASS, cmap=colors, size=6, line_color="white", line_width=0.5, alpha=0.9, show_legend=False
        )

    def _selection_raster(self, *, selection, colors, x_range, y_range, width, height) -> hv.RGB:
        """A selection too big for glyphs, shaded by class over one view; an empty image (and no
        Datashader kernel to compile) while the selection is drawn as glyphs or is empty."""
        rows = np.asarray(selection)
        frame = self.selected_frame(rows) if len(rows) > MAX_GLYPHS else None
        if frame is None or frame.empty:
            return hv.RGB(
                np.zeros((2, 2, 4), np.uint8), bounds=(x_range[0], y_range[0], x_range[1], y_range[1])
            )
        img = datashade(
            hv.Points(frame, [X, Y], [CLASS]),
            aggregator=ds.count_cat(CLASS),
            color_key=colors,
            min_alpha=120,
            dynamic=False,
            x_range=x_range,
            y_range=y_range,
            width=width,
            height=height,
        )
        return dynspread(img, max_px=2, threshold=0.5, dynamic=False)

    def _focus(self, focus: str) -> hv.Points:
        row = self.state.data.position(focus) if focus else None
        pts = (
            []
            if row is None or not self._ok[row]
            else [tuple(self.state.data.catalog.loc[row, [X, Y]].astype(float))]
        )
        return hv.Points(pts, [X, Y]).opts(
            marker="star", size=24, fill_color="yellow", line_color=FOCUS, line_width=2
        )

    def _rebuild(self) -> None:
        if self.available:
            self._plot.object = self._build()
            self._update_caption()

    def _rebuild_if_cluster(self, *_events) -> None:
        if self.colour == CLUSTER:
            self._rebuild()

    def _update_caption(self, *_events) -> None:
        rows = self.state.selection
        frame = self.selected_frame(rows)
        colors = category_colors(self.colour, self.categories())
        mix = class_mix(np.asarray(frame[CLASS].cat.codes), self.categories())
        swatches = " ".join(
            f'<span class="gx-swatch" style="color:{colors[c]}">●</span> {c}: <b>{n:,}</b>'
            for c, n in mix.items()
        )
        dropped = len(rows) - len(frame)
        extra = f" ({dropped} without mass or SFR)" if dropped else ""
        self._caption.object = (
            f'<span class="gx-ms-count"><b>{len(frame):,}</b> selected on the main sequence'
            f"{extra}</span> · {swatches}"
        )

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.widgets.RadioButtonGroup.from_param(self.param.colour, color="light"), self._caption),
            self._plot,
            sizing_mode="stretch_width",
        )
