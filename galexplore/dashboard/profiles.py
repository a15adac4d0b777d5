"""Stacked radial profiles of the selection over the rest of the survey (EW(Hα), age, [Z/H], Σ*).

The selection's median and 16–84 % band are drawn over the same for the rest of the survey,
against deprojected R/Rₑ. The rest-of-survey profiles come from a seeded sample computed once
per server; the selection's are computed off the event loop after each selection.
"""

from __future__ import annotations

import asyncio
import logging

import holoviews as hv
import numpy as np
import panel as pn

from galexplore.dashboard._setup import batched
from galexplore.dashboard.data import ExplorerData
from galexplore.dashboard.palettes import HIGHLIGHT
from galexplore.dashboard.profile_stack import StackedProfiles, reference_profiles, stack, stack_rest
from galexplore.dashboard.state import ExplorerState
from galexplore.data.columns import MAP_CHANNELS

log = logging.getLogger(__name__)

TITLES = {"log_ew_ha": "log EW(Hα)", "log_age_lw": "log age (LW)", "zh_lw": "[Z/H] (LW)", "log_sigma_star": "log Σ*"}
REST_COLOR = "#555555"


def _data_hash(d: ExplorerData) -> bytes:
    return d.token.encode()


@pn.cache(max_items=4, hash_funcs={ExplorerData: _data_hash})
def cached_reference(data: ExplorerData) -> tuple[np.ndarray, np.ndarray]:
    """Per-galaxy profiles of the survey's reference sample (shared by all sessions)."""
    rows, prof = reference_profiles(data)
    rows.setflags(write=False)
    prof.setflags(write=False)
    return rows, prof


def profile_panel(channel: str, selection: StackedProfiles | None, rest: StackedProfiles) -> hv.Overlay:
    """One channel: the rest in grey, the selection in the highlight colour (empty when none)."""
    k = rest.channels.index(channel)
    unit = MAP_CHANNELS.get(channel, "")
    title = TITLES.get(channel, channel)
    ylabel = f"{title} [{unit}]" if unit else title
    sel = selection if selection is not None and selection.n_galaxies else _empty_like(rest)
    layers = _band(rest, k, REST_COLOR, "rest of survey", ylabel) * _band(sel, k, HIGHLIGHT, "selection", ylabel)
    return layers.opts(title=title, width=300, height=240, legend_position="bottom_left",
                       show_legend=k == 0, toolbar=None, framewise=True)


def _empty_like(s: StackedProfiles) -> StackedProfiles:
    return StackedProfiles(s.radius, s.channels, np.full_like(s.quantiles, np.nan), 0, 0)


def _band(s: StackedProfiles, k: int, color: str, label: str, ylabel: str) -> hv.Overlay:
    lo, med, hi = s.quantiles[:, k]
    kd, vd = hv.Dimension("r", label="R / Rₑ"), hv.Dimension("v", label=ylabel)
    area = hv.Area((s.radius, lo, hi), kd, [vd, "v2"], label=label).opts(color=color, alpha=0.25, line_alpha=0)
    line = hv.Curve((s.radius, med), kd, vd, label=label).opts(color=color, line_width=2.5)
    return area * line


class RadialProfiles(pn.viewable.Viewer):
    """Stacked EW(Hα), age, [Z/H] and Σ* profiles: the selection against the rest."""

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.available = state.data.has_modality("maps")
        self._note = pn.pane.Markdown("", css_classes=["gx-profiles-note"])
        self._plot = pn.pane.HoloViews(None, sizing_mode="stretch_width", min_height=260, linked_axes=False,
                                       css_classes=["gx-profiles"])
        self._generation = 0
        if not self.available:
            self._note.object = "*This survey has no maps: no radial profiles.*"
            return
        state.param.watch(self._on_selection, ["selection"])
        sel, rest = self.compute(np.empty(0, np.int64))
        self._pipe = hv.streams.Pipe(data=(sel, rest))
        panels = [hv.DynamicMap(lambda data, ch=ch: profile_panel(ch, *data), streams=[self._pipe])
                  for ch in rest.channels]
        self._plot.object = hv.Layout(panels).cols(4).opts(shared_axes=False)
        self._note.object = self._describe(sel, rest)

    def compute(self, rows: np.ndarray) -> tuple[StackedProfiles | None, StackedProfiles]:
        """Stacked profiles of the selected catalog ``rows`` and of the rest (numpy only, thread-safe)."""
        data = self.state.data
        rest = stack_rest(data, cached_reference(data), rows)
        return (stack(data, rows) if len(rows) else None), rest

    def _show(self, sel: StackedProfiles | None, rest: StackedProfiles) -> None:
        # on the server's thread: HoloViews is not thread-safe; the plots only get new data
        with batched():
            self._pipe.send((sel, rest))
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
        self._plot.loading = True
        try:
            result = await asyncio.to_thread(self.compute, np.asarray(event.new))
            if mine == self._generation:  # a newer selection supersedes this one
                self._show(*result)
        except Exception as exc:  # never break the page
            log.exception("radial profiles failed")
            self.state.message = f"radial profiles failed: {exc}"
        finally:
            if mine == self._generation:
                self._plot.loading = False

    def __panel__(self):
        return pn.Column(self._note, self._plot, sizing_mode="stretch_width")
