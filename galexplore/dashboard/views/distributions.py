"""Property distributions of the selection against the whole survey, and the selection's counts."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import panel as pn
import param

from galexplore.dashboard import _compat
from galexplore.dashboard._setup import fit_range, served
from galexplore.dashboard.data import (
    ExplorerData,
    class_codes,  # noqa: F401 (part of this module's API)
    per_server_cache,
)
from galexplore.dashboard.palettes import HIGHLIGHT
from galexplore.dashboard.state import ExplorerState, reports_errors
from galexplore.dashboard.url_state import format_numbers, select_link
from galexplore.dashboard.views.in_view import InView

DEFAULT_COLUMNS = ("log_mstar", "log_ssfr", "ew_ha", "log_age_lw", "zh_lw", "log_sigma_star")
N_BINS = 30
#: Size of each histogram figure, px (three to a row).
FIGURE_WIDTH, FIGURE_HEIGHT = 280, 200
#: In a served page, histograms scrolled into view before the map's first image are built at the
#: latest this long after that (at once when the map is drawn).
DEFERRED_MS = 3000


def histogram_pair(
    values: np.ndarray, selected: np.ndarray, bins: int = N_BINS, *, edges: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Density histograms of all finite ``values`` and of ``values[selected]`` on shared bins.

    Bins span the 0.5–99.5 percentiles of the survey (outliers fall outside), unless ``edges``
    are given (then the survey histogram is not recomputed and comes back empty).

    Returns
    -------
    edges (bins + 1,), survey density (bins,), selection density (bins,)
    """
    v = np.asarray(values, dtype=float)
    if edges is not None:
        s = v[np.asarray(selected, dtype=np.int64)]
        s = s[np.isfinite(s)]
        sel_d = np.histogram(s, bins=edges, density=True)[0] if s.size else np.zeros(len(edges) - 1)
        return edges, np.empty(0), sel_d
    finite = np.isfinite(v)
    if not finite.any():
        edges = np.linspace(0, 1, bins + 1)
        return edges, np.zeros(bins), np.zeros(bins)
    lo, hi = np.percentile(v[finite], [0.5, 99.5])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    all_d, _ = np.histogram(v[finite], bins=edges, density=True)
    s = v[np.asarray(selected, dtype=np.int64)]
    s = s[np.isfinite(s)]
    sel_d = np.histogram(s, bins=edges, density=True)[0] if s.size else np.zeros(bins)
    return edges, all_d, sel_d


def class_table(codes: np.ndarray, classes: list[str], rows: np.ndarray) -> pd.DataFrame:
    """Counts and fractions of each class in the selection (``rows``) and in the survey."""
    survey = np.bincount(codes[codes >= 0], minlength=len(classes))
    sel_codes = codes[np.asarray(rows, dtype=np.int64)]
    sel = np.bincount(sel_codes[sel_codes >= 0], minlength=len(classes))
    n_sel, n_all = max(len(rows), 1), len(codes)
    return pd.DataFrame(
        {
            "class": classes,
            "selected": sel.astype(int),
            "selected %": np.round(100 * sel / n_sel, 1),
            "survey %": np.round(100 * survey / n_all, 1),
        }
    )


@per_server_cache(64)
def survey_histogram(data: ExplorerData, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges (N_BINS + 1,) and the survey's density (N_BINS,) of one column
    (:func:`histogram_pair`), computed once per server: every page's histogram of the
    column shows the same survey (50 ms a column at 10⁶ galaxies)."""
    edges, all_d, _ = histogram_pair(data.catalog[column].to_numpy(float), np.empty(0, np.int64))
    edges.setflags(write=False)
    all_d.setflags(write=False)
    return edges, all_d


def fit_heights(fig) -> None:
    """Fit a histogram figure's y range, from 0, to the tallest bar of its quads' sources."""
    fit_range(fig.y_range, *(r.data_source.data["top"] for r in fig.renderers), start=0.0)


class Distributions(pn.viewable.Viewer):
    """Histograms of chosen columns for the selection over the survey, and the sf_class mix.

    Plain Bokeh figures, one per column, built once per choice of columns: a new selection only
    replaces the bin heights in their data sources (no new plots, no HoloViews round trip).

    In a served page they are built when the page is scrolled to them (:class:`InView`, 200 px
    ahead), and not before the map has been drawn at its size (``ExplorerState.map_drawn``;
    :data:`DEFERRED_MS` after they came into view at the latest): they are at the foot of the
    page, and building them (0.3–0.5 s of server time at 10⁶ galaxies, and as long in the
    browser) held the map's first image up by about as much. A page never scrolled that far
    never builds them, and its selections do not update them. Until they are built the grid
    keeps the height the figures will take, so filling it in moves nothing on the page (a page
    that grows can change the map's width, which the server then renders again).
    """

    columns = param.ListSelector(default=[], objects=[], check_on_set=True, doc="Catalog columns to compare.")

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        numeric = [c for c in state.data.numeric_columns if c not in ("ra", "dec")]
        self.param.columns.objects = numeric
        if not self.columns:
            self.columns = [c for c in DEFAULT_COLUMNS if c in numeric][:6] or numeric[:4]
        self._summary = _compat.Markdown("", css_classes=["gx-summary"])
        self._classes = pn.widgets.Tabulator(
            pd.DataFrame(),
            show_index=False,
            disabled=True,
            height=140,
            css_classes=["gx-class-table"],
            layout="fit_data_table",
        )
        self._grid = pn.GridBox(ncols=3, css_classes=["gx-distributions"])
        self._sources: dict[str, tuple] = {}
        self._codes = state.data.sf_classes if "sf_class" in state.data.catalog.columns else None
        state.param.watch(self._on_selection, ["selection"])
        self.param.watch(lambda _: self._build(), ["columns"])
        self._update_text()
        self._in_view = InView()
        self._pending = served()
        if self._pending:  # at the foot of the page: built once in view (see the class doc)
            self._grid.min_height = self.grid_height(len(self.columns))
            self._in_view.param.watch(self._on_in_view, ["seen"])
            state.param.watch(self._build_deferred, ["map_drawn"])
        else:
            self._build()

    def _on_in_view(self, *_events) -> None:
        if self.state.map_drawn:
            self._build_deferred()
        else:  # (a background callback: Panel's others mark the page busy while they run)
            _compat.background_poll(self._build_deferred, DEFERRED_MS, count=1)

    def _build_deferred(self, *_events) -> None:
        if self._pending and self._in_view.seen:
            self._build()

    @staticmethod
    def grid_height(n: int) -> int:
        """Pixels the grid of ``n`` figures takes (3 a row, each FIGURE_HEIGHT plus its margins)."""
        return -(-n // 3) * (FIGURE_HEIGHT + 10)

    def _on_selection(self, *_events) -> None:
        self._update_text()
        rows = self.state.selection
        for col, (edges, sel_src, fig) in self._sources.items():
            _, _, sel_d = histogram_pair(self.state.data.catalog[col].to_numpy(float), rows, edges=edges)
            sel_src.data = {"left": edges[:-1], "right": edges[1:], "top": sel_d}
            fit_heights(fig)

    def _update_text(self) -> None:
        data, rows = self.state.data, self.state.selection
        n = len(rows)
        self._summary.object = (
            f"**{n:,}** of {data.n:,} galaxies selected ({100 * n / max(data.n, 1):.1f} %)"
            if n
            else f"No selection: the survey's {data.n:,} galaxies are shown in grey."
        )
        if self._codes is not None:
            self._classes.value = class_table(*self._codes, rows)

    def _build(self) -> None:
        self._pending = False
        self._sources = {}
        panes = []
        for i, col in enumerate(self.columns):
            fig, edges, sel_src = self.figure(col, self.state.selection, legend=i == 0)
            self._sources[col] = (edges, sel_src, fig)
            panes.append(pn.pane.Bokeh(fig))
        self._grid.objects = panes

    def figure(self, column: str, rows: np.ndarray, *, legend: bool = False):
        """A Bokeh figure of one column: survey (grey) and selection (highlight) densities."""
        from bokeh.events import SelectionGeometry
        from bokeh.models import BoxSelectTool, ColumnDataSource, Range1d
        from bokeh.plotting import figure

        edges, all_d = survey_histogram(self.state.data, column)
        _, _, sel_d = histogram_pair(self.state.data.catalog[column].to_numpy(float), rows, edges=edges)
        # ranges set by the server (fit_heights), not by BokehJS: no range messages back per selection
        pad = 0.02 * (edges[-1] - edges[0])
        fig = figure(
            width=FIGURE_WIDTH,
            height=FIGURE_HEIGHT,
            toolbar_location=None,
            x_axis_label=self.state.data.label(column),
            y_axis_label="density",
            tools="xbox_select",  # a range of values selects those galaxies on every view
            x_range=Range1d(edges[0] - pad, edges[-1] + pad),
            y_range=Range1d(0, 1),
        )
        all_src = ColumnDataSource({"left": edges[:-1], "right": edges[1:], "top": all_d})
        sel_src = ColumnDataSource({"left": edges[:-1], "right": edges[1:], "top": sel_d})
        extra = {"legend_label": "survey"} if legend else {}
        fig.quad(left="left", right="right", bottom=0, top="top", source=all_src, color="#bbbbbb", **extra)
        extra = {"legend_label": "selection"} if legend else {}
        fig.quad(
            left="left",
            right="right",
            bottom=0,
            top="top",
            source=sel_src,
            color=HIGHLIGHT,
            alpha=0.55,
            **extra,
        )
        if legend:
            fig.legend.location = "top_right"
            fig.legend.label_text_font_size = "9pt"
        fit_heights(fig)
        fig.select_one({"type": BoxSelectTool}).renderers = []  # no bars dimmed: only the range is sent
        fig.on_event(SelectionGeometry, partial(self._on_range, column, fig))
        return fig, edges, sel_src

    def _on_range(self, column: str, fig, event) -> None:
        """A range drawn on a histogram (Bokeh event): select it on the next tick, as a Panel callback."""
        from panel.io.state import set_curdoc

        geometry = event.geometry or {}
        if not event.final or geometry.get("type") != "rect":
            return
        with set_curdoc(fig.document):
            pn.state.execute(
                partial(self._select_range, column, geometry["x0"], geometry["x1"]), schedule=True
            )

    @reports_errors("histogram range")
    def _select_range(self, column: str, lo: float, hi: float) -> None:
        select_link(self.state, "range", f"{column},{format_numbers(sorted((lo, hi)))}")

    def controls(self) -> pn.viewable.Viewable:
        return pn.widgets.MultiChoice.from_param(
            self.param.columns, label="Properties", sizing_mode="stretch_width"
        )

    def __panel__(self):
        return pn.Column(
            self._summary,
            self._classes,
            self.controls(),
            self._in_view,
            self._grid,
            sizing_mode="stretch_width",
        )
