"""The panels of the out-of-core page beside the map: main sequence, selected galaxies, export.

* :class:`OutOfCoreMainSequence`: the survey's log SFR–log M* density datashaded from the map
  table's Dask DataFrame, the relation, and the first :data:`MAX_GLYPHS` selected galaxies.
* :class:`SelectionDetail`: the in-memory gallery and galaxy-in-focus panels
  (:class:`~galexplore.dashboard.views.gallery.Gallery`, :class:`~galexplore.dashboard.views.galaxy_maps.GalaxyFocus`)
  on a small :class:`~galexplore.dashboard.data.ExplorerData` of the first :data:`DETAIL_MAX`
  selected galaxies (and the tapped one), read from the map table when the selection changes.
* :class:`OutOfCoreExport`: every catalog column and x, y of the selection, read part by part.
"""

from __future__ import annotations

import json
import logging
import zlib

import holoviews as hv
import numpy as np
import panel as pn
import param

from galexplore.dashboard.ooc.data import INTERNAL
from galexplore.dashboard.palettes import category_colors
from galexplore.dashboard.state import ExplorerState, reports_errors
from galexplore.dashboard.views.export import Export, describe_selection, table_bytes
from galexplore.dashboard.views.galaxy_maps import GalaxyFocus
from galexplore.dashboard.views.gallery import Gallery
from galexplore.dashboard.views.main_sequence import (
    MAX_GLYPHS,
    X,
    Y,
    density_view,
    overlay_options,
    relation_layers,
)
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: Selected galaxies whose cutouts, maps and properties the detail panels load.
DETAIL_MAX = 240


class OutOfCoreMainSequence(pn.viewable.Viewer):
    """log SFR against log M*: the survey's density from Dask, the first selected galaxies on top."""

    height = param.Integer(default=380)

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        data = state.data
        ranges = data.table.meta.get("ranges", {})
        self.available = bool(ranges.get(X)) and bool(ranges.get(Y))
        self._caption = pn.pane.HTML("", css_classes=["gx-ms-caption"], sizing_mode="stretch_width")
        self._plot = pn.pane.HoloViews(
            None,
            sizing_mode="stretch_width",
            height=self.height,
            css_classes=["gx-main-sequence"],
            linked_axes=False,
        )
        if not self.available:
            self._caption.object = "<i>The catalog has no log_mstar / log_sfr columns.</i>"
            return
        (x0, x1), (y0, y1) = ranges[X], ranges[Y]
        lims = {"xlim": (x0 - 0.2, x1 + 0.2), "ylim": (y0 - 0.3, y1 + 0.3)}
        density = density_view(hv.Points(data.table.frame([X, Y]), kdims=[X, Y]), lims)
        band, ms = relation_layers(*(data.limits(X) or (x0, x1)))
        glyphs = hv.DynamicMap(
            lambda version: self._glyphs(state.selection), streams=[state.selection_stream()]
        )
        self._plot.object = (density * band * ms * glyphs).opts(overlay_options(data, lims))

    def _glyphs(self, selection: np.ndarray) -> hv.Points:
        data = self.state.data
        cls = "sf_class" if "sf_class" in data.categorical_columns else None
        shown = np.asarray(selection, dtype=np.int64)[:MAX_GLYPHS]
        frame = data.table.rows(shown, [X, Y, *([cls] if cls else [])])
        frame = frame[np.isfinite(frame[X].to_numpy(float)) & np.isfinite(frame[Y].to_numpy(float))]
        more = f" (the first {MAX_GLYPHS:,} drawn)" if len(selection) > MAX_GLYPHS else ""
        self._caption.object = f'<span class="gx-ms-count"><b>{len(selection):,}</b> selected{more}</span>'
        if cls is None:
            return hv.Points(frame, [X, Y]).opts(color="#d62728", size=6, line_color="white", line_width=0.5)
        cats = data.table.meta["categories"][cls]
        return hv.Points(frame, [X, Y], [cls]).opts(
            color=cls,
            cmap=category_colors(cls, cats),
            size=6,
            line_color="white",
            line_width=0.5,
            alpha=0.9,
            show_legend=False,
        )

    def __panel__(self):
        return pn.Column(self._caption, self._plot, sizing_mode="stretch_width")


class SelectionDetail(pn.viewable.Viewer):
    """Gallery and galaxy in focus of the first selected galaxies (see the module docstring)."""

    def __init__(self, state: ExplorerState, galaxy_map, **params) -> None:
        super().__init__(**params)
        self.state, self.map = state, galaxy_map
        self._note = pn.pane.Markdown("", css_classes=["gx-ooc-detail-note"], margin=(0, 10))
        self._gallery = pn.Column(sizing_mode="stretch_width")
        self._focus = pn.Column(sizing_mode="stretch_width")
        self.sub: ExplorerState | None = None
        self._loaded: tuple[int, int] | None = None
        self._positions = np.empty(0, np.int64)
        state.param.watch(self._refresh, ["selection", "focus"])
        self._refresh()

    @reports_errors("loading the selected galaxies")
    def _refresh(self, *_events) -> None:
        state = self.state
        key = (
            len(state.selection),
            zlib.crc32(np.ascontiguousarray(state.selection, dtype=np.int64).tobytes()),
        )
        if (
            self.sub is not None
            and key == self._loaded
            and (not state.focus or self.sub.data.position(state.focus) is not None)
        ):
            self.sub.focus = state.focus  # already loaded: only the focus moves
            return
        shown = np.asarray(state.selection, dtype=np.int64)[:DETAIL_MAX]
        focus_pos = self.map.focus_position(state.focus) if state.focus else None
        extra = [focus_pos] if focus_pos is not None and focus_pos not in shown else []
        self._positions = np.concatenate([shown, np.asarray(extra, dtype=np.int64)])
        sub_data = state.data.subset(self._positions)
        self.sub = ExplorerState(sub_data)
        self.sub.select(np.arange(len(shown)), state.selection_label or "selection")
        if state.focus and sub_data.position(state.focus) is not None:
            self.sub.focus = state.focus
        self.sub.param.watch(self._on_sub_focus, ["focus"])
        self.sub.param.watch(self._on_sub_selection, ["selection"])
        self._loaded = key
        self._gallery[:] = [Gallery(self.sub)]
        self._focus[:] = [GalaxyFocus(self.sub)]
        n = len(state.selection)
        self._note.object = (
            f"Showing the first **{len(shown):,}** of **{n:,}** selected galaxies "
            f"(out-of-core mode loads the panels of at most {DETAIL_MAX:,})."
            if n > DETAIL_MAX
            else ""
        )

    def _on_sub_focus(self, event) -> None:
        """A click in the gallery: put the galaxy in focus on the map too."""
        sub = self.sub
        row = sub.data.position(event.new) if event.new else None
        if row is not None:
            self.map.remember_focus(event.new, sub.data.xy[[row]], int(self._positions[row]))
        if self.state.focus != event.new:
            self.state.focus = event.new

    def _on_sub_selection(self, event) -> None:
        if len(event.new) == 0 and len(self.state.selection):  # "Clear" in the gallery
            self.state.clear_selection()

    def gallery(self):
        return pn.Column(self._note, self._gallery, sizing_mode="stretch_width")

    def focus(self):
        return self._focus


def ooc_provenance(state: ExplorerState) -> dict[str, str]:
    """Provenance of an out-of-core export: the run, the projection's parameters and
    fingerprints (from its metadata: the embeddings are not read), the survey."""
    data = state.data
    params = data.projection_params
    prov = {
        "run": str(data.run.resolve()),
        "selection": describe_selection(state),
        "projection": json.dumps(params, sort_keys=True, default=str),
        "survey": str(data.survey.path.resolve()),
        "survey_fingerprint": str(data.survey.fingerprint or "unknown"),
    }
    for key in ("embedding_fingerprint", "encoder_fingerprint"):
        prov[key] = str(params.get(key) or "unknown")
    return prov


class OutOfCoreExport(Export):
    """The export button for an out-of-core selection (every catalog column, x and y)."""

    def file_bytes(self) -> bytes:
        state = self.state
        if not state.n_selected:
            raise GalexploreError("nothing is selected: draw a lasso or a box first")
        rows = state.data.table.rows(state.selection, as_categories=False)
        columns = ["galaxy_id", *[c for c in rows.columns if c not in (*INTERNAL, "galaxy_id")], "x", "y"]
        return table_bytes(rows[columns], ooc_provenance(state), self.format)


__all__ = ["DETAIL_MAX", "OutOfCoreExport", "OutOfCoreMainSequence", "SelectionDetail", "ooc_provenance"]
