"""MaNGA DAP MAPS: channels found by name, IVAR and MASK applied, the channel set recorded."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from galexplore.data.readers.manga import CHANNELS, read_manga_maps


def test_synthetic_maps_by_channel_name_with_masks(lay, tmp_path):
    m = read_manga_maps(lay.write_manga_maps(tmp_path / "manga-1-2-MAPS-HYB10.fits.gz"))
    f = lay.galaxy_fields()
    inside = f["inside"]
    cx, cy = lay.CENTRE[0], lay.CENTRE[1]
    assert m.galaxy_id == "1-2" and m.channels == CHANNELS
    assert m.notes["halpha_channel"] == "4: Ha-6564"  # found by name, not by number 18
    ew = m.channel("log_ew_ha")
    assert np.isnan(ew[int(cy), int(cx)])  # DONOTUSE bit set
    assert np.isnan(ew[int(cy) + 1, int(cx)])  # IVAR = 0
    good = inside.copy()
    good[int(cy), int(cx)] = good[int(cy) + 1, int(cx)] = False
    np.testing.assert_allclose(ew[good], np.log10(-f["ew"][good]), atol=1e-5)
    np.testing.assert_allclose(
        m.channel("log_flux_ha")[good], np.log10(10.0 / 0.25), atol=1e-5
    )  # per arcsec²
    assert np.nanmax(m.channel("stellar_sigma")) == pytest.approx(80.0)  # √(100² − 60²)
    assert np.nanmedian(m.channel("d4000")) == pytest.approx(1.6)  # D4000, not Dn4000
    assert np.isnan(m.data[:, ~inside]).all()
    assert m.properties["re_arcsec"] == 5.0 and m.properties["axis_ratio"] == pytest.approx(0.8)
    planes, info = m.to_grid()
    assert info["unit"] == "re" and planes.shape == (5, 64, 64)


def test_snr_cut(lay, tmp_path):
    path = lay.write_manga_maps(tmp_path / "m.fits")
    assert np.isnan(read_manga_maps(path, min_snr=100).channel("log_flux_ha")).all()  # 10·√4 = 20 < 100


@pytest.mark.real
def test_real_manga_maps(real):
    path = real("manga_dap", "manga-7815-3702-MAPS-HYB10-GAU-MILESHC.fits.gz")
    m = read_manga_maps(path)
    assert m.galaxy_id == "7815-3702" and m.notes["halpha_channel"] == "18: Ha-6564"
    with fits.open(path) as h:
        ew_src = h["EMLINE_GEW"].data[18]
        mask = h["EMLINE_GEW_MASK"].data[18]
        ivar = h["EMLINE_GEW_IVAR"].data[18]
    ew = 10 ** m.channel("log_ew_ha")
    masked = ((mask & (1 << 30)) != 0) | (ivar <= 0)
    assert np.isnan(ew[masked]).all()  # masks applied
    ok = np.isfinite(ew)
    assert ok.sum() > 500
    np.testing.assert_allclose(ew[ok], ew_src[ok], rtol=1e-5)
    assert 5 < np.nanmedian(ew) < 50 and np.isfinite(m.channel("log_flux_ha")).sum() > 500
    assert 1.0 < np.nanmedian(m.channel("d4000")) < 2.5
    assert np.nanmax(np.abs(m.channel("stellar_vel"))) < 500
    assert m.properties["re_arcsec"] == pytest.approx(3.77495)
