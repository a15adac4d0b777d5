"""Download the selection as CSV, FITS or VOTable, with provenance (via :mod:`galexplore.artifacts.export`)."""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path

import pandas as pd
import panel as pn
import param

from galexplore.artifacts.export import (
    DEFAULT_SUFFIX,
    FORMATS,
    export_filename,
    export_table,
    provenance_of,
    selection_rows,
)
from galexplore.dashboard.state import ExplorerState
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)


def describe_selection(state: ExplorerState) -> str:
    """How the selection was made, in words, with the view that produced it."""
    parts = [f"{state.n_selected} galaxies selected in the galexplore dashboard"]
    if state.selection_label:
        parts.append(f"by {state.selection_label}")
    if state.lasso:
        parts.append(f"lasso polygon (projection x,y) {state.lasso}")
    parts.append(f"map coloured by {state.color_by}")
    if state.cluster_key:
        parts.append(f"clusters {state.cluster_key}")
    return "; ".join(parts)


def download_name(state: ExplorerState, fmt: str) -> str:
    """The download's file name: the survey, how the selection was made and its size,
    e.g. ``synthetic-n96-seed3_lasso-62.fits`` (:func:`~galexplore.artifacts.export.export_filename`)."""
    survey = state.data.survey
    label = state.selection_label or "selection"
    return export_filename(survey.name if survey is not None else None, f"{label}-{state.n_selected}", fmt)


def selection_table(state: ExplorerState) -> pd.DataFrame:
    """The rows exported: every catalog column, projection x/y and the cluster, per selected galaxy."""
    data = state.data
    ids = [str(g) for g in data.galaxy_ids[state.selection]]
    clusters = None
    if state.cluster_labels is not None:
        clusters = pd.DataFrame({"galaxy_id": data.galaxy_ids.astype(str), "cluster": state.cluster_labels})
    if data.run is None:
        raise GalexploreError("no run directory: nothing to export provenance from")
    return selection_rows(data.run, ids, survey=data.survey, clusters=clusters)


def export_bytes(state: ExplorerState, fmt: str) -> bytes:
    """The selection written in ``fmt`` (``csv``, ``fits`` or ``votable``) with provenance."""
    if not state.n_selected:
        raise GalexploreError("nothing is selected: draw a lasso or pick a cluster first")
    data = state.data
    rows = selection_table(state)
    desc = describe_selection(state)
    if data.embeddings is not None:
        prov = provenance_of(data.run, selection=desc, survey=data.survey)
    else:
        prov = {"run": str(data.run), "selection": desc}
    return table_bytes(rows, prov, fmt, filename=download_name(state, fmt))


def table_bytes(
    rows: pd.DataFrame, provenance: dict[str, str], fmt: str, *, filename: str | None = None
) -> bytes:
    """``rows`` written in ``fmt`` with ``provenance`` (:func:`galexplore.artifacts.export.export_table`).

    ``filename``, the download's name, names the table inside a VOTable.
    """
    with tempfile.TemporaryDirectory(prefix="galexplore-export-") as tmp:
        path = Path(tmp) / f"selection{DEFAULT_SUFFIX[fmt]}"
        name = filename.removesuffix(DEFAULT_SUFFIX[fmt]) if filename else None
        export_table(rows, path, provenance, format=fmt, name=name)
        return path.read_bytes()


class Export(pn.viewable.Viewer):
    """Format choice and a download button for the current selection."""

    format = param.Selector(default="csv", objects=list(FORMATS), doc="File format of the download.")

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._download = pn.widgets.FileDownload(
            callback=self._callback,
            filename=self._filename(),
            label="Download selection",
            color="success",
            disabled=True,
            css_classes=["gx-export"],
        )
        self.param.watch(lambda _: setattr(self._download, "filename", self._filename()), ["format"])
        state.param.watch(self._on_selection, ["selection"])

    def _filename(self) -> str:
        return download_name(self.state, self.format)

    def _on_selection(self, event) -> None:
        self._download.filename = self._filename()
        self._download.disabled = len(event.new) == 0
        self._download.label = (
            f"Download {len(event.new):,} galaxies" if len(event.new) else "Download selection"
        )

    def _callback(self) -> io.BytesIO:
        try:
            return io.BytesIO(self.file_bytes())
        except Exception as exc:  # a failed export must not break the page
            log.exception("export failed")
            self.state.message = f"export failed: {exc}"
            return io.BytesIO(b"")

    def file_bytes(self) -> bytes:
        """The current selection in the chosen format (see :func:`export_bytes`)."""
        return export_bytes(self.state, self.format)

    def __panel__(self):
        return pn.Column(
            pn.widgets.RadioButtonGroup.from_param(
                self.param.format, label="Format", color="light", css_classes=["gx-export-format"]
            ),
            self._download,
            sizing_mode="stretch_width",
        )
