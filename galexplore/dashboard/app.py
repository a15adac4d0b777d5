"""The whole explorer on one page, assembled from the components of this package.

:func:`load_data` reads and aligns a survey and a run once per server (cached across
sessions, read-only); :class:`Explorer` is created once per browser session and owns that
session's :class:`ExplorerState`.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import panel as pn

from galexplore.artifacts.paths import RunPaths, SurveyPaths
from galexplore.dashboard import _compat, url_state
from galexplore.dashboard._setup import evaluate
from galexplore.dashboard.data import ExplorerData
from galexplore.dashboard.page import EXTENSIONS, Page, page_main
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.views.anomaly import UnusualGalaxies
from galexplore.dashboard.views.clusters import (
    ClusterControls,
    clusters_future,
    compute_clusters,
    saved_clusters,
)
from galexplore.dashboard.views.distributions import Distributions
from galexplore.dashboard.views.embedding_map import EmbeddingMap, point_tree
from galexplore.dashboard.views.export import Export
from galexplore.dashboard.views.find import FindGalaxy
from galexplore.dashboard.views.galaxy_maps import GalaxyFocus
from galexplore.dashboard.views.gallery import Gallery
from galexplore.dashboard.views.main_sequence import MAX_GLYPHS, MainSequence
from galexplore.dashboard.views.profiles import RadialProfiles, cached_reference
from galexplore.dashboard.views.tags import TagControls
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: The "Copy link" button: the share box's link to the clipboard (a text selection where the
#: clipboard API is unavailable, e.g. plain http on another host).
COPY_JS = """
const text = share.value;
const fallback = () => {
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
};
try {
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).catch(fallback);
  else fallback();
} catch (e) { fallback(); }
"""


def _mtimes(survey: Path, run: Path) -> tuple[int, ...]:
    s, r = SurveyPaths.of(survey), RunPaths.of(run)
    paths = [s.meta, s.catalog, r.projection, r.embeddings]
    return tuple(p.stat().st_mtime_ns if p.is_file() else 0 for p in paths)


@pn.cache(max_items=4)
def _load(survey: str, run: str, mtimes: tuple[int, ...]) -> ExplorerData:
    return ExplorerData.load(survey, run)


def load_data(survey: str | os.PathLike, run: str | os.PathLike) -> ExplorerData:
    """The explorer data of a survey and a run, loaded once and shared by all sessions.

    Reloaded when an artifact's modification time changes.
    """
    survey, run = Path(survey).resolve(), Path(run).resolve()
    return _load(str(survey), str(run), _mtimes(survey, run))


class Explorer(Page):
    """One browser session's explorer: the map and every linked view.

    Parameters
    ----------
    data : ExplorerData
        Shared, read-only data (see :func:`load_data`).
    sync_url : bool
        Restore the view from the page URL and keep the URL up to date (served apps).
    """

    def __init__(self, data: ExplorerData, *, sync_url: bool = False, **params) -> None:
        super().__init__(data, **params)
        self.map = EmbeddingMap(self.state)
        self.gallery = Gallery(self.state)
        self.main_sequence = MainSequence(self.state)
        self.focus = GalaxyFocus(self.state)
        self.profiles = RadialProfiles(self.state)
        self.distributions = Distributions(self.state)
        self.clusters = ClusterControls(self.state)
        self.export = Export(self.state)
        self.tags = TagControls(self.state)
        self.unusual = UnusualGalaxies(self.state)
        self._share = pn.widgets.TextInput(
            label="Link to this view",
            value="",
            disabled=False,
            css_classes=["gx-share"],
            sizing_mode="stretch_width",
        )
        self.find = FindGalaxy(self.state)
        self._copy = pn.widgets.Button(label="Copy link", width=100, css_classes=["gx-copy-link"])
        self._copy.js_on_click(args={"share": self._share}, code=COPY_JS)
        self._link_note = _compat.Markdown("", css_classes=["gx-link-note"], margin=(0, 10))
        self.state.param.watch(self._update_share, url_state.watched(self.state))
        if sync_url:
            url_state.sync_url(self.state)
        self._update_share()
        self.clusters.ensure_clusters()

    def _update_share(self, *_events) -> None:
        self._share.value = url_state.share_link(self.state)
        self._link_note.object = url_state.link_note(self.state)

    def controls(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._color,
            self._message,
            "### Find a galaxy",
            self.find,
            "### Clusters",
            self.clusters,
            "### Unusual galaxies",
            self.unusual,
            "### Tags",
            self.tags,
            "### Export",
            self.export,
            "### Share",
            self._share,
            self._copy,
            self._link_note,
            sizing_mode="stretch_width",
        )

    def main(self) -> pn.viewable.Viewable:
        return page_main(
            self.map,
            self.main_sequence,
            self.gallery,
            self.focus,
            (self.profiles, "Stacked radial profiles: selection vs the rest"),
            (self.distributions, "Properties: selection vs survey"),
        )


def create_app(
    survey: str | os.PathLike, run: str | os.PathLike, *, out_of_core: bool = False
) -> pn.viewable.Viewable:
    """A fresh explorer page for one browser session (the ``panel serve`` entry point).

    ``out_of_core`` serves :class:`~galexplore.dashboard.ooc.app.OutOfCoreExplorer` instead.
    A survey or run that cannot be read gives a page with the one-line reason, not a
    blank page and a traceback.
    """
    pn.extension(*EXTENSIONS)
    try:
        if out_of_core:
            from galexplore.dashboard.ooc.app import OutOfCoreExplorer, load_ooc_data

            return OutOfCoreExplorer(load_ooc_data(survey, run)).template()
        return Explorer(load_data(survey, run), sync_url=True).template()
    except GalexploreError as exc:
        log.error("cannot open the explorer: %s", exc)
        return pn.Column(
            pn.pane.Alert(f"**galexplore cannot open this survey/run:** {exc}", alert_type="danger")
        )


def warm_up(data: ExplorerData, part: str = "all", *, clusters: bool = True) -> None:
    """Evaluate the Datashader pipelines of one session once (compiles their kernels).

    ``part``: ``"first"`` is what a new page shows (the default colouring, the main
    sequence, the reference profiles and, unless ``clusters`` is False, the clusters: see
    :func:`warm_up_clusters`); ``"rest"`` the other kernels (colouring by class), which the
    server warms once a first page had its turn; ``"all"``.
    """
    state = ExplorerState(data)
    if part in ("first", "all"):
        # with a selection too large for glyphs, so that its kernels are compiled too (the
        # layers without a selection draw the same either way), and the id → row index (a
        # hash table of every id, built on first use): at 10⁶ galaxies both made a session's
        # first lasso ~1 s slower than the next
        data.position(data.galaxy_ids[0])
        point_tree(data)  # the hover's k-d tree: 0.3 s at 10⁶, paid by a session's first hover otherwise
        state.select(np.arange(min(data.n, MAX_GLYPHS + 1)), "warm-up")
        for obj in (EmbeddingMap(state)._build(), MainSequence(state)._build()):
            evaluate(obj)
        if data.has_modality("maps"):
            cached_reference(data)
        if clusters:
            warm_up_clusters(data)
    if part in ("rest", "all") and "sf_class" in data.catalog.columns:
        state.color_by = "sf_class"
        evaluate(EmbeddingMap(state)._build())


def warm_up_clusters(data: ExplorerData, *, wait: bool = True) -> Future | None:
    """Compute the clustering a new page starts from, unless the run has a saved one (cached
    across sessions). ``wait=False`` computes it in a thread of its own and returns its future
    (the server: clustering an embedding of 10⁶ × 1,024 takes minutes, and pages are served
    meanwhile; a page that asks for these clusters waits for this computation)."""
    if saved_clusters(data) is not None:  # a page starts from the run's saved clustering when there is one
        return None
    method, k = ExplorerState.param.cluster_method.default, ExplorerState.param.n_clusters.default
    if not wait:
        return clusters_future(data, method, k)
    compute_clusters(data, method, k)
    return None
