"""The dashboard's download is named after the survey and the selection, and keeps the metadata."""

from __future__ import annotations

import numpy as np
from astropy import units as u

from galexplore.artifacts.export import read_export
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.views.export import Export, download_name, export_bytes


def test_download_is_named_after_survey_and_selection(tiny_data, tmp_path):
    state = ExplorerState(tiny_data)
    export = Export(state)
    survey = tiny_data.survey.name
    assert export._download.filename == f"{survey}_selection-0.csv"
    state.select([4, 1, 9], "lasso", lasso="0,0;1,0;1,1")
    assert export._download.filename == f"{survey}_lasso-3.csv"
    export.format = "votable"
    assert export._download.filename == f"{survey}_lasso-3.vot"
    state.select(np.arange(5), "cluster 2 of kmeans k=3")
    assert download_name(state, "fits") == f"{survey}_cluster-2-of-kmeans-k-3-5.fits"
    state.select(np.arange(2), "../../etc/passwd")
    assert "/" not in download_name(state, "csv")

    path = tmp_path / export._download.filename
    path.write_bytes(export_bytes(state, "votable"))
    table, prov = read_export(path)
    assert table.meta["name"] == download_name(state, "votable").removesuffix(".vot")
    assert table["log_mstar"].unit == u.dex(u.Msun) and table["ra"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert "../../etc/passwd" in prov["selection"]
