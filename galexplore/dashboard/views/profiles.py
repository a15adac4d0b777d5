"""Stacked radial profiles of the selection over the rest of the survey (EW(Hα), age, [Z/H], Σ*).

The selection's median and 16–84 % band are drawn over the same for the rest of the survey,
against deprojected R/Rₑ. The rest-of-survey profiles come from a seeded sample computed once
per server; the selection's are computed off the event loop after each selection.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

import numpy as np
import panel as pn

from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import RunPaths
from galexplore.dashboard import _compat
from galexplore.dashboard._setup import batched, fit_range
from galexplore.dashboard.compute.profile_stack import (
    MAX_REFERENCE,
    StackedProfiles,
    reference_profiles,
    stack,
    stack_rest,
)
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.palettes import HIGHLIGHT
from galexplore.dashboard.state import ExplorerState
from galexplore.data.columns import MAP_CHANNELS

log = logging.getLogger(__name__)

TITLES = {
    "log_ew_ha": "log EW(Hα)",
    "log_age_lw": "log age (LW)",
    "zh_lw": "[Z/H] (LW)",
    "log_sigma_star": "log Σ*",
}
REST_COLOR = "#555555"


@per_server_cache(4)
def cached_reference(data: ExplorerData) -> tuple[np.ndarray, np.ndarray]:
    """Per-galaxy profiles of the survey's reference sample (shared by all sessions).

    Also kept on disk in ``RUN/cache/profiles/`` under a key of the loaded artifacts, so a
    restarted server reads them instead of reading maps again; a run directory that cannot
    be written to only loses that cache.
    """
    path = _disk_cache(data)
    try:
        with np.load(path, allow_pickle=False) as f:
            rows, prof = f["rows"], f["profiles"]
        log.info("reference profiles from %s", path)
    except (OSError, KeyError, ValueError, TypeError):
        rows, prof = reference_profiles(data)
        if path is not None:
            _save(path, rows, prof)
    rows.setflags(write=False)
    prof.setflags(write=False)
    return rows, prof


def _disk_cache(data: ExplorerData) -> Path | None:
    if data.run is None or data.survey is None:
        return None
    key = hashlib.blake2b(f"{data.token}|{MAX_REFERENCE}|v1".encode(), digest_size=12).hexdigest()
    return RunPaths.of(data.run).cache / "profiles" / f"{key}.npz"


def _save(path: Path, rows: np.ndarray, prof: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, rows=rows, profiles=prof)
    except OSError as exc:  # a read-only run: the cache is an optimisation only
        log.debug("reference profiles not cached in %s: %s", path, exc)


def band_data(s: StackedProfiles | None, k: int, radius: np.ndarray) -> dict[str, np.ndarray]:
    """Columns of one band's data source: R/Rₑ and the 16, 50 and 84 % of channel ``k`` (NaN when empty)."""
    if s is None or not s.n_galaxies:
        nan = np.full(len(radius), np.nan)
        return {"r": radius, "lo": nan, "med": nan, "hi": nan}
    lo, med, hi = s.quantiles[:, k]
    return {"r": s.radius, "lo": lo, "med": med, "hi": hi}


def profile_figure(channel: str, sources: tuple, *, legend: bool = False):
    """A Bokeh figure of one channel: the rest (grey) and the selection (highlight), each a
    16–84 % band with its median line, against R/Rₑ."""
    from bokeh.models import Range1d
    from bokeh.plotting import figure

    unit = MAP_CHANNELS.get(channel, "")
    title = TITLES.get(channel, channel)
    # ranges set by the server (fit_ranges), not by BokehJS: no range messages back per selection
    fig = figure(
        width=300,
        height=240,
        title=title,
        toolbar_location=None,
        tools="",
        x_axis_label="R / Rₑ",
        y_axis_label=f"{title} [{unit}]" if unit else title,
        x_range=Range1d(0, 1),
        y_range=Range1d(0, 1),
    )
    for src, color, label in zip(
        sources, (REST_COLOR, HIGHLIGHT), ("rest of survey", "selection"), strict=True
    ):
        extra = {"legend_label": label} if legend else {}
        fig.varea(x="r", y1="lo", y2="hi", source=src, fill_color=color, fill_alpha=0.25, **extra)
        fig.line(x="r", y="med", source=src, line_color=color, line_width=2.5, **extra)
    if legend:
        fig.legend.location = "bottom_left"
        fig.legend.label_text_font_size = "9pt"
        fig.legend.background_fill_alpha = 0.6
    return fig


def fit_ranges(fig, sources: tuple) -> None:
    """Fit a :func:`profile_figure`'s ranges to its sources' radii and 16–84 % bands."""
    fit_range(fig.x_range, *(src.data["r"] for src in sources), padding=0.02)
    fit_range(fig.y_range, *(src.data[k] for src in sources for k in ("lo", "hi")))


class RadialProfiles(pn.viewable.Viewer):
    """Stacked EW(Hα), age, [Z/H] and Σ* profiles: the selection against the rest."""

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.available = state.data.has_modality("maps")
        self._note = _compat.Markdown("", css_classes=["gx-profiles-note"])
        self._plot = pn.pane.Bokeh(None, min_height=260)
        self._box = pn.Column(self._plot, css_classes=["gx-profiles"], sizing_mode="stretch_width")
        self._sources: dict[str, tuple] = {}
        self._figures: list = []
        self._generation = 0
        if not self.available:
            self._note.object = "*This survey has no maps: no radial profiles.*"
            return
        state.param.watch(self._on_selection, ["selection"])
        from bokeh.layouts import row
        from bokeh.models import ColumnDataSource

        sel, rest = self.compute(np.empty(0, np.int64))
        self._figures = []
        for k, ch in enumerate(rest.channels):
            self._sources[ch] = (
                ColumnDataSource(band_data(rest, k, rest.radius)),
                ColumnDataSource(band_data(sel, k, rest.radius)),
            )
            self._figures.append(profile_figure(ch, self._sources[ch], legend=k == 0))
            fit_ranges(self._figures[-1], self._sources[ch])
        self._plot.object = row(self._figures)
        self._note.object = self._describe(sel, rest)

    def compute(self, rows: np.ndarray) -> tuple[StackedProfiles | None, StackedProfiles]:
        """Stacked profiles of the selected catalog ``rows`` and of the rest (numpy only, thread-safe)."""
        data = self.state.data
        rest = stack_rest(data, cached_reference(data), rows)
        return (stack(data, rows) if len(rows) else None), rest

    def _show(self, sel: StackedProfiles | None, rest: StackedProfiles) -> None:
        # on the server's thread (Bokeh documents are not thread-safe); the plots only get new data
        with batched():
            for k, (fig, (rest_src, sel_src)) in enumerate(
                zip(self._figures, self._sources.values(), strict=True)
            ):
                rest_src.data = band_data(rest, k, rest.radius)
                sel_src.data = band_data(sel, k, rest.radius)
                fit_ranges(fig, (rest_src, sel_src))
            self._note.object = self._describe(sel, rest)

    @staticmethod
    def _describe(sel: StackedProfiles | None, rest: StackedProfiles) -> str:
        text = "Median and 16–84 % of the deprojected annular means"
        if sel is not None:
            sampled = f" (a random {sel.n_galaxies:,})" if sel.n_galaxies < sel.n_group else ""
            text += f" of **{sel.n_group:,} selected**{sampled}"
        sampled = f"a random {rest.n_galaxies:,} of " if rest.n_galaxies < rest.n_group else ""
        return text + f", over the rest of the survey ({sampled}{rest.n_group:,} galaxies)."

    async def _on_selection(self, event) -> None:
        self._generation += 1
        mine = self._generation
        # No busy spinner: Panel's spinner changes the layout's CSS classes, and BokehJS then lays
        # the whole page out again, twice per selection (~0.5 s of the browser's time a lasso or a
        # clear on the demo, more than the stack's own). The old selection's band goes at once
        # instead, a repaint only, and the new one comes when it is computed.
        self._drop_selection_band()
        try:
            result = await asyncio.to_thread(self.compute, np.asarray(event.new))
            if mine == self._generation:  # a newer selection supersedes this one
                self._show(*result)
        except Exception as exc:  # never break the page
            log.exception("radial profiles failed")
            self.state.message = f"radial profiles failed: {exc}"

    def _drop_selection_band(self) -> None:
        """Empty the selection's band in every figure (same radii: the ranges stay)."""
        with batched():
            for k, (_rest_src, sel_src) in enumerate(self._sources.values()):
                if not np.isnan(sel_src.data["med"]).all():
                    sel_src.data = band_data(None, k, np.asarray(sel_src.data["r"]))

    def __panel__(self):
        return pn.Column(self._note, self._box, sizing_mode="stretch_width")
