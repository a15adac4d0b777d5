"""The bad-input sweep: every entry point, every kind of bad input.

Each case runs the real command line in a subprocess and checks the contract: a non-zero exit,
exactly one line on stderr that names the file or value at fault, no traceback, and no new or
half-written artifact (the previous one, if any, is untouched). docs/robustness.md lists the
cases with the test that shows each.
"""

from __future__ import annotations

import csv
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galexplore.artifacts.paths import RunPaths

#: CLI runs end to end (1.5–3 s each): out of the quick loop, in every CI run
pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def REAL_CUTOUTS(name: str) -> Path:  # noqa: N802
    path = REAL / "decals_cutouts" / name
    if not path.exists():
        pytest.skip(f"real survey files not present ({path})")
    return path


def gx(*args: str, limit_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if limit_file_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.run(
        [sys.executable, "-m", "galexplore", "-q", *map(str, args)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        preexec_fn=limit,
    )


def assert_one_line_error(out: subprocess.CompletedProcess, *must_name: str) -> str:
    err = out.stderr.strip()
    assert out.returncode != 0, f"exit 0 for bad input; stderr: {err}"
    assert "Traceback" not in err, err
    lines = [
        ln
        for ln in err.splitlines()
        if ln.startswith("galexplore: error") or ln.startswith("galexplore: internal")
    ]
    assert len(lines) == 1 and err.splitlines()[-1] == lines[0], err
    assert lines[0].startswith("galexplore: error"), f"a bug, not a handled error: {lines[0]}"
    for name in must_name:
        assert name in lines[0], f"{name!r} not named in: {lines[0]}"
    return lines[0]


def tree(path: Path) -> dict[str, bytes]:
    return (
        {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
        if path.exists()
        else {}
    )


# -- ingest ---------------------------------------------------------------------------------------
def test_truncated_fits_alone_writes_nothing(tmp_path):
    out = tmp_path / "s"
    res = gx("ingest", "fits-cutouts", REAL_CUTOUTS("example_incomplete.fits"), "--out", out)
    assert_one_line_error(res, "example_incomplete.fits")
    assert not out.exists()


def test_missing_input_file(tmp_path):
    res = gx("ingest", "fits-cutouts", tmp_path / "nope.fits", "--out", tmp_path / "s")
    assert_one_line_error(res, "nope.fits")


def test_pipe3d_cube_without_the_needed_planes(tmp_path):
    path = tmp_path / "bad.SSP.cube.fits"
    hdu = fits.PrimaryHDU(np.ones((3, 10, 10), dtype=np.float32))
    for i, d in enumerate(["pseudo V-band map", "velocity of the stellar population", "error of the age"]):
        hdu.header[f"DESC_{i}"] = d
    hdu.writeto(path)
    assert_one_line_error(gx("ingest", "pipe3d", path, "--out", tmp_path / "s"), "bad.SSP.cube.fits")
    assert not (tmp_path / "s").exists()


def test_pipe3d_all_nan_maps(tmp_path):
    path = tmp_path / "nan.SSP.cube.fits"
    hdu = fits.PrimaryHDU(np.full((20, 10, 10), np.nan, dtype=np.float32))
    for i, d in enumerate(
        [
            "median intensity flux within the wavelength range",
            "luminosity weighted age of the stellar population",
            "luminosity weighted metallicity of the stellar population",
            "stellar mass density",
        ]
    ):
        hdu.header[f"DESC_{i}"] = d
    hdu.writeto(path)
    assert_one_line_error(gx("ingest", "pipe3d", path, "--out", tmp_path / "s"), "nan.SSP.cube.fits")
    assert not (tmp_path / "s").exists()


def test_catalog_with_duplicate_ids(tmp_path):
    path = tmp_path / "dups.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["galaxy_id", "log_mstar"])
        w.writerows([["a", 10.0], ["b", 10.5], ["a", 11.0]])
    assert_one_line_error(gx("ingest", "catalog", path, "--out", tmp_path / "s"), "'a'")
    assert not (tmp_path / "s").exists()


def test_catalog_without_ids(tmp_path):
    path = tmp_path / "noid.csv"
    path.write_text("log_mstar,log_sfr\n10,0\n11,1\n")
    assert_one_line_error(gx("ingest", "catalog", path, "--out", tmp_path / "s"), "noid.csv")


def test_catalog_that_matches_no_galaxy(tiny_survey_copy, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("galaxy_id,ra,dec,log_mstar\nX1,10,10,10\nX2,11,11,11\n")
    before = tree(tiny_survey_copy.path)
    assert_one_line_error(gx("ingest", "catalog", path, "--into", tiny_survey_copy.path), "other.csv")
    assert tree(tiny_survey_copy.path) == before


# -- training, checkpoints, embedding ----------------------------------------------------------------
@pytest.fixture(scope="module")
def run(tiny_survey, tmp_path_factory):
    run = tmp_path_factory.mktemp("bad") / "run"
    out = gx(
        "train",
        tiny_survey.path,
        "--out",
        run,
        "--epochs",
        "1",
        "--width",
        "4",
        "--depth",
        "2",
        "--batch-size",
        "16",
        "--threads",
        "1",
        "--device",
        "cpu",
    )
    assert out.returncode == 0, out.stderr
    assert gx("embed", tiny_survey.path, run, "--device", "cpu").returncode == 0
    return run


def test_train_on_a_missing_survey(tmp_path):
    assert_one_line_error(gx("train", tmp_path / "nowhere", "--out", tmp_path / "r"), "nowhere")
    assert not (tmp_path / "r" / "encoder.pt").exists()


def test_train_on_maps_that_are_all_nan(tiny_survey_copy, tmp_path):
    arr = tiny_survey_copy.array("maps")
    import zarr

    z = zarr.open_array(tiny_survey_copy.path / "maps.zarr" / "data", mode="r+")
    z[...] = np.full(arr.shape, np.nan, dtype=np.float32)
    err = assert_one_line_error(gx("train", tiny_survey_copy.path, "--out", tmp_path / "r", "--epochs", "1"))
    assert "NaN" in err or "no valid" in err or "no data" in err
    assert not (tmp_path / "r" / "encoder.pt").exists()


@pytest.mark.slow
def test_corrupted_checkpoint(tiny_survey, run, tmp_path):
    bad = tmp_path / "run"
    shutil.copytree(run, bad)
    RunPaths.of(bad).encoder.write_bytes(b"\x80\x04 not a checkpoint")
    before = RunPaths.of(bad).embeddings.read_bytes()
    assert_one_line_error(gx("embed", tiny_survey.path, bad), "encoder.pt")
    assert RunPaths.of(bad).embeddings.read_bytes() == before


def test_checkpoint_with_other_channels(run, tmp_path):
    from galexplore.data import ModalitySpec, write_survey

    cat = __import__("pandas").DataFrame({"galaxy_id": ["a", "b", "c"]})
    maps = np.zeros((3, 2, 64, 64), dtype=np.float32)
    spec = ModalitySpec("maps", (2, 64, 64), ["log_sigma_star", "zh_lw"], ["", ""])
    other = write_survey(tmp_path / "other", cat, {"maps": (maps, spec)}, name="other", source="test")
    assert_one_line_error(gx("embed", other.path, run), "channels", "log_age_lw")


@pytest.mark.slow
def test_embedding_into_an_output_under_a_file(tiny_survey, run, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(
        gx("train", tiny_survey.path, "--out", blocker / "run", "--epochs", "1"), str(blocker)
    )


@pytest.mark.slow
def test_full_disk_during_synth_keeps_the_old_survey(tmp_path):
    out = tmp_path / "s"
    assert gx("synth", "--n", "40", "--out", out).returncode == 0
    before = tree(out)
    res = gx("synth", "--n", "400", "--seed", "3", "--out", out, limit_file_bytes=400_000)
    assert_one_line_error(res, str(out))
    assert tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name != "s"]  # no temporary leftovers


def test_full_disk_during_embed_keeps_the_old_embeddings(tiny_survey, run):
    before = RunPaths.of(run).embeddings.read_bytes()
    res = gx("embed", tiny_survey.path, run, "--views", "2", limit_file_bytes=4096)
    assert_one_line_error(res, "embeddings.parquet")
    assert RunPaths.of(run).embeddings.read_bytes() == before


def test_resume_from_a_checkpoint_of_another_survey(run, tmp_path):
    from galexplore.data.synthetic import synthesize

    other = synthesize(40, tmp_path / "other", seed=98, workers=1)
    mine = tmp_path / "run"
    shutil.copytree(run, mine)
    before = RunPaths.of(mine).encoder.read_bytes()
    err = assert_one_line_error(
        gx("train", other.path, "--out", mine, "--resume", "--epochs", "2"), str(other.path)
    )
    assert "fingerprint" in err
    assert RunPaths.of(mine).encoder.read_bytes() == before


def test_images_of_the_wrong_shape_or_kind_are_skipped_and_reported(tmp_path):
    from astropy.table import Table
    from PIL import Image

    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(d / f"ok{i}.png")
    Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8)).save(d / "gray.png")  # 1 band, not 3
    fits.PrimaryHDU(np.arange(10.0)).writeto(d / "line.fits")  # 1-D
    fits.PrimaryHDU(np.ones((2, 3, 20, 20), dtype=np.int16)).writeto(d / "fourd.fits")  # 4-D
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table({"a": [1, 2]}))]).writeto(
        d / "table.fits"
    )  # no image
    bad = ["gray.png", "line.fits", "fourd.fits", "table.fits"]
    cat = tmp_path / "cat.csv"
    files = [f"ok{i}.png" for i in range(3)] + bad
    cat.write_text("galaxy_id,file\n" + "".join(f"{f.split('.')[0]},{f}\n" for f in files))
    res = gx("ingest", "images", d, "--catalog", cat, "--out", tmp_path / "s")
    assert res.returncode == 0, res.stderr
    skipped = [ln for ln in res.stderr.splitlines() if ln.startswith("galexplore: skipped")]
    assert sorted(ln.split()[2].rstrip(":").split("/")[-1] for ln in skipped) == sorted(bad)
    from galexplore.data import open_survey

    s = open_survey(tmp_path / "s")
    assert sorted(s.catalog["galaxy_id"]) == ["ok0", "ok1", "ok2"]
    assert s.array("images").shape == (3, 3, 64, 64)


# -- analysis verbs -------------------------------------------------------------------------------
def test_search_for_an_unknown_galaxy(run):
    assert_one_line_error(gx("search", run, "--galaxy", "NO-SUCH-GALAXY"), "NO-SUCH-GALAXY")


def test_export_of_an_empty_selection(run, tmp_path):
    assert_one_line_error(gx("export", run, "--out", tmp_path / "x.fits", "--galaxies", "NO-SUCH"), "NO-SUCH")
    assert not (tmp_path / "x.fits").exists()


def test_cluster_with_an_impossible_k(run):
    assert_one_line_error(gx("cluster", run, "--k", "5000"), "5000")


def test_project_a_run_without_embeddings(tmp_path):
    (tmp_path / "empty_run").mkdir()
    assert_one_line_error(gx("project", tmp_path / "empty_run"), "embeddings.parquet")


def test_evaluate_against_a_survey_that_does_not_match(run, tmp_path):
    from galexplore.data.synthetic import synthesize

    other = synthesize(40, tmp_path / "other", seed=99, workers=1)
    assert_one_line_error(gx("evaluate", other.path, run, "--no-report"), "galaxy")
    assert not RunPaths.of(run).metrics.exists()
