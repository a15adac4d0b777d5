"""A catalog-only survey with imported embeddings, end to end: project, cluster, search, export, serve."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from galexplore.artifacts.runs import read_projection
from galexplore.importing import import_embeddings

from .conftest import N


def gx(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "galexplore", "-q", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def imported_run(catalog_survey, vectors, tmp_path_factory):
    ids, image, spectrum = vectors
    root = tmp_path_factory.mktemp("co_run")
    fsl = lambda a: pa.FixedSizeListArray.from_arrays(pa.array(a.ravel()), a.shape[1])  # noqa: E731
    pq.write_table(
        pa.table({"galaxy_id": ids, "emb_images": fsl(image), "emb_spectra": fsl(spectrum)}),
        root / "v.parquet",
    )
    import_embeddings(root / "v.parquet", catalog_survey, root / "run", model_name="AstroCLIP")
    return root / "run"


@pytest.mark.slow
def test_project_cluster_search_export(catalog_survey, imported_run, tmp_path):
    out = gx("project", imported_run, "--modality", "images", "--method", "pca")
    assert out.returncode == 0, out.stderr
    proj, params = read_projection(imported_run)
    assert len(proj) == N and params["modality"] == "images"
    out = gx("cluster", imported_run, "--modality", "images", "--method", "kmeans", "--k", "3")
    assert out.returncode == 0 and f"3 clusters of {N} galaxies" in out.stdout + out.stderr, out.stderr
    out = gx(
        "search",
        imported_run,
        "--galaxy",
        "G005",
        "--k",
        "4",
        "--modality",
        "images",
        "--target-modality",
        "spectra",
    )
    assert out.returncode == 0, out.stderr
    assert len([ln for ln in out.stdout.splitlines() if ln.strip().split(" ")[0].isdigit()]) == 4
    out = gx("export", imported_run, "--galaxies", "G001", "G002", "G003", "--out", tmp_path / "sel.fits")
    assert out.returncode == 0, out.stderr
    table = Table.read(tmp_path / "sel.fits")
    assert list(table["galaxy_id"]) == ["G001", "G002", "G003"] and "log_mstar" in table.colnames
    assert table.meta["GXENCFP"].startswith("import-")


@pytest.mark.slow
def test_dashboard_says_there_are_no_cutouts_and_how_to_add_them(catalog_survey, imported_run):
    from bokeh.document import Document

    from galexplore.dashboard.app import Explorer
    from galexplore.dashboard.data import ExplorerData

    if not (imported_run / "projection.parquet").exists():
        assert gx("project", imported_run, "--modality", "images", "--method", "pca").returncode == 0
    explorer = Explorer(ExplorerData.load(catalog_survey.path, imported_run))
    explorer.template().server_doc(Document())
    explorer.state.select(np.arange(4), "test")
    explorer.state.set_focus("G002")
    assert "no images or maps (catalog only)" in explorer.focus._note.object and explorer.focus._note.visible
    assert "galexplore ingest images DIR --catalog files.csv" in explorer.focus._note.object
    assert "Catalog-only survey: no cutouts" in explorer.gallery._note.object
    assert [t["id"] for t in explorer.gallery._grid.tiles] == ["G000", "G001", "G002", "G003"]
    # cross-modal similarity from the page
    focus = explorer.focus
    focus.param.update(query_modality="images", target_modality="spectra")
    focus._find_similar()
    assert (
        explorer.state.n_selected == focus.n_similar and "images → spectra" in explorer.state.selection_label
    )


@pytest.mark.browser
def test_the_served_page_of_a_catalog_only_survey(catalog_survey, imported_run, chromium, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    from galexplore.testing import ServerProcess, wait_for_text

    if not (imported_run / "projection.parquet").exists():
        assert gx("project", imported_run, "--modality", "images", "--method", "pca").returncode == 0
    server = ServerProcess(catalog_survey.path, imported_run, tmp_path / "server.log")
    try:
        server.wait_ready()
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(chromium),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(server.url + "?galaxy=G007", timeout=180_000)
            wait_for_text(page, ".gx-focus-title", "G007", 120)
            wait_for_text(
                page, ".gx-no-pixels", r"(?s)no images or maps \(catalog only\).*galexplore ingest images", 60
            )
            wait_for_text(page, ".gx-no-cutouts", r"Catalog-only survey: no cutouts", 30)
            browser.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log()
