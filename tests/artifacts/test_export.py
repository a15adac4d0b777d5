"""Exports read back with astropy, provenance included."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from galexplore.analysis.cluster_store import cluster_run
from galexplore.analysis.projection import project_run
from galexplore.artifacts.export import export_selection, read_export
from galexplore.artifacts.runs import read_projection
from galexplore.errors import GalexploreError


@pytest.fixture(scope="module")
def projected_run(feature_run, tmp_path_factory):
    import shutil

    run = tmp_path_factory.mktemp("export") / "run"
    shutil.copytree(feature_run, run)
    project_run(run, method="pca")
    cluster_run(run, "kmeans", 3)
    return run


@pytest.mark.parametrize("suffix", [".csv", ".fits", ".vot"])
def test_cluster_export_round_trip(projected_run, tiny_survey, tmp_path, suffix):
    out = export_selection(projected_run, tmp_path / f"sel{suffix}", clusters=[1], survey=tiny_survey)
    table, prov = read_export(out)
    labels = pd.read_parquet(projected_run / "clusters" / "kmeans_k3_embedding.parquet")
    expected = set(labels.loc[labels["cluster"] == 1, "galaxy_id"])
    assert set(np.asarray(table["galaxy_id"]).astype(str)) == expected and len(table) == len(expected)
    assert (np.asarray(table["cluster"]) == 1).all()
    # Provenance: encoder fingerprint, projection parameters, the selection in words.
    assert prov["encoder_fingerprint"] == "test-features-v1"
    _, proj_params = read_projection(projected_run)
    assert json.loads(prov["projection"])["method"] == proj_params["method"] == "pca"
    assert "clusters [1] of kmeans_k3_embedding" in prov["selection"] and "kmeans" in prov["selection"]
    assert prov["survey_fingerprint"] == tiny_survey.fingerprint
    assert int(prov["n_rows"]) == len(table)
    # The numbers survive: catalog values and projection coordinates, units where astropy has them.
    cat = tiny_survey.catalog.set_index("galaxy_id")
    ids = np.asarray(table["galaxy_id"]).astype(str)
    np.testing.assert_allclose(np.asarray(table["ew_ha"], dtype=float), cat.loc[ids, "ew_ha"], rtol=1e-6)
    assert set(np.asarray(table["sf_class"]).astype(str)) <= {"star-forming", "green-valley", "retired"}
    assert str(table["ra"].unit) == "deg"
    assert {"x", "y"} <= set(table.colnames)


def test_galaxy_export_and_plain_csv_reading(projected_run, tiny_survey, tmp_path):
    ids = list(tiny_survey.catalog["galaxy_id"][:4])
    out = export_selection(
        projected_run, tmp_path / "four.csv", galaxies=ids, survey=tiny_survey, selection="lasso on the UMAP"
    )
    _, prov = read_export(out)
    assert prov["selection"] == "lasso on the UMAP"
    plain = pd.read_csv(out, comment="#")  # still an ordinary CSV for spreadsheets and pandas
    assert list(plain["galaxy_id"]) == ids


def test_export_errors(projected_run, tmp_path):
    with pytest.raises(GalexploreError, match="'ghost'"):
        export_selection(projected_run, tmp_path / "a.csv", galaxies=["ghost"])
    with pytest.raises(GalexploreError, match="cluster 7"):
        export_selection(projected_run, tmp_path / "a.csv", clusters=[7])
    with pytest.raises(GalexploreError, match="suffix"):
        export_selection(projected_run, tmp_path / "a.txt", clusters=[0])
    with pytest.raises(GalexploreError, match="either"):
        export_selection(projected_run, tmp_path / "a.csv")
    assert not list(tmp_path.iterdir())  # nothing half-written
