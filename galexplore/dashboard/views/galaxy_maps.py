"""The galaxy in focus: its EW(Hα), age, [Z/H] and Σ* maps, cutout, catalog row and "find similar".

Only this galaxy's maps and image are read from the survey (``Survey.read`` on one row).
Maps are drawn in units of Rₑ with a colour bar and unit per channel; NaN is left empty.

The plots are built once, for the first galaxy put in focus, as HoloViews DynamicMaps: a new
galaxy only replaces their image data and colour limits. (New plots for every galaxy left
the old ones' models in the browser's document: BokehJS drops them only after 30 s without
any message from the server, which an active session never has.)
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
from galexplore.dashboard._setup import batched
from galexplore.dashboard.catalog_only import no_pixels_note
from galexplore.dashboard.compute.cutouts import lupton_rgb
from galexplore.dashboard.compute.similar import find_similar_scored
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.views.formatting import format_value
from galexplore.data.columns import MAP_CHANNELS
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: Channel → (title, colormap), in display order.
FOCUS_CHANNELS = {
    "log_ew_ha": ("log EW(Hα)", "RdYlBu_r"),
    "log_age_lw": ("log age (LW)", "magma"),
    "zh_lw": ("[Z/H] (LW)", "viridis"),
    "log_sigma_star": ("log Σ*", "cividis"),
}
#: Plot frame of each focus map (px): two maps with their axes and colour bars fit side by side in the
#: focus card at a 1,500-px-wide window (170 spilled the second one's colour bar past the card's edge).
MAP_SIZE = 140
CUTOUT = "cutout"

#: Counts the galaxies shown: each event re-renders the focus plots in place.
FocusFrame = hv.streams.Stream.define("FocusFrame", generation=0)


def map_images(maps: np.ndarray, channels: list[str], units: list[str], extent: float) -> list[hv.Image]:
    """One HoloViews image per focus channel present, in Rₑ units, NaN transparent.

    Parameters
    ----------
    maps : ndarray, shape (C, H, W)
        One galaxy's maps, row 0 at the top (north).
    channels, units : list of str
        Channel names and units of ``maps``.
    extent : float
        Half-width of the map in Rₑ.
    """
    out = []
    for name, (title, cmap) in FOCUS_CHANNELS.items():
        if name not in channels:
            continue
        k = channels.index(name)
        img = np.asarray(maps[k], dtype=np.float64)
        unit = units[k] or MAP_CHANNELS.get(name, "")
        finite = img[np.isfinite(img)]
        clim = tuple(np.percentile(finite, [2, 98])) if finite.size else (0.0, 1.0)
        out.append(
            hv.Image(
                img,
                bounds=(-extent, -extent, extent, extent),
                kdims=["x / Rₑ", "y / Rₑ"],
                vdims=[hv.Dimension(name, label=title, unit=unit)],
                label=title,
            ).opts(
                cmap=cmap,
                colorbar=True,
                clabel=f"[{unit}]" if unit else "",
                clim=clim,
                clipping_colors={"NaN": "transparent"},
                frame_width=MAP_SIZE,
                frame_height=MAP_SIZE,
                title=title,
                tools=["hover"],
                toolbar=None,
                colorbar_opts={"width": 10},
            )
        )
    return out


def catalog_row(state: ExplorerState, row: int) -> pd.DataFrame:
    """The galaxy's catalog row as a two-column (property, value) table, key properties first."""
    cat = state.data.catalog
    first = ["galaxy_id", *state.data.key_properties]
    cols = first + [c for c in cat.columns if c not in first]
    values = []
    for c in cols:
        v = cat.at[row, c]
        values.append(format_value(c, v, unit=state.data.unit(c)))
    return pd.DataFrame({"property": cols, "value": values})


class GalaxyFocus(pn.viewable.Viewer):
    """Everything about the galaxy in focus, and the similarity search that starts from it."""

    n_similar = param.Integer(default=24, bounds=(2, 500), doc="Neighbours put into the selection.")
    query_modality = param.Selector(
        default=None, objects=[], check_on_set=True, allow_None=True, doc="Embedding of the galaxy in focus."
    )
    target_modality = param.Selector(
        default=None, objects=[], check_on_set=True, allow_None=True, doc="Embedding searched."
    )

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        data = state.data
        mods = data.embeddings.modalities if data.embeddings is not None else []
        self.param.query_modality.objects = self.param.target_modality.objects = mods
        if mods:
            self.param.update(query_modality=mods[0], target_modality=mods[0])
        self._title = _compat.Markdown("", css_classes=["gx-focus-title"], width=300)
        note = no_pixels_note(data)
        self._note = _compat.Markdown(
            note, css_classes=["gx-no-pixels"], visible=bool(note), sizing_mode="stretch_width"
        )
        # two maps a row (rows of a column: a GridBox whose children update in place breaks
        # BokehJS's layout of the grid)
        self._maps = pn.Column(css_classes=["gx-focus-maps"], margin=0)
        self._cutout = pn.Column(margin=0)
        self._frame = FocusFrame()
        self._panes: dict[str, pn.pane.HoloViews] = {}  # channel name or CUTOUT → its plot, built once
        self._elements: dict[str, hv.Element] = {}  # what each plot shows now (the last galaxy's if hidden)
        self._table = _compat.HTML(
            "",
            visible=False,
            height=220,
            width=340,
            css_classes=["gx-focus-table"],
            styles={"overflow-y": "auto", "font-size": "12px"},
        )
        self._similar = pn.widgets.Button(
            label="Find similar", color="primary", disabled=not mods, css_classes=["gx-find-similar"]
        )
        self._similar.on_click(self._find_similar)
        state.param.watch(self._render, ["focus"])
        self._render()

    def _render(self, *_events) -> None:
        row = self.state.focus_row
        if row is None:
            self._title.object = (
                "**No galaxy in focus.** Click a cutout in the gallery (or a galaxy on the map)."
            )
            self._table.object = ""
            self._table.visible = False  # a one-line hint, not an empty block
            self._similar.disabled = True
            self._show({})
            return
        data = self.state.data
        gid = data.galaxy_ids[row]
        self._title.object = f"**Galaxy in focus:** `{gid}`"
        self._table.visible = True
        self._table.object = catalog_row(self.state, row).to_html(index=False, header=False, border=0)
        self._similar.disabled = data.embeddings is None
        try:
            elements = {img.vdims[0].name: img for img in self._maps_of(row)}
            cutout = self._cutout_of(row)
            if cutout is not None:
                elements[CUTOUT] = cutout
        except Exception as exc:  # a bad file must not break the page
            log.exception("cannot read galaxy %s", gid)
            self.state.message = f"cannot read the maps of {gid}: {exc}"
            elements = {}
        self._show(elements)

    def _show(self, elements: dict[str, hv.Element]) -> None:
        """Show ``elements`` (channel name or :data:`CUTOUT` → element) in the plots, building
        a plot the first time its key comes; the plots of keys not in ``elements`` are hidden."""
        with batched():
            self._elements.update(elements)
            new = [key for key in elements if key not in self._panes]
            for key in new:
                css = ["gx-focus-cutout"] if key == CUTOUT else ["gx-focus-map"]
                dmap = hv.DynamicMap(partial(self._element, key), streams=[self._frame])
                self._panes[key] = pn.pane.HoloViews(dmap, linked_axes=False, css_classes=css)
            if new:
                maps = [p for k, p in self._panes.items() if k != CUTOUT]
                self._maps.objects = [pn.Row(*maps[i : i + 2], margin=0) for i in range(0, len(maps), 2)]
                self._cutout.objects = [p for k, p in self._panes.items() if k == CUTOUT]
            self._frame.event(generation=self._frame.generation + 1)
            for key, pane in self._panes.items():
                pane.visible = key in elements

    def _element(self, key: str, generation: int = 0) -> hv.Element:
        return self._elements[key]

    def shown(self) -> list[hv.Element]:
        """The maps shown now (one per channel, in display order), the cutout excluded."""
        return [self._elements[k] for k, p in self._panes.items() if k != CUTOUT and p.visible]

    def _maps_of(self, row: int) -> list[hv.Image]:
        data = self.state.data
        if not data.has_modality("maps"):
            return []
        spec = data.survey.spec("maps")
        maps = data.survey.read("maps", [int(data.rows[row])])[0]
        extent = float(spec.grid.get("extent_re", 1.0))
        return map_images(maps, spec.channels, spec.units, extent)

    def _cutout_of(self, row: int):
        data = self.state.data
        if not data.has_modality("images"):
            return None
        spec = data.survey.spec("images")
        cube = data.survey.read("images", [int(data.rows[row])])[0]
        extent = float(spec.grid.get("extent_re", 1.0))
        rgb = lupton_rgb(cube, spec.channels)
        return hv.RGB(rgb, bounds=(-extent, -extent, extent, extent), kdims=["x / Rₑ", "y / Rₑ"]).opts(
            frame_width=170, frame_height=170, title="g r i (Lupton)", toolbar=None
        )

    def _find_similar(self, _event=None) -> None:
        focus = self.state.focus
        if not focus:
            return
        try:
            rows, similarity = find_similar_scored(
                self.state.data,
                focus,
                self.n_similar,
                query_modality=self.query_modality,
                target_modality=self.target_modality,
            )
        except GalexploreError as exc:
            self.state.message = str(exc)
            return
        how = f"{len(rows)} most similar to {focus}"
        if self.query_modality != self.target_modality:
            how += f" ({self.query_modality} → {self.target_modality})"
        first = self.state.data.embeddings.modalities[0]
        same = self.query_modality in (None, first) and self.target_modality in (None, first)
        link = f"similar={len(rows)},{focus}" if same else ""  # else the link holds the rows
        self.state.select(rows, how, ordered=True, scores=similarity, link=link)

    def controls(self) -> pn.viewable.Viewable:
        widgets = [
            pn.widgets.IntInput.from_param(self.param.n_similar, label="neighbours", width=90),
            self._similar,
        ]
        if len(self.param.query_modality.objects) > 1:
            widgets[1:1] = [
                pn.widgets.Select.from_param(self.param.query_modality, label="query in", width=110),
                pn.widgets.Select.from_param(self.param.target_modality, label="search in", width=110),
            ]
        return pn.Row(*widgets, align="end")

    def __panel__(self):
        return pn.Column(
            pn.Row(self._title, self.controls()),
            self._note,
            pn.Row(self._cutout, self._table),
            self._maps,
            sizing_mode="stretch_width",
        )
