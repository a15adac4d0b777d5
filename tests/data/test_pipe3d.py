"""Pipe3D maps in the three layouts, on synthetic files and on the real NGC 4047 and HCG91c."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from galexplore.data.columns import MAP_CHANNELS
from galexplore.data.readers.distances import distance_scale, rescale_distance, spaxel_pc
from galexplore.data.readers.pipe3d import read_pipe3d
from galexplore.data.readers.resample import Geometry
from galexplore.errors import InputFileError

C = 299792.458


def _check_conversions(m, lay, *, ew=True):
    f = lay.galaxy_fields()
    inside = f["inside"]
    assert m.channels == list(MAP_CHANNELS)
    d_a, _ = distance_scale(distance_mpc=None, z=3000.0 / C)
    s = spaxel_pc(d_a, 1.0)
    np.testing.assert_allclose(
        m.channel("log_sigma_star")[inside], f["log_mass"][inside] - 2 * np.log10(s), atol=1e-5
    )
    np.testing.assert_allclose(m.channel("log_age_lw")[inside], f["age"][inside], atol=1e-5)
    np.testing.assert_allclose(m.channel("zh_lw")[inside], f["zh"][inside], atol=1e-5)
    np.testing.assert_allclose(m.channel("log_flux")[inside], np.log10(f["flux"][inside]), atol=1e-5)
    if ew:  # Pipe3D's negative emission EW becomes a positive log EW
        np.testing.assert_allclose(m.channel("log_ew_ha")[inside], np.log10(-f["ew"][inside]), atol=1e-5)
    assert np.isnan(m.data[:, ~inside]).all()  # 0 and -1.797e308 outside became NaN
    assert m.properties["z"] == pytest.approx(3000.0 / C)


def test_classic_split_files_planes_by_desc(lay, tmp_path):
    ssp = lay.write_ssp_cube(tmp_path / "SYNTHGAL.SSP.cube.fits.gz")
    lay.write_flux_elines(tmp_path / "flux_elines.SYNTHGAL.cube.fits.gz")
    m = read_pipe3d(ssp)
    assert m.galaxy_id == "SYNTHGAL" and m.frame.wcs is None
    _check_conversions(m, lay)
    assert m.frame.center == pytest.approx(lay.CENTRE, abs=1.0)


def test_classic_ssp_without_flux_elines(lay, tmp_path):
    m = read_pipe3d(lay.write_ssp_cube(tmp_path / "LONE.SSP.cube.fits.gz"))
    _check_conversions(m, lay, ew=False)
    assert np.isnan(m.channel("log_ew_ha")).all() and m.notes["ew_plane"].startswith("none")


def test_packed_cube_extensions_by_name(lay, tmp_path):
    m = read_pipe3d(lay.write_packed_pipe3d(tmp_path / "PACKEDGAL.Pipe3D.cube.fits.gz"))
    assert m.galaxy_id == "PACKEDGAL" and m.notes["layout"] == "packed Pipe3D cube"
    _check_conversions(m, lay)
    assert m.frame.center == pytest.approx(lay.CENTRE, abs=1e-6)  # from OBJRA/OBJDEC through the WCS
    assert m.properties["ra"] == pytest.approx(150.0)


def test_per_spaxel_hdf5(lay, tmp_path):
    m = read_pipe3d(lay.write_pipe3d_hdf5(tmp_path / "HDFGAL_allpix.pipe3d.hdf5"))
    assert m.galaxy_id == "HDFGAL" and m.data.shape == (5, lay.H, lay.W)
    _check_conversions(m, lay)
    assert m.frame.center == pytest.approx(lay.CENTRE, abs=0.01)
    assert m.frame.pixel_arcsec == pytest.approx(1.0, rel=1e-3)
    assert m.properties["ra"] == pytest.approx(200.0, abs=1e-4)


def test_plane_wording_variants():
    from galexplore.data.readers import fits_utils as fu
    from galexplore.data.readers.pipe3d import SSP_PLANES

    labels = {
        0: "Stellar Mass density per pixel with dust correction",
        1: "Stellar Mass density per pixel without dust correction",
        2: "error in stellar mass density",
        3: "Luminosity weighted log10 age",
        4: "stellar mass density dust corrected",
    }
    assert fu.find_plane(labels, *SSP_PLANES["mass"]) == 1
    assert fu.find_plane(labels, *SSP_PLANES["age"]) == 3
    assert (
        fu.find_plane(
            {0: "stellar mass density dust corrected", 1: "stellar mass density"}, *SSP_PLANES["mass"]
        )
        == 1
    )


def test_catalog_distance_rescales_sigma_star_only(lay, tmp_path):
    m = read_pipe3d(lay.write_pipe3d_hdf5(tmp_path / "g.hdf5"))
    d_old = m.properties["distance_mpc_da"]
    m2 = rescale_distance(m, distance_mpc=2 * d_old, z=0.0)
    diff = m2.channel("log_sigma_star") - m.channel("log_sigma_star")
    assert np.nanmax(np.abs(diff - 2 * np.log10(0.5))) < 1e-9
    np.testing.assert_array_equal(m2.channel("log_age_lw"), m.channel("log_age_lw"))


def test_wrong_unit_and_bad_files(lay, tmp_path):
    p = lay.write_pipe3d_hdf5(tmp_path / "u.hdf5")
    with h5py.File(p, "a") as h:
        meta = [
            x.replace(b"dex(solMass / pix2)", b"solMass / pc2") for x in h["SSP.__table_column_meta__"][()]
        ]
        del h["SSP.__table_column_meta__"]
        h["SSP.__table_column_meta__"] = np.array(meta)
    with pytest.raises(InputFileError, match="mass_ssp has unit"):
        read_pipe3d(p)
    bad = lay.truncate(lay.write_ssp_cube(tmp_path / "T.SSP.cube.fits"), tmp_path / "T2.SSP.cube.fits")
    with pytest.raises(InputFileError, match="T2.SSP.cube.fits"):
        read_pipe3d(bad)
    short = lay.truncate(lay.write_pipe3d_hdf5(tmp_path / "full.hdf5"), tmp_path / "short.hdf5", keep=0.3)
    with pytest.raises(InputFileError, match="short.hdf5"):
        read_pipe3d(short)


def test_to_grid_matches_synthetic_default(lay, tmp_path):
    m = read_pipe3d(lay.write_pipe3d_hdf5(tmp_path / "g.hdf5"))
    planes, info = m.to_grid(geometry=Geometry(re_arcsec=5.0))
    assert planes.shape == (5, 64, 64) and planes.dtype == np.float32
    assert info["unit"] == "re" and info["extent"] == 2.5
    age = planes[1]
    assert np.isnan(age[0, 0])  # the grid corner, 12.5″·√2 ≈ 17.7″ out, lies beyond the 15″ galaxy
    assert np.nanmax(age) == pytest.approx(9.8, abs=0.05)  # the old centre survives
    planes_a, info_a = m.to_grid()
    assert info_a["unit"] == "arcsec" and np.isnan(planes_a[:, 0, 0]).all()  # ±36": no data in the corners


# -- the real files -------------------------------------------------------------------------


@pytest.mark.real
def test_real_ngc4047_hdf5(real):
    path = real("califa_pipe3d", "NGC4047_allpix.pipe3d.hdf5")
    m = read_pipe3d(path)
    assert m.galaxy_id == "NGC4047" and m.channels == list(MAP_CHANNELS)
    age = m.channel("log_age_lw")
    valid = np.isfinite(age)
    assert valid.sum() > 3000
    assert (age[valid] >= 8.0).all() and (age[valid] <= 10.3).all()
    ew = 10 ** m.channel("log_ew_ha")
    with h5py.File(path) as h:
        src = h["flux_elines"]["EW_Halpha"]
        sigstar = h["SSP"]["sigstar"]
    assert (ew[np.isfinite(ew)] > 0).all()
    assert np.nanmedian(ew) == pytest.approx(np.nanmedian(np.abs(src)), rel=1e-4)
    # Σ* from mass per spaxel, 1" spaxels and D_A: matches Pipe3D's own sigstar to 0.05 dex
    assert np.nanmedian(m.channel("log_sigma_star")) == pytest.approx(
        np.nanmedian(np.log10(sigstar)), abs=0.05
    )
    assert m.frame.pixel_arcsec == pytest.approx(1.0, abs=1e-3)
    planes, info = m.to_grid(geometry=Geometry(re_arcsec=13.2))
    assert planes.shape == (5, 64, 64) and np.isfinite(planes).mean() > 0.3


@pytest.mark.real
def test_real_hcg91c_planes_by_desc(real):
    m = read_pipe3d(real("califa_pipe3d", "HCG91c.SSP.cube.fits.gz"))
    assert m.galaxy_id == "HCG91c" and m.frame.wcs is None
    planes = m.notes["planes"]
    assert (
        planes["age"].startswith("5:") and planes["zh"].startswith("8:") and planes["mass"].startswith("18:")
    )
    age = m.channel("log_age_lw")
    assert np.isfinite(age).sum() > 50000
    assert 8.0 < np.nanmedian(age) < 10.3
    assert np.nanmin(m.channel("log_sigma_star")) > -5  # the -1.797e308 sentinels became NaN
    assert "assumed" in m.notes["pixel_scale"] and "no WCS" in m.notes["centre"]
