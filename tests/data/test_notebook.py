"""The real-formats notebook runs end to end on the real files (skipped without them)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "real_formats.ipynb"


@pytest.mark.slow
@pytest.mark.real
@pytest.mark.timeout(300)
def test_real_formats_notebook_executes(real_data):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    text = "\n".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert all(
        f"'{k}': {n}" in text for k, n in (("star-forming", 533), ("green-valley", 75), ("retired", 287))
    )
    assert "example_incomplete.fits: truncated FITS file" in text
