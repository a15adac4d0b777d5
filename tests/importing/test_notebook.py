"""notebooks/foundation_models.ipynb runs top to bottom on synthetic data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "foundation_models.ipynb"


@pytest.mark.timeout(600)
@pytest.mark.skipif(
    importlib.util.find_spec("timm") is None, reason="the [pretrained] extra is not installed"
)
@pytest.mark.slow
def test_foundation_models_notebook_runs(monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("GALEXPLORE_NB_N", "120")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=500, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "imported 120 of 125 rows (emb_images 32-d, emb_spectra 32-d)" in text
    assert "skipped 5 rows" in text
    assert "no images or maps (catalog only)" in text and "galexplore ingest images" in text
    assert "timm:test_convnext" in text
    assert any("image/png" in o.get("data", {}) for o in outputs), "the projection figure was not drawn"
