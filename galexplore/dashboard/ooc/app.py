"""The explorer page out of core: for surveys too big to hold in one process.

``galexplore serve SURVEY RUN --out-of-core`` (or a partitioned projection of more than
:data:`AUTO_ROWS` galaxies) serves this page. The catalog and the projection stay on disk in
the map table (:mod:`galexplore.dashboard.ooc.table`, built once under ``RUN/cache/``); the
map and the main sequence are Datashader aggregates of Dask DataFrames, selections are
computed part by part, and only the first selected galaxies' panels are loaded.

Not available out of core, and said so on the page: clustering, similarity search, the
property distributions, the stacked radial profiles, the hover tooltip and restoring a
view from the URL.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import panel as pn

from galexplore.artifacts.paths import RunPaths
from galexplore.dashboard._setup import evaluate
from galexplore.dashboard.ooc.data import OutOfCoreData
from galexplore.dashboard.ooc.map import OutOfCoreMap
from galexplore.dashboard.ooc.panels import OutOfCoreExport, OutOfCoreMainSequence, SelectionDetail
from galexplore.dashboard.ooc.table import projection_rows
from galexplore.dashboard.page import Page, page_main
from galexplore.dashboard.state import ExplorerState

log = logging.getLogger(__name__)

#: A partitioned projection with more galaxies than this is served out of core by default.
AUTO_ROWS = 3_000_000

UNAVAILABLE = (
    "**Out-of-core mode.** The catalog and the projection stay on disk; the map and the main "
    "sequence are aggregated part by part with Dask. Clustering, similarity search, property "
    "distributions, stacked profiles, the hover tooltip and view links need the whole survey in "
    "memory and are off here (serve without `--out-of-core` for them); tap a galaxy to see it."
)


def wants_out_of_core(run: str | os.PathLike, requested: bool | None) -> bool:
    """Whether to serve out of core: as ``requested``, or (None) when the run's projection is
    partitioned and holds more than :data:`AUTO_ROWS` galaxies (logged)."""
    if requested is not None:
        return requested
    path = RunPaths.of(run).projection
    if not path.is_dir():
        return False
    n = projection_rows(run)
    if n > AUTO_ROWS:
        log.info(
            "%s: %d galaxies in a partitioned projection: serving out of core (--in-memory to load them)",
            path,
            n,
        )
        return True
    return False


@pn.cache(max_items=4)
def _load(survey: str, run: str, key: str) -> OutOfCoreData:
    return OutOfCoreData.load(survey, run)


def load_ooc_data(survey: str | os.PathLike, run: str | os.PathLike) -> OutOfCoreData:
    """The out-of-core data of a survey and a run, opened once per server (map table built on
    first use and reused while its inputs are unchanged)."""
    from galexplore.dashboard.ooc.table import source_key

    survey, run = Path(survey).resolve(), Path(run).resolve()
    return _load(str(survey), str(run), source_key(survey, run))


class OutOfCoreExplorer(Page):
    """One browser session's out-of-core explorer (see the module docstring)."""

    def __init__(self, data: OutOfCoreData, **params) -> None:
        super().__init__(data, **params)
        self.map = OutOfCoreMap(self.state)
        self.main_sequence = OutOfCoreMainSequence(self.state)
        self.detail = SelectionDetail(self.state, self.map)
        self.export = OutOfCoreExport(self.state)
        self._note = pn.pane.Alert(UNAVAILABLE, alert_type="info", css_classes=["gx-ooc-note"])

    def controls(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._color, self._message, self._note, "### Export", self.export, sizing_mode="stretch_width"
        )

    def main(self) -> pn.viewable.Viewable:
        return page_main(self.map, self.main_sequence, self.detail.gallery(), self.detail.focus())


def warm_up_ooc(data: OutOfCoreData) -> None:
    """Evaluate the map's and the main sequence's pipelines once (compiles their kernels)."""
    state = ExplorerState(data)
    evaluate(OutOfCoreMap(state)._build())
    ms = OutOfCoreMainSequence(state)
    if ms.available:
        evaluate(ms._plot.object)


__all__ = ["AUTO_ROWS", "OutOfCoreExplorer", "load_ooc_data", "wants_out_of_core", "warm_up_ooc"]
