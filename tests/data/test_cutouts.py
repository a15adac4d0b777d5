"""Multi-band FITS cutouts: bands named, bad pixels NaN, truncated files a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.data.readers.cutouts import read_cutout, to_common
from galexplore.errors import InputFileError


def test_bands_units_and_flux_conservation(lay, tmp_path):
    c = read_cutout(lay.write_cutout(tmp_path / "a.fits"))
    assert c.channels == ["g", "r", "z"] and c.units == ["nanomaggy"] * 3
    assert c.properties["image_pixel_arcsec"] == pytest.approx(0.262)
    total = np.nansum(c.data, axis=(1, 2))
    small, pix = to_common(c, size=16)
    assert small.shape == (3, 16, 16) and pix == pytest.approx(0.262 * 3)
    np.testing.assert_allclose(np.nansum(small, axis=(1, 2)), total, rtol=0.02)  # linear flux kept
    resampled, pix2 = to_common(c, size=32, pixel_arcsec=0.4)
    assert resampled.shape == (3, 32, 32) and pix2 == 0.4
    assert np.nansum(resampled[1]) == pytest.approx(total[1], rel=0.05)


def test_no_wcs_and_given_bands(lay, tmp_path):
    c = read_cutout(lay.write_cutout(tmp_path / "b.fits", bands=("g", "r"), wcs=False), bands=["G", "R"])
    assert c.channels == ["G", "R"] and c.frame.wcs is None and "ra" not in c.properties
    with pytest.raises(InputFileError, match="no WCS"):
        to_common(c, pixel_arcsec=0.3)
    with pytest.raises(InputFileError, match="2 bands in the file but 3"):
        read_cutout(tmp_path / "b.fits", bands=["g", "r", "z"])


def test_zero_regions_are_bad_pixels(lay, tmp_path):
    c = read_cutout(lay.write_cutout(tmp_path / "z.fits", zero_region=True))
    assert c.notes["bad_pixel_frac"]["g"] == pytest.approx(0.5) and c.notes["bad_pixel_frac"]["z"] == 0
    assert np.isnan(c.data[0, :24]).all() and np.isfinite(c.data[1]).all()


def test_truncated(lay, tmp_path):
    bad = lay.truncate(lay.write_cutout(tmp_path / "t.fits"), tmp_path / "t_cut.fits")
    with pytest.raises(InputFileError, match=r"t_cut\.fits: truncated FITS file"):
        read_cutout(bad)


@pytest.mark.real
@pytest.mark.parametrize("name", ["example_a", "example_b", "example_c"])
def test_real_decals(real, name):
    c = read_cutout(real("decals_cutouts", f"{name}.fits"))
    assert c.channels == ["g", "r", "z"] and c.data.shape == (3, 424, 424) and c.units[0] == "nanomaggy"
    assert np.isfinite(c.data).all() and c.properties["bad_pixel_frac"] == 0
    r = c.data[1]
    assert r[190:234, 190:234].mean() > 5 * np.median(r)  # the galaxy is at the centre


@pytest.mark.real
def test_real_decals_bad_pix_and_incomplete(real):
    c = read_cutout(real("decals_cutouts", "example_bad_pix.fits"))
    assert 0.5 < c.notes["bad_pixel_frac"]["g"] < 0.9 and c.notes["bad_pixel_frac"]["z"] == 0
    assert np.isnan(c.data[0]).sum() == 136104  # the exact-zero region of g
    path = real("decals_cutouts", "example_incomplete.fits")
    with pytest.raises(InputFileError) as err:
        read_cutout(path)
    assert (
        str(err.value).startswith(str(path)) and "truncated" in str(err.value) and "\n" not in str(err.value)
    )


@pytest.mark.real
@pytest.mark.parametrize(
    "name", ["abell_2744_dwarf_galaxy_f105w.fits.gz", "abell_2744_spiral_galaxy_f105w.fits.gz"]
)
def test_real_hst(real, name):
    c = read_cutout(real("hst_images", name))
    assert c.data.shape[0] == 1 and c.properties["image_pixel_arcsec"] == pytest.approx(0.06, rel=1e-3)
    assert c.units[0].lower().replace(" ", "") in {"electrons/s", "electron/s"}
