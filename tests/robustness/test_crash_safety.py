"""``kill -9`` at random points of synth, ingest, embed and project never leaves a half-written
artifact: afterwards each one is the old complete version or the new complete one, and a
re-run finishes the job. (Training's kill-and-resume test is tests/training/test_kill_resume.py.)
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galexplore.artifacts.runs import read_embeddings, read_projection
from galexplore.data import open_survey

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
RNG = np.random.default_rng(20261122)


def gx(*args: str) -> list[str]:
    return [sys.executable, "-m", "galexplore", "-q", *args]


def run_ok(cmd: list[str]) -> float:
    t0 = time.monotonic()
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-2000:]
    return time.monotonic() - t0


def kill_after(cmd: list[str], delay: float) -> bool:
    """Start ``cmd``, SIGKILL it after ``delay`` s; True if it was killed (not finished)."""
    proc = subprocess.Popen(
        cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return True


def digest(*arrays) -> str:
    """Hash of the data an artifact holds (not of volatile metadata such as timings)."""
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype != object:
            h.update(np.ascontiguousarray(a).tobytes())
        else:
            h.update(a if isinstance(a, bytes) else "\n".join(map(str, a)).encode())
    return h.hexdigest()


def survey_content(path: Path, modality: str) -> str:
    s = open_survey(path)  # validates ids, counts, channels
    return digest((path / "catalog.parquet").read_bytes(), s.read(modality, slice(None)))


def embeddings_content(run: Path) -> str:
    e = read_embeddings(run)
    return digest(e.galaxy_ids, e.get("maps"))


def projection_content(run: Path) -> str:
    df, _ = read_projection(run)
    return digest(df["galaxy_id"].to_numpy(), df[["x", "y"]].to_numpy())


def kill_points(duration: float, n: int = 3) -> list[float]:
    """Seeded random kill times spread over a run of ``duration`` seconds."""
    return sorted(RNG.uniform(0.15, 0.95, n) * duration)


def check_kills(cmd_new, content, old: str, new: str, duration: float) -> None:
    """Kill ``cmd_new`` at seeded random moments; the artifact must stay old or become new, complete."""
    assert old != new
    for delay in kill_points(duration):
        killed = kill_after(cmd_new, delay)
        assert content() in {old, new}, (
            f"half-written artifact after a kill at {delay:.2f} s (killed={killed})"
        )


@pytest.mark.slow
def test_synth_is_crash_safe(tmp_path):
    out = tmp_path / "survey"
    content = lambda: survey_content(out, "maps")  # noqa: E731
    run_ok(gx("synth", "--n", "200", "--seed", "1", "--out", str(out)))
    old = content()
    duration = run_ok(gx("synth", "--n", "200", "--seed", "2", "--out", str(out)))
    new = content()
    run_ok(gx("synth", "--n", "200", "--seed", "1", "--out", str(out)))
    check_kills(gx("synth", "--n", "200", "--seed", "2", "--out", str(out)), content, old, new, duration)


def _cutouts(folder: Path, n: int, seed: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        hdu = fits.PrimaryHDU(rng.normal(1, 0.1, (3, 48, 48)).astype(np.float32))
        hdu.header["BANDS"] = "grz"
        path = folder / f"gal{seed}_{i:03d}.fits"
        hdu.writeto(path)
        paths.append(str(path))
    return paths


@pytest.mark.slow
def test_ingest_is_crash_safe(tmp_path):
    out = tmp_path / "cutouts"
    a, b = _cutouts(tmp_path / "a", 20, 1), _cutouts(tmp_path / "b", 60, 2)
    content = lambda: survey_content(out, "images")  # noqa: E731
    run_ok(gx("ingest", "fits-cutouts", *a, "--out", str(out)))
    old = content()
    duration = run_ok(gx("ingest", "fits-cutouts", *b, "--out", str(out)))
    new = content()
    run_ok(gx("ingest", "fits-cutouts", *a, "--out", str(out)))
    check_kills(gx("ingest", "fits-cutouts", *b, "--out", str(out)), content, old, new, duration)


@pytest.fixture(scope="module")
def trained(tiny_survey, tmp_path_factory):
    run = tmp_path_factory.mktemp("crash") / "run"
    run_ok(
        gx(
            "train",
            str(tiny_survey.path),
            "--out",
            str(run),
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
    )
    return run


@pytest.mark.slow
def test_embed_is_crash_safe(tiny_survey, trained):
    content = lambda: embeddings_content(trained)  # noqa: E731
    base = gx("embed", str(tiny_survey.path), str(trained), "--device", "cpu")
    run_ok(base)
    old = content()
    duration = run_ok([*base, "--views", "3"])
    new = content()
    run_ok(base)
    check_kills([*base, "--views", "3"], content, old, new, duration)


@pytest.mark.slow
def test_project_is_crash_safe(tiny_survey, trained):
    content = lambda: projection_content(trained)  # noqa: E731
    run_ok(gx("embed", str(tiny_survey.path), str(trained), "--device", "cpu"))
    cosine = gx("project", str(trained), "--method", "pca", "--no-cache")
    euclid = [*cosine, "--metric", "euclidean"]
    run_ok(cosine)
    old = content()
    duration = run_ok(euclid)
    new = content()
    run_ok(cosine)
    check_kills(euclid, content, old, new, duration)
