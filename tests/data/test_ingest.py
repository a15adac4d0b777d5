"""``galexplore ingest``: batches with bad files, reports, provenance, every kind end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galexplore.cli import main
from galexplore.data import open_survey
from galexplore.data.columns import MAP_CHANNELS


def _run(capsys, *argv):
    rc = main(["-q", "ingest", *map(str, argv)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


def _meta(path):
    return json.loads((path / "survey.json").read_text())


def test_pipe3d_batch_with_a_bad_file(lay, tmp_path, capsys):
    files = [
        lay.write_pipe3d_hdf5(tmp_path / "HDFGAL_allpix.pipe3d.hdf5"),
        lay.write_ssp_cube(tmp_path / "SYNTHGAL.SSP.cube.fits.gz"),
        lay.write_flux_elines(tmp_path / "flux_elines.SYNTHGAL.cube.fits.gz"),
        lay.write_packed_pipe3d(tmp_path / "PACKEDGAL.Pipe3D.cube.fits.gz"),
        lay.truncate(lay.write_ssp_cube(tmp_path / "X.SSP.cube.fits"), tmp_path / "BROKEN.SSP.cube.fits"),
    ]
    out = tmp_path / "survey"
    rc, err = _run(capsys, "pipe3d", *files, "--out", out)
    assert rc == 0
    bad_lines = [line for line in err.splitlines() if line.startswith("galexplore: skipped")]
    assert len(bad_lines) == 1 and "BROKEN.SSP.cube.fits" in bad_lines[0] and "truncated" in bad_lines[0]
    s = open_survey(out)
    assert sorted(s.catalog["galaxy_id"]) == ["HDFGAL", "PACKEDGAL", "SYNTHGAL"]
    spec = s.spec("maps")
    assert spec.shape == (5, 64, 64) and spec.channels == list(MAP_CHANNELS) and spec.grid["kind"] == "arcsec"
    rep = json.loads((out / "ingest_report.json").read_text())
    assert rep["skipped"][0]["file"].endswith("BROKEN.SSP.cube.fits") and len(rep["read"]) == 3
    prov = _meta(out)["provenance"]
    assert (
        prov["channel_set"] == "pipe3d-standard"
        and "astropy" in prov["packages"]
        and "numpy" in prov["packages"]
    )
    assert len(prov["sources"]) == 3 and all(len(x["sha256"]) == 64 for x in prov["sources"])
    assert prov["choices"]["solar_metallicity"] == 0.02 and "distance" in prov["choices"]
    age = s.read("maps", [0])[0, 1]
    assert 8 < np.nanmedian(age) < 10.3


def test_pipe3d_with_catalog_goes_on_re_grid(lay, tmp_path, capsys):
    h = lay.write_pipe3d_hdf5(tmp_path / "g.hdf5")
    cat = tmp_path / "cat.csv"
    pd.DataFrame({"galaxy_id": ["HDFGAL"], "re_arcsec": [6.0], "z": [0.02], "log_mstar": [10.0]}).to_csv(
        cat, index=False
    )
    rc, _ = _run(capsys, "pipe3d", h, "--catalog", cat, "--out", tmp_path / "s")
    s = open_survey(tmp_path / "s")
    assert rc == 0 and s.spec("maps").grid["kind"] == "re_normalised"
    row = s.catalog.iloc[0]
    assert row["re_arcsec"] == 6.0 and row["z"] == 0.02 and row["log_mstar"] == 10.0
    assert row["grid_pixel_arcsec"] == pytest.approx(6.0 * 5 / 64)


def test_nothing_readable_fails_cleanly(lay, tmp_path, capsys):
    bad = lay.truncate(lay.write_cutout(tmp_path / "a.fits"), tmp_path / "bad.fits")
    rc, err = _run(capsys, "fits-cutouts", bad, "--out", tmp_path / "s")
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "bad.fits" in err
    assert not (tmp_path / "s").exists()  # nothing half-written


def test_manga_channel_set_recorded(lay, tmp_path, capsys):
    rc, _ = _run(capsys, "manga-maps", lay.write_manga_maps(tmp_path / "m.fits"), "--out", tmp_path / "s")
    meta = _meta(tmp_path / "s")
    assert rc == 0 and meta["provenance"]["channel_set"] == "manga-dap"
    assert meta["modalities"]["maps"]["channels"] == [
        "log_ew_ha",
        "log_flux_ha",
        "stellar_vel",
        "stellar_sigma",
        "d4000",
    ]
    assert meta["modalities"]["maps"]["grid"]["kind"] == "re_normalised"  # REFF from the header
    rc, _ = _run(
        capsys,
        "manga-maps",
        tmp_path / "m.fits",
        "--grid",
        "arcsec",
        "--extent-arcsec",
        12,
        "--out",
        tmp_path / "a",
    )
    grid = _meta(tmp_path / "a")["modalities"]["maps"]["grid"]
    assert rc == 0 and grid["kind"] == "arcsec" and grid["pixel_arcsec"] == pytest.approx(24 / 64)
    assert open_survey(tmp_path / "a").catalog["grid_pixel_arcsec"].iloc[0] == pytest.approx(24 / 64)


def test_cutouts_batch(lay, tmp_path, capsys):
    a = lay.write_cutout(tmp_path / "a.fits")
    b = lay.write_cutout(tmp_path / "b.fits", n=60)
    t = lay.truncate(lay.write_cutout(tmp_path / "c.fits"), tmp_path / "t.fits")
    rc, err = _run(capsys, "fits-cutouts", a, b, t, "--out", tmp_path / "s")
    assert rc == 0 and "b.fits" in err and "differs" in err and "t.fits" in err
    rc, err = _run(capsys, "fits-cutouts", a, b, t, "--size", 32, "--out", tmp_path / "s2")
    s = open_survey(tmp_path / "s2")
    assert rc == 0 and s.n_galaxies == 2 and s.spec("images").channels == ["g", "r", "z"]
    assert s.spec("images").units == ["nanomaggy"] * 3


def test_images_folder(tmp_path, capsys):
    d = tmp_path / "imgs"
    d.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(d / f"{name}.jpg")
    csv = tmp_path / "c.csv"
    pd.DataFrame(
        {"galaxy_id": ["A", "B", "C"], "file": ["a.png", "b.jpg", "c.png"], "label": [1, 2, 3]}
    ).to_csv(csv, index=False)
    rc, err = _run(capsys, "images", d, "--catalog", csv, "--size", 16, "--out", tmp_path / "s")
    s = open_survey(tmp_path / "s")
    assert rc == 0 and s.n_galaxies == 2 and "c.png" in err
    assert s.catalog["label"].tolist() == [1, 2] and s.spec("images").shape == (3, 16, 16)


def test_images_crop_keeps_the_central_fraction(tmp_path, capsys):
    """--crop 0.5 keeps the middle half of the frame: a centred 50 % square fills the output."""
    d = tmp_path / "imgs"
    d.mkdir()
    frame = np.zeros((40, 40, 3), np.uint8)
    frame[10:30, 10:30] = 200  # the "galaxy": the central half of the frame
    Image.fromarray(frame).save(d / "g.png")
    csv = tmp_path / "c.csv"
    pd.DataFrame({"galaxy_id": ["G"], "file": ["g.png"]}).to_csv(csv, index=False)
    for crop, out in (("0.5", "half"), ("1", "whole")):
        rc, _ = _run(
            capsys, "images", d, "--catalog", csv, "--size", 8, "--crop", crop, "--out", tmp_path / out
        )
        assert rc == 0
    half = open_survey(tmp_path / "half").read("images", np.array([0]))[0]
    whole = open_survey(tmp_path / "whole").read("images", np.array([0]))[0]
    np.testing.assert_allclose(half, 200 / 255, atol=1e-5)  # only galaxy pixels left
    assert (
        whole[:, 0, 0].max() < 1e-3 and whole[:, 4, 4].min() > 0.7
    )  # sky at the corner, galaxy in the middle
    meta = _meta(tmp_path / "half")
    assert meta["provenance"]["choices"]["crop_fraction"] == 0.5
    with pytest.raises(SystemExit) as e:
        main(
            ["ingest", "images", str(d), "--catalog", str(csv), "--crop", "1.5", "--out", str(tmp_path / "x")]
        )
    assert e.value.code == 2 and "must be in (0, 1], got 1.5" in capsys.readouterr().err


def test_images_crop_default_matches_the_library():
    from galexplore.cli import ingest as cli_ingest
    from galexplore.data import ingest

    assert cli_ingest.IMAGE_CROP == ingest.IMAGE_CROP


def test_spectra_batch(lay, tmp_path, capsys):
    coadd, rr = lay.write_desi(tmp_path)
    m = lay.write_manga_spectra(tmp_path / "ms.fits")
    rc, err = _run(capsys, "spectra", coadd, rr, m, "--out", tmp_path / "s")
    s = open_survey(tmp_path / "s")
    assert rc == 0 and s.n_galaxies == 4 and "ms.fits[ms-2]" in err  # the fully masked one
    assert s.catalog.set_index("galaxy_id").loc["22", "z"] == 0.5
    assert s.aux("spectra", "wavelength").size == s.spec("spectra").shape[0]


def test_catalog_out_and_into(lay, tmp_path, capsys):
    paths = lay.write_ecalifa_tables(tmp_path)
    rc, _ = _run(capsys, "catalog", paths["gp"], "--out", tmp_path / "s")
    assert rc == 0 and open_survey(tmp_path / "s").n_galaxies == 12
    rc, _ = _run(capsys, "catalog", paths["edge"], "--into", tmp_path / "s")
    s = open_survey(tmp_path / "s")
    assert rc == 0 and "caOH" in s.catalog and s.catalog["sf_class"].notna().all()
    assert "matched 12 of 12" in _meta(tmp_path / "s")["provenance"]["joined_catalogs"][0]["join"]
    rc, err = _run(
        capsys, "catalog", paths["global"], "--into", tmp_path / "s", "--on", "sky", "--radius", "2arcsec"
    )
    assert rc == 0 and "extra_col" in open_survey(tmp_path / "s").catalog
    with pytest.raises(SystemExit) as e:
        main(["ingest", "catalog", str(paths["global"]), "--into", str(tmp_path / "s"), "--radius", "2kg"])
    assert e.value.code == 2 and "not a positive angle: '2kg'" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["pipe3d", "manga-maps", "fits-cutouts", "images", "spectra", "catalog"])
def test_help(kind, capsys):
    with pytest.raises(SystemExit) as e:
        main(["ingest", kind, "--help"])
    assert e.value.code == 0 and "--out" in capsys.readouterr().out


# -- the real files -------------------------------------------------------------------------


@pytest.mark.real
def test_real_decals_batch_reports_incomplete(real, tmp_path, capsys):
    folder = real("decals_cutouts", "example_a.fits").parent
    files = sorted(folder.glob("*.fits"))
    rc, err = _run(capsys, "fits-cutouts", *files, "--out", tmp_path / "s")
    s = open_survey(tmp_path / "s")
    assert rc == 0 and s.n_galaxies == 4 and s.spec("images").channels == ["g", "r", "z"]
    skipped = [line for line in err.splitlines() if line.startswith("galexplore: skipped")]
    assert len(skipped) == 1 and "example_incomplete.fits" in skipped[0]
    assert any("example_bad_pix.fits" in line and "bad" in line for line in err.splitlines())


@pytest.mark.real
def test_real_pipe3d_with_ecalifa_catalog(real, tmp_path, capsys):
    h5 = real("califa_pipe3d", "NGC4047_allpix.pipe3d.hdf5")
    cat = real("ecalifa", "ecalifa_global.csv")
    rc, _ = _run(capsys, "pipe3d", h5, "--catalog", cat, "--out", tmp_path / "s")
    s = open_survey(tmp_path / "s")
    row = s.catalog.iloc[0]
    assert rc == 0 and s.spec("maps").grid["kind"] == "re_normalised" and row["galaxy_id"] == "NGC4047"
    assert row["sf_class"] == "star-forming" and row["re_arcsec"] == pytest.approx(13.21, abs=0.01)
    maps = s.read("maps", [0])[0]
    assert np.isfinite(maps[1]).mean() > 0.4 and 8 <= np.nanmin(maps[1]) and np.nanmax(maps[1]) <= 10.3


@pytest.mark.real
def test_real_spectra_and_manga(real, tmp_path, capsys):
    coadd = real("desi_spectra", "coadd-4-80613-thru20210324.fits")
    rr = real("desi_spectra", "redrock-4-80613-thru20210324.fits")
    rc, _ = _run(capsys, "spectra", coadd, rr, "--out", tmp_path / "d")
    s = open_survey(tmp_path / "d")
    assert rc == 0 and s.n_galaxies == 1 and s.catalog["z"].iloc[0] == pytest.approx(0.3687, abs=1e-3)
    rc, _ = _run(
        capsys,
        "manga-maps",
        real("manga_dap", "manga-7815-3702-MAPS-HYB10-GAU-MILESHC.fits.gz"),
        "--out",
        tmp_path / "m",
    )
    m = open_survey(tmp_path / "m")
    assert rc == 0 and np.isfinite(m.read("maps", [0])[0, 0]).sum() > 1000
