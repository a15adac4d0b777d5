"""The star-forming main sequence: log SFR against log M* of the whole survey and the selection.

The whole survey is a Datashader density in grey; the selection is drawn on top coloured by
EW(Hα) class or cluster (as glyphs up to :data:`MAX_GLYPHS` galaxies, rasterised beyond); the
galaxy in focus is a star; the main-sequence relation is the dashed line.
"""

from __future__ import annotations

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from holoviews.operation.datashader import datashade, dynspread, rasterize

from galexplore.dashboard.palettes import DENSITY_CMAP, FOCUS, category_colors
from galexplore.dashboard.state import CLUSTER, ExplorerState
from galexplore.data.synthetic.population import MS_SCATTER, MS_SLOPE, MS_ZERO, main_sequence

X, Y = "log_mstar", "log_sfr"
MAX_GLYPHS = 3000
CLASS = "group"


def selection_classes(state: ExplorerState, colour: str, rows: np.ndarray) -> np.ndarray:
    """The class (sf_class or cluster name) of each selected row, as strings."""
    if colour == CLUSTER:
        names = state.cluster_names()
        return names[rows] if names is not None else np.full(len(rows), "none", dtype=object)
    return state.data.catalog[colour].astype(str).to_numpy(dtype=object)[rows]


def class_mix(classes: np.ndarray, categories: list[str]) -> pd.Series:
    """Counts per category, in category order (zeros kept)."""
    counts = pd.Series(classes).value_counts()
    return pd.Series({c: int(counts.get(c, 0)) for c in categories}, dtype=int)


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
        self._caption = pn.pane.HTML("", css_classes=["gx-ms-caption"], sizing_mode="stretch_width")
        self._plot = pn.pane.HoloViews(None, sizing_mode="stretch_width", height=self.height,
                                       css_classes=["gx-main-sequence"], linked_axes=False)
        if self.available:
            xy = data.catalog[[X, Y]].to_numpy(float)
            self._ok = np.isfinite(xy).all(axis=1)
            self._survey = hv.Points(pd.DataFrame(xy[self._ok], columns=[X, Y]), kdims=[X, Y])
            self._extent = [(float(v.min()), float(v.max())) for v in xy[self._ok].T] if self._ok.any() else [(0, 1)] * 2
            self._plot.object = self._build()
            state.param.watch(self._update_caption, ["selection", "cluster_labels"])
            state.param.watch(self._rebuild_if_cluster, ["cluster_labels"])
            self.param.watch(lambda _: self._rebuild(), ["colour"])
            self._update_caption()
        else:
            self._caption.object = "<i>The catalog has no log_mstar / log_sfr columns.</i>"

    def categories(self) -> list[str]:
        if self.colour == CLUSTER:
            names = self.state.cluster_names()
            return sorted(set(names), key=lambda c: (c == "noise", len(c), c)) if names is not None else ["none"]
        return [c for c in ("star-forming", "green-valley", "retired") if c in set(self.state.data.catalog["sf_class"].astype(str))]

    def selected_frame(self, rows: np.ndarray) -> pd.DataFrame:
        """Selected galaxies with finite mass and SFR: log_mstar, log_sfr, class (categorical)."""
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[self._ok[rows]]
        cat = self.state.data.catalog
        return pd.DataFrame({
            X: cat[X].to_numpy(float)[rows], Y: cat[Y].to_numpy(float)[rows],
            CLASS: pd.Categorical(selection_classes(self.state, self.colour, rows), categories=self.categories()),
        })  # fmt: skip

    # -- plot ------------------------------------------------------------------------------
    def _build(self):
        data = self.state.data
        colors = category_colors(self.colour, self.categories())
        density = rasterize(self._survey, aggregator=ds.count()).opts(
            cmap=DENSITY_CMAP, cnorm="eq_hist", colorbar=False, tools=[])
        sel = hv.streams.Params(self.state, ["selection"])
        glyphs = hv.DynamicMap(lambda selection: self._glyphs(selection, colors), streams=[sel])
        raster = hv.DynamicMap(lambda selection: self._raster_points(selection), streams=[sel])
        raster = dynspread(datashade(raster, aggregator=ds.count_cat(CLASS), color_key=colors, min_alpha=120),
                           max_px=2, threshold=0.5).opts(show_legend=False)
        focus = hv.DynamicMap(self._focus, streams=[hv.streams.Params(self.state, ["focus"])])
        lo, hi = np.nanpercentile(data.catalog[X].to_numpy(float), [0.5, 99.5])
        mx = np.linspace(lo - 0.3, hi + 0.3, 50)
        ms = hv.Curve((mx, main_sequence(mx)), X, Y, label="main sequence").opts(color="#444", line_dash="dashed", line_width=2)
        band = hv.Area((mx, main_sequence(mx) - MS_SCATTER, main_sequence(mx) + MS_SCATTER), X, [Y, "y2"]).opts(
            color="#888", alpha=0.12, line_alpha=0)
        (x0, x1), (y0, y1) = self._extent
        return (density * band * ms * raster * glyphs * focus).opts(
            hv.opts.Overlay(responsive=True, xlabel=data.label(X), ylabel=data.label(Y), show_legend=False,
                            xlim=(x0 - 0.2, x1 + 0.2), ylim=(y0 - 0.3, y1 + 0.3),
                            title=f"Main sequence: log SFR = {MS_SLOPE} log M* {MS_ZERO:+.2f}"),
        )

    def _glyphs(self, rows, colors) -> hv.Points:
        frame = self.selected_frame(rows) if len(rows) <= MAX_GLYPHS else self.selected_frame(rows[:0])
        return hv.Points(frame, [X, Y], [CLASS]).opts(color=CLASS, cmap=colors, size=6, line_color="white",
                                                      line_width=0.5, alpha=0.9, show_legend=False)

    def _raster_points(self, rows) -> hv.Points:
        frame = self.selected_frame(rows if len(rows) > MAX_GLYPHS else rows[:0])
        if frame.empty:  # HoloViews cannot shade zero rows by category; one NaN row draws nothing
            frame = pd.DataFrame({X: [np.nan], Y: [np.nan],
                                  CLASS: pd.Categorical([self.categories()[0]], categories=self.categories())})
        # explicit ranges so that an empty selection still rasterises onto the survey's extent
        return hv.Points(frame, [X, Y], [CLASS]).redim.range(**{X: self._extent[0], Y: self._extent[1]})

    def _focus(self, focus: str) -> hv.Points:
        row = self.state.data.position(focus) if focus else None
        pts = [] if row is None or not self._ok[row] else [tuple(self.state.data.catalog.loc[row, [X, Y]].astype(float))]
        return hv.Points(pts, [X, Y]).opts(marker="star", size=24, fill_color="yellow", line_color=FOCUS, line_width=2)

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
        mix = class_mix(frame[CLASS].astype(str).to_numpy(), self.categories())
        swatches = " ".join(
            f'<span class="gx-swatch" style="color:{colors[c]}">●</span> {c}: <b>{n:,}</b>' for c, n in mix.items()
        )
        dropped = len(rows) - len(frame)
        extra = f" ({dropped} without mass or SFR)" if dropped else ""
        self._caption.object = (f'<span class="gx-ms-count"><b>{len(frame):,}</b> selected on the main sequence'
                                f"{extra}</span> · {swatches}")

    def __panel__(self):
        return pn.Column(pn.Row(pn.widgets.RadioButtonGroup.from_param(self.param.colour, color="light"),
                                self._caption), self._plot, sizing_mode="stretch_width")
