"""Property distributions of the selection against the whole survey, and the selection's counts."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from galexplore.dashboard.palettes import HIGHLIGHT
from galexplore.dashboard.state import ExplorerState
from galexplore.data.columns import SF_CLASSES

DEFAULT_COLUMNS = ("log_mstar", "log_ssfr", "ew_ha", "log_age_lw", "zh_lw", "log_sigma_star")
N_BINS = 30


def histogram_pair(values: np.ndarray, selected: np.ndarray, bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Density histograms of all finite ``values`` and of ``values[selected]`` on shared bins.

    Bins span the 0.5–99.5 percentiles of the survey (outliers fall outside).

    Returns
    -------
    edges (bins + 1,), survey density (bins,), selection density (bins,)
    """
    v = np.asarray(values, dtype=float)
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


def class_table(catalog: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Counts and fractions of each ``sf_class`` in the selection and in the survey."""
    survey = catalog["sf_class"].astype(str).value_counts()
    sel = catalog["sf_class"].astype(str).iloc[rows].value_counts()
    n_sel, n_all = max(len(rows), 1), len(catalog)
    classes = [c for c in SF_CLASSES if c in survey.index] + [c for c in survey.index if c not in SF_CLASSES]
    return pd.DataFrame({
        "class": classes,
        "selected": [int(sel.get(c, 0)) for c in classes],
        "selected %": [round(100 * sel.get(c, 0) / n_sel, 1) for c in classes],
        "survey %": [round(100 * survey.get(c, 0) / n_all, 1) for c in classes],
    })  # fmt: skip


class Distributions(pn.viewable.Viewer):
    """Histograms of chosen columns for the selection over the survey, and the sf_class mix.

    The plots are built once per choice of columns; a new selection only sends new bin
    heights to the existing plots (a HoloViews stream), which is far cheaper than new plots.
    """

    columns = param.ListSelector(default=[], objects=[], doc="Catalog columns to compare.")

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        numeric = [c for c in state.data.numeric_columns if c not in ("ra", "dec")]
        self.param.columns.objects = numeric
        if not self.columns:
            self.columns = [c for c in DEFAULT_COLUMNS if c in numeric][:6] or numeric[:4]
        self._summary = pn.pane.Markdown("", css_classes=["gx-summary"])
        self._classes = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, height=140,
                                             css_classes=["gx-class-table"], layout="fit_data_table")
        self._plot = pn.pane.HoloViews(None, sizing_mode="stretch_width", css_classes=["gx-distributions"],
                                       linked_axes=False)
        self._stream = hv.streams.Params(state, ["selection"])
        state.param.watch(self._update_text, ["selection"])
        self.param.watch(lambda _: self._build(), ["columns"])
        self._update_text()
        self._build()

    def _update_text(self, *_events) -> None:
        data, rows = self.state.data, self.state.selection
        n = len(rows)
        self._summary.object = (f"**{n:,}** of {data.n:,} galaxies selected ({100 * n / max(data.n, 1):.1f} %)"
                                if n else f"No selection: the survey's {data.n:,} galaxies are shown in grey.")
        if "sf_class" in data.catalog.columns:
            self._classes.value = class_table(data.catalog, rows)

    def _build(self) -> None:
        panels = [hv.DynamicMap(lambda selection, col=col: self.panel(col, selection), streams=[self._stream])
                  for col in self.columns]
        self._plot.object = hv.Layout(panels).cols(3).opts(shared_axes=False) if panels else None

    def panel(self, column: str, rows: np.ndarray) -> hv.Overlay:
        """Survey (grey) and selection (highlight) density histograms of one column."""
        edges, all_d, sel_d = histogram_pair(self.state.data.catalog[column].to_numpy(float), rows)
        dim = hv.Dimension(column, label=self.state.data.label(column))
        survey = hv.Histogram((edges, all_d), kdims=[dim], vdims=["density"], label="survey").opts(
            color="#bbbbbb", line_color=None, alpha=0.9)
        selection = hv.Histogram((edges, sel_d), kdims=[dim], vdims=["density"], label="selection").opts(
            color=HIGHLIGHT, line_color=None, alpha=0.55)
        return (survey * selection).opts(width=270, height=200, show_legend=column == self.columns[0],
                                         legend_position="top_right", toolbar=None, framewise=True)

    def controls(self) -> pn.viewable.Viewable:
        return pn.widgets.MultiChoice.from_param(self.param.columns, label="Properties", sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Column(self._summary, self._classes, self.controls(), self._plot, sizing_mode="stretch_width")
