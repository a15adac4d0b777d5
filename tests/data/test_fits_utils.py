"""Safe FITS access: truncated/corrupt files, EXTNAME and DESC_i look-ups, sentinels."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from astropy.io import fits

from galexplore.data.readers import fits_utils as fu
from galexplore.errors import InputFileError


def test_truncated_file_is_one_clear_error(lay, tmp_path):
    good = lay.write_cutout(tmp_path / "good.fits")
    bad = lay.truncate(good, tmp_path / "cut.fits")
    with pytest.raises(InputFileError) as err:
        with fu.open_fits(bad):
            pass
    msg = str(err.value)
    assert msg.startswith(str(bad)) and "truncated" in msg and "\n" not in msg


def test_corrupt_gzip_and_non_fits(tmp_path):
    gz = tmp_path / "x.fits.gz"
    raw = gzip.compress(b"SIMPLE  =                    T" + b" " * 5000)
    gz.write_bytes(raw[: len(raw) // 2])
    text = tmp_path / "notes.fits"
    text.write_text("hello")
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    for path in (gz, text, empty, tmp_path / "missing.fits"):
        with pytest.raises(InputFileError, match=str(path.name)):
            with fu.open_fits(path):
                pass


def test_find_hdu_by_name_not_position(tmp_path):
    path = tmp_path / "x.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.ImageHDU(np.ones(2), name="B"), fits.ImageHDU(np.zeros(2), name="A")]
    ).writeto(path)
    with fu.open_fits(path) as h:
        assert fu.find_hdu(h, "a").data.sum() == 0
        assert fu.find_hdu(h, "C", required=False) is None
        with pytest.raises(InputFileError, match="no C extension.*A"):
            fu.find_hdu(h, "C", path=path)


def test_plane_labels_any_key_order_and_base():
    hdr = fits.Header()
    for i in (3, 0, 2, 1):
        hdr[f"DESC_{i}"] = f"plane {i}"
    assert fu.plane_labels(hdr, 4) == {i: f"plane {i}" for i in range(4)}
    c = fits.Header()
    for i in (2, 1, 3):
        c[f"C{i:02d}"] = f"line {i}"
    assert fu.plane_labels(c, 3, ("C",)) == {0: "line 1", 1: "line 2", 2: "line 3"}
    labels = {0: "error of the age", 1: "luminosity weighted age", 2: "mass weighted age"}
    assert fu.find_plane(labels, "weighted age", "error|mass") == 1
    with pytest.raises(InputFileError, match="no plane labelled"):
        fu.find_plane(labels, "metallicity", path="f.fits")


def test_clean_sentinels():
    v = np.array([1.0, -1.7976931348623157e308, np.nan, np.inf, 0.0])
    out = fu.clean(v)
    assert np.isnan(out[1:4]).all() and out[0] == 1 and out[4] == 0
    assert np.isnan(fu.clean(v, zero_is_missing=True)[4])
