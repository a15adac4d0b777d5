"""The command line: help, determinism of ``synth``, and one-line errors without tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from galexplore.cli import VERBS, main
from galexplore.data import open_survey


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "galexplore", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_help_lists_every_verb():
    out = run_cli("--help")
    assert out.returncode == 0
    for verb in VERBS:
        assert verb in out.stdout
    for verb in VERBS:
        sub = run_cli(verb, "--help")
        assert sub.returncode == 0 and "usage: galexplore" in sub.stdout, verb


@pytest.mark.slow
def test_synth_twice_gives_identical_catalogs(tmp_path, survey_400):
    out = run_cli("synth", "--n", "400", "--seed", "7", "--out", str(tmp_path / "a"))
    assert out.returncode == 0, out.stderr
    assert "400 galaxies" in out.stderr
    # The session fixture was made by the library with the same seed: byte-identical catalog.
    assert (tmp_path / "a" / "catalog.parquet").read_bytes() == (
        survey_400.path / "catalog.parquet"
    ).read_bytes()
    a = open_survey(tmp_path / "a")
    np.testing.assert_array_equal(a.read("maps", slice(0, 64)), survey_400.read("maps", slice(0, 64)))
    np.testing.assert_array_equal(a.read("spectra", slice(None)), survey_400.read("spectra", slice(None)))


@pytest.mark.slow
def test_parallel_rendering_does_not_change_the_output(tmp_path):
    from galexplore.data.synthetic import synthesize

    one = synthesize(300, tmp_path / "one", seed=5, workers=1)
    two = synthesize(300, tmp_path / "two", seed=5, workers=2)
    assert (one.path / "catalog.parquet").read_bytes() == (two.path / "catalog.parquet").read_bytes()
    np.testing.assert_array_equal(one.read("images", slice(None)), two.read("images", slice(None)))


def test_bad_arguments_exit_with_usage_error():
    out = run_cli("synth", "--n", "0", "--out", "x")
    assert out.returncode == 2 and "must be ≥ 1" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; permission errors cannot be provoked")
def test_unwritable_output_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    out = run_cli("synth", "--n", "5", "--out", str(locked / "s"))
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and str(locked) in out.stderr


def test_output_under_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = run_cli("synth", "--n", "5", "--out", str(blocker / "s"))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and str(blocker) in out.stderr
    assert out.stderr.strip().count("\n") == 0


def test_debug_shows_the_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = run_cli("--debug", "synth", "--n", "5", "--out", str(blocker / "s"))
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_main_without_verb_prints_help(capsys):
    assert main([]) == 2
    assert "verbs" in capsys.readouterr().out
