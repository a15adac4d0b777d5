"""Image folders: CSV + PNG/JPEG/FITS matched on stem, centre-cropped and resized."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galexplore.data.readers.image_folder import (
    DISPLAY_UNIT,
    match_files,
    read_image,
    read_image_catalog,
    stem,
)
from galexplore.errors import InputFileError


def _folder(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    rgb = np.zeros((30, 50, 3), np.uint8)
    rgb[:, 10:40, 0] = 255  # a red central square once cropped to 30×30
    Image.fromarray(rgb).save(d / "g1.png")
    Image.fromarray(rgb).save(d / "g2.jpg")
    (d / "notes.txt").write_text("not an image")
    csv = tmp_path / "cat.csv"
    pd.DataFrame(
        {
            "galaxy_id": ["A", "B", "C"],
            "file": ["g1.fits", "g2.jpg", "g3.png"],
            "label": ["spiral", "elliptical", "x"],
        }
    ).to_csv(csv, index=False)
    return d, csv


def test_match_on_stem_and_read(tmp_path):
    d, csv = _folder(tmp_path)
    cat = read_image_catalog(csv)
    paths = match_files(d, cat["file"])
    assert [p.name if p else None for p in paths] == ["g1.png", "g2.jpg", None]
    img, bands, unit = read_image(paths[0], size=16)
    assert img.shape == (3, 16, 16) and bands == ["red", "green", "blue"] and unit == DISPLAY_UNIT
    assert img[0].min() > 0.9 and img[1].max() < 0.1  # the centre crop is all red
    assert stem("x.fits.gz") == "x" and stem("y.PNG") == "y"


def test_bad_catalog_and_image(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": [1], "path": ["a.png"]}).to_csv(bad, index=False)
    with pytest.raises(InputFileError, match="galaxy_id, file"):
        read_image_catalog(bad)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG not really")
    with pytest.raises(InputFileError, match="junk.png"):
        read_image(junk, size=8)


@pytest.mark.real
def test_real_png_rendering(real):
    img, bands, _ = read_image(real("decals_cutouts", "example_a.png"), size=64)
    assert img.shape == (3, 64, 64) and np.isfinite(img).all() and 0 <= img.min() and img.max() <= 1
