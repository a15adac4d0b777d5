"""Spectra: DESI arms merged with redrock redshifts, SDSS spec-lite, MaNGA spectra, one grid."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.data.readers.spectra import common_grid, merge_arms, read_spectra
from galexplore.errors import InputFileError


def test_desi_arms_merged_and_redrock_paired(lay, tmp_path):
    coadd, _ = lay.write_desi(tmp_path)
    s = read_spectra(coadd)  # redrock found beside it by name
    assert [x.galaxy_id for x in s] == ["11", "22"]
    a = s[0]
    assert a.wave[0] == pytest.approx(3600.0) and a.wave[-1] == pytest.approx(9824.0)
    assert np.allclose(np.diff(a.wave), 0.8)
    in_b = a.wave < 5760
    assert np.allclose(a.flux[in_b], 1.0)
    overlap = (a.wave >= 5760) & (a.wave <= 5800)
    assert np.allclose(a.flux[overlap], (1.0 * 1 + 2.0 * 3) / 4)  # inverse-variance weighted
    assert a.properties["z"] == 0.1 and s[1].properties["z"] == 0.5  # matched on TARGETID, not row
    assert np.isnan(s[1].flux[:10]).all()  # masked pixels


def test_desi_without_redrock(lay, tmp_path):
    coadd, rr = lay.write_desi(tmp_path)
    rr.unlink()
    s = read_spectra(coadd)
    assert np.isnan(s[0].properties["z"]) and "none" in s[0].notes["redshift"]
    with pytest.raises(InputFileError, match="redrock"):
        lay.write_desi(tmp_path)
        read_spectra(tmp_path / "redrock-9-1-thru1.fits")


def test_sdss_and_manga(lay, tmp_path):
    (sd,) = read_spectra(lay.write_sdss_speclite(tmp_path / "spec-0266-51630-0003.fits"))
    assert sd.galaxy_id == "0266-51630-0003" and sd.properties["z"] == 0.02
    assert np.isnan(sd.flux[:5]).all() and np.nanmedian(sd.flux) == 4.0
    assert sd.wave[0] == pytest.approx(10**3.58, rel=1e-5)
    m = read_spectra(lay.write_manga_spectra(tmp_path / "mspec.fits"))
    assert len(m) == 3 and np.isnan(m[2].flux).all() and m[1].properties["z"] == 0.02
    wave, flux = common_grid([sd, *m])
    assert flux.shape == (4, sd.wave.size) and np.array_equal(wave, sd.wave)
    assert np.nanmedian(flux[1]) == pytest.approx(1.0)


def test_merge_arms_off_grid():
    w1 = np.arange(4000.0, 5000.0, 1.0)
    w2 = np.arange(4900.3, 6000.0, 1.0)
    wave, flux, ivar = merge_arms(
        [(w1, np.ones_like(w1), np.ones_like(w1)), (w2, 3 * np.ones_like(w2), np.ones_like(w2))]
    )
    assert wave[0] == 4000 and wave[-1] == pytest.approx(5999.3, abs=1)
    assert np.nanmax(flux) == pytest.approx(3.0) and np.nanmin(flux) == pytest.approx(1.0)


@pytest.mark.real
def test_real_desi_one_merged_spectrum(real):
    (s,) = read_spectra(real("desi_spectra", "coadd-4-80613-thru20210324.fits"))
    assert s.galaxy_id == "39633345008634465"
    assert s.properties["z"] == pytest.approx(0.36874, abs=1e-4) and s.properties["spectype"] == "GALAXY"
    assert s.wave.size == 7781 and s.wave[0] == 3600.0 and s.wave[-1] == pytest.approx(9824.0)
    assert np.isfinite(s.flux).mean() > 0.99
    ha = (s.wave > 6563 * 1.36874 - 10) & (s.wave < 6563 * 1.36874 + 10)  # Hα at the redrock redshift
    assert np.nanmax(s.flux[ha]) > 2 * np.nanmedian(s.flux)


@pytest.mark.real
def test_real_manga_spectra(real):
    s = read_spectra(real("manga_dap", "MaNGA_test_spectra.fits.gz"))
    assert len(s) == 8 and all(0 < x.properties["z"] < 0.1 for x in s)
    assert sum(np.isfinite(x.flux).any() for x in s) == 7  # one spectrum is fully masked
