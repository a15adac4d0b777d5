"""The whole explorer on one page, assembled from the components of this package.

:func:`load_data` reads and aligns a survey and a run once per server (cached across
sessions, read-only); :class:`Explorer` is created once per browser session and owns that
session's :class:`ExplorerState`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import holoviews as hv
import panel as pn
import param

from galexplore.dashboard.data import ExplorerData
from galexplore.dashboard.embedding_map import EmbeddingMap
from galexplore.dashboard.gallery import Gallery
from galexplore.dashboard.main_sequence import MainSequence
from galexplore.dashboard.state import ExplorerState
from galexplore.errors import GalexploreError
from galexplore.runs import RunPaths

log = logging.getLogger(__name__)

EXTENSIONS = ("tabulator",)


def _mtimes(survey: Path, run: Path) -> tuple[int, ...]:
    paths = [survey / "survey.json", survey / "catalog.parquet", RunPaths.of(run).projection, RunPaths.of(run).embeddings]
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


class Explorer(pn.viewable.Viewer):
    """One browser session's explorer: the map and every linked view.

    Parameters
    ----------
    data : ExplorerData
        Shared, read-only data (see :func:`load_data`).
    """

    def __init__(self, data: ExplorerData, **params) -> None:
        super().__init__(**params)
        self.data = data
        self.state = ExplorerState(data)
        self.map = EmbeddingMap(self.state)
        self.gallery = Gallery(self.state)
        self.main_sequence = MainSequence(self.state)
        self._color = pn.widgets.Select.from_param(self.state.param.color_by, name="Colour by", width=220,
                                                   css_classes=["gx-color-by"])

    def controls(self) -> pn.viewable.Viewable:
        return pn.Column(self._color, sizing_mode="stretch_width")

    def main(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(pn.Column(self.map, sizing_mode="stretch_width"),
                   pn.Column(self.main_sequence, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            pn.Column("## Selection", self.gallery, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Column(self.controls(), self.main(), sizing_mode="stretch_width")

    def template(self) -> pn.template.BaseTemplate:
        """The explorer in a page template with the controls in the sidebar (for serving)."""
        # Bootstrap: no web fonts fetched from the internet (the page works offline)
        return pn.template.BootstrapTemplate(
            title=f"galexplore · {self.data.title}", sidebar=[self.controls()], main=[self.main()],
            sidebar_width=300, header_background="#1f4e79",
        )


def create_app(survey: str | os.PathLike, run: str | os.PathLike) -> pn.viewable.Viewable:
    """A fresh explorer page for one browser session (the ``panel serve`` entry point).

    A survey or run that cannot be read gives a page with the one-line reason, not a
    blank page and a traceback.
    """
    pn.extension(*EXTENSIONS, sizing_mode="stretch_width")
    try:
        return Explorer(load_data(survey, run)).template()
    except GalexploreError as exc:
        log.error("cannot open the explorer: %s", exc)
        return pn.Column(pn.pane.Alert(f"**galexplore cannot open this survey/run:** {exc}", alert_type="danger"))


def warm_up(data: ExplorerData) -> None:
    """Evaluate the Datashader pipelines of one session once (compiles their kernels)."""
    state = ExplorerState(data)
    objects = [EmbeddingMap(state)._build(), MainSequence(state)._build()]
    if "sf_class" in data.catalog.columns:
        state.color_by = "sf_class"
        objects.append(EmbeddingMap(state)._build())
    for obj in objects:
        obj[()] if isinstance(obj, hv.DynamicMap) else [layer[()] for layer in obj if isinstance(layer, hv.DynamicMap)]
