"""The cutout gallery of the selection: paged Lupton RGB thumbnails; a click puts a galaxy in focus.

Only the galaxies on the visible page are read from the survey (``Survey.read`` on those rows),
and each page is cached across sessions.
"""

from __future__ import annotations

import logging
from functools import partial

import numpy as np
import panel as pn
import param

from galexplore.dashboard import _compat
from galexplore.dashboard.catalog_only import no_pixels_note
from galexplore.dashboard.compute.cutouts import colormap_rgb, lupton_rgb, png_data_uri
from galexplore.dashboard.compute.typical import typical_row
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.views.cutout_grid import CutoutGrid
from galexplore.dashboard.views.formatting import format_similarity, format_value
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

PAGE_SIZE = 12


@per_server_cache(512)
def thumbnails(data: ExplorerData, rows: tuple[int, ...]) -> tuple[str, ...]:
    """PNG data URIs of the given catalog rows: Lupton RGB of ``images`` or a map channel.

    Returns empty strings when the survey has neither modality.
    """
    if not rows:
        return ()
    survey_rows = data.rows[list(rows)] if data.rows is not None else None
    if data.has_modality("images"):
        spec = data.survey.spec("images")
        cubes = data.survey.read("images", survey_rows)
        return tuple(png_data_uri(lupton_rgb(c, spec.channels)) for c in cubes)
    if data.has_modality("maps"):
        spec = data.survey.spec("maps")
        channel = next((c for c in ("log_flux", "log_sigma_star") if c in spec.channels), spec.channels[0])
        k = spec.channels.index(channel)
        maps = data.survey.read("maps", survey_rows)
        return tuple(png_data_uri(colormap_rgb(m[k], "magma")) for m in maps)
    return tuple("" for _ in rows)


class Gallery(pn.viewable.Viewer):
    """A paged gallery of the selected galaxies."""

    page = param.Integer(default=0, bounds=(0, None))
    page_size = param.Integer(default=PAGE_SIZE, bounds=(1, 100))
    typical_focus = param.Boolean(
        default=True, doc="After a selection, put its most typical galaxy in focus (unless one of it is)."
    )

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._grid = CutoutGrid(
            placeholder="Draw a lasso or a box on the map to select galaxies.", sizing_mode="stretch_width"
        )
        self._header = _compat.Markdown("", css_classes=["gx-gallery-header"], margin=(0, 10), width=320)
        note = no_pixels_note(state.data, short=True)
        self._note = _compat.Markdown(note, css_classes=["gx-no-cutouts"], visible=bool(note), margin=(0, 10))
        self._prev = pn.widgets.Button(label="◀", width=40, disabled=True)
        self._next = pn.widgets.Button(label="▶", width=40, disabled=True)
        self._clear = pn.widgets.Button(label="Clear", width=70, disabled=True, css_classes=["gx-clear"])
        self._clear.on_click(lambda _: self.state.clear_selection())
        self._prev.on_click(lambda _: self._turn(-1))
        self._next.on_click(lambda _: self._turn(+1))
        self._grid.param.watch(self._on_click, ["clicked"])
        state.param.watch(self._on_selection, ["selection"])
        state.param.watch(lambda e: setattr(self._grid, "focus", e.new), ["focus"])
        self.param.watch(lambda _: self._render(), ["page", "page_size"])
        self._render()

    @property
    def n_pages(self) -> int:
        return max(1, -(-self.state.n_selected // self.page_size))

    def page_rows(self) -> np.ndarray:
        """Catalog rows shown on the current page."""
        start = self.page * self.page_size
        return self.state.selection[start : start + self.page_size]

    def _turn(self, step: int) -> None:
        self.page = int(np.clip(self.page + step, 0, self.n_pages - 1))

    def _on_selection(self, *_events) -> None:
        if self.page:
            self.page = 0  # triggers _render
        else:
            self._render()
        # in a served page the selection's own views go out first; the focus (reading and
        # drawing its maps, the page's first focus building its plots) follows on the next tick
        # (outside a server this runs at once)
        pn.state.execute(self._focus_typical, schedule=True)

    def _focus_typical(self) -> None:
        """Put the selection's most typical galaxy (nearest its mean embedding) in focus, unless
        the galaxy in focus is selected already (e.g. the query of a similarity search)."""
        state = self.state
        if not self.typical_focus or state.n_selected == 0:
            return
        focus = state.focus_row
        if focus is not None and np.isin(focus, state.selection):
            return
        try:
            row = typical_row(state.data, state.selection)
        except Exception:  # a convenience: never break the selection
            log.exception("cannot find the most typical selected galaxy")
            return
        if row is not None:
            state.focus = str(state.data.galaxy_ids[row])

    def _on_click(self, event) -> None:
        # a fresh tick, not inside the component's message handler: the URL (Location) then
        # updates at once instead of with the next event
        pn.state.execute(partial(self._focus, event.new), schedule=True)

    def _focus(self, galaxy_id: str) -> None:
        try:
            self.state.set_focus(galaxy_id)
        except GalexploreError as exc:
            self.state.message = str(exc)

    def _render(self) -> None:
        n = self.state.n_selected
        rows = self.page_rows()
        data = self.state.data
        try:
            uris = thumbnails(data, tuple(int(r) for r in rows))
        except Exception as exc:  # a bad file must not break the page
            log.exception("cannot read cutouts")
            self.state.message = f"cannot read cutouts: {exc}"
            uris = tuple("" for _ in rows)
        scores = self.page_scores()
        tiles = [
            {"id": str(data.galaxy_ids[r]), "src": u, "title": self._title(r, s)}
            | ({"score": f"cos {format_similarity(s)}"} if s is not None else {})
            for r, u, s in zip(rows, uris, scores, strict=True)
        ]
        self._grid.param.update(tiles=tiles, focus=self.state.focus)
        how = f" ({self.state.selection_label})" if self.state.selection_label else ""
        self._header.object = (
            f"**{n:,} selected**{how} · page {self.page + 1} of {self.n_pages}" if n else "**0 selected**"
        )
        self._prev.disabled = self.page <= 0
        self._next.disabled = self.page >= self.n_pages - 1
        self._clear.disabled = n == 0

    def page_scores(self) -> list[float | None]:
        """Score (cosine similarity of a search hit) of each galaxy on the current page, or Nones."""
        scores = self.state.selection_scores
        n = len(self.page_rows())
        if scores is None or len(scores) != self.state.n_selected:
            return [None] * n
        start = self.page * self.page_size
        return [float(v) for v in scores[start : start + n]]

    def _title(self, row: int, score: float | None = None) -> str:
        cat = self.state.data.catalog
        parts = [str(cat.at[row, "galaxy_id"])]
        if score is not None:
            parts.append(f"cosine similarity = {format_similarity(score)}")
        for c in self.state.data.key_properties:
            parts.append(f"{c} = {format_value(c, cat.at[row, c], unit=self.state.data.unit(c))}")
        return "\n".join(parts)

    def __panel__(self):
        return pn.Column(
            pn.Row(self._prev, self._next, self._header, self._clear, align="center"),
            self._note,
            self._grid,
            sizing_mode="stretch_width",
        )
