"""Tags: name the current selection ("ring candidates"), select a tag's galaxies, colour by tags.

Tags live in the run (``RUN/tags.parquet``, :class:`~galexplore.artifacts.tags.TagStore`): they
survive a server restart, and sessions adding tags at the same time do not lose each other's
(the store merges under a file lock). A session sees the tags other sessions add when it is
reloaded and, when served, within :data:`REFRESH_MS` (the page polls the file's modification
time). Selecting a tag makes it the session's selection, which exports like any other.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import panel as pn

from galexplore.artifacts.tags import MAX_TAG_LENGTH, UNTAGGED, TagStore
from galexplore.dashboard import _compat
from galexplore.dashboard._setup import served
from galexplore.dashboard.state import TAGS, ExplorerState, reports_errors

log = logging.getLogger(__name__)

#: How often a served page looks for tags added by other sessions (ms).
REFRESH_MS = 5000
#: The map's category of galaxies without a tag.
UNTAGGED_NAME = "untagged"


def tag_column(store: TagStore, galaxy_ids: np.ndarray) -> np.ndarray:
    """The tags of each galaxy as the map's categories (N,) object: ``"a + b"``, or ``"untagged"``."""
    col = store.as_column(galaxy_ids)
    col[col == UNTAGGED] = UNTAGGED_NAME
    return col


class TagControls(pn.viewable.Viewer):
    """A name box and "Tag selection"; the run's tags with "Select tagged" and "Colour map by tags".

    Parameters
    ----------
    state : ExplorerState
        The session it reads (selection, colour-by) and writes (selection,
        :attr:`~ExplorerState.derived`).
    """

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        run = state.data.run
        self.store = TagStore(run) if run is not None else None
        self._version = -1
        self._name = pn.widgets.TextInput(
            label="Tag name",
            placeholder="e.g. ring candidates",
            max_length=MAX_TAG_LENGTH,
            css_classes=["gx-tag-name"],
            sizing_mode="stretch_width",
        )
        self._tag = pn.widgets.Button(label="Tag selection", color="primary", css_classes=["gx-tag-add"])
        self._tag.on_click(self.tag_selection)
        self._tags = pn.widgets.Select(
            label="Tags", options={}, css_classes=["gx-tag-list"], sizing_mode="stretch_width"
        )
        self._pick = pn.widgets.Button(label="Select tagged", css_classes=["gx-tag-select"])
        self._pick.on_click(self.select_tag)
        self._remove = pn.widgets.Button(label="Remove tag", css_classes=["gx-tag-remove"])
        self._remove.on_click(self.remove_tag)
        self._color = pn.widgets.Button(label="Colour map by tags", css_classes=["gx-color-by-tags"])
        self._color.on_click(lambda _: setattr(self.state, "color_by", TAGS))
        self._status = _compat.Markdown("", css_classes=["gx-tag-status"])
        state.param.watch(self._on_color_by, ["color_by"])
        state.param.watch(self._on_selection, ["selection"])
        self.refresh()
        self._on_selection()
        if self.store is None:
            for w in (self._name, self._tag, self._tags, self._pick, self._remove, self._color):
                w.disabled = True
            self._status.object = "Tags need a run directory."
        elif served():
            _compat.background_poll(self.refresh, REFRESH_MS)

    # -- acting ---------------------------------------------------------------------------------
    @reports_errors("tagging")
    def tag_selection(self, _event=None) -> None:
        """Tag the selected galaxies with the name in the box (merged into the run's tags)."""
        if self.store is None:
            return
        ids = self.state.data.galaxy_ids[self.state.selection]
        name = self._name.value_input or self._name.value
        n = self.store.add(name, ids)
        name = name.strip()
        self.refresh(force=True)
        self._tags.value = name
        self._name.value = ""
        self._status.object = f"Tagged **{len(ids):,}** galaxies as **{name}** ({n:,} carry it)."

    @reports_errors("selecting a tag")
    def select_tag(self, _event=None) -> None:
        """Make the galaxies of the chosen tag the session's selection."""
        if self.store is None or not self._tags.value:
            return
        name = self._tags.value
        self.state.select_ids(self.store.ids(name), f"tag {name}")

    @reports_errors("removing a tag")
    def remove_tag(self, _event=None) -> None:
        """Delete the chosen tag from the run (for every session; the galaxies stay)."""
        if self.store is None or not self._tags.value:
            return
        name = self._tags.value
        n = self.store.remove(name)
        self.refresh(force=True)
        self._status.object = f"Removed tag **{name}** ({n:,} galaxies)."

    @reports_errors("reading tags")
    def refresh(self, *, force: bool = False) -> None:
        """Re-read the run's tags when they changed (another session, or this one, wrote them)."""
        if self.store is None:
            return
        version = self.store.version()
        if version == self._version and not force:
            return
        self._version = version
        counts = self.store.counts()
        self._tags.options = {f"{name} ({n:,})": name for name, n in counts.items()}
        if counts and self._tags.value not in counts:
            self._tags.value = list(counts)[-1]  # the newest tag
        self._pick.disabled = self._remove.disabled = not counts
        if not counts:
            self._tags.value = None
        if TAGS in self.state.derived or self.state.color_by == TAGS:
            self.state.set_derived(TAGS, tag_column(self.store, self.state.data.galaxy_ids))

    # -- reacting -------------------------------------------------------------------------------
    def _on_color_by(self, event) -> None:
        if event.new == TAGS and TAGS not in self.state.derived:
            self.refresh(force=True)

    def _on_selection(self, *_events) -> None:
        n = self.state.n_selected
        self._tag.disabled = self.store is None or n == 0
        self._tag.label = f"Tag selection ({n:,})" if n else "Tag selection"

    @property
    def table(self) -> pd.DataFrame:
        """The run's tags and their sizes (for display and tests)."""
        counts = self.store.counts() if self.store is not None else {}
        return pd.DataFrame({"tag": list(counts), "n": list(counts.values())})

    def __panel__(self):
        return pn.Column(
            pn.Row(self._name, self._tag),
            self._tags,
            pn.Row(self._pick, self._remove),
            self._color,
            self._status,
            sizing_mode="stretch_width",
        )
