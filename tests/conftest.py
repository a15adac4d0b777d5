"""Shared fixtures: tiny seeded synthetic surveys and the real survey files.

Real files live in ``../shared/data/real/`` beside the checkout (never in the repository);
tests that need them skip cleanly when the folder is absent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def real_file(*parts: str) -> Path:
    """Path of a real survey file; skips the test when the real-data folder is absent."""
    path = REAL_DATA.joinpath(*parts)
    if not REAL_DATA.is_dir():
        pytest.skip(f"real survey files not present ({REAL_DATA})")
    if not path.exists():
        pytest.skip(f"real survey file not present: {path}")
    return path


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real survey files not present ({REAL_DATA})")
    return REAL_DATA


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium for browser tests: skipped locally without it, an error in CI."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing in CI: scripts/test.sh should have installed it")
        pytest.skip(f"{CHROMIUM} not installed (scripts/test.sh installs it as root)")
    return CHROMIUM


@pytest.fixture(scope="session")
def survey_400(tmp_path_factory):
    """A 400-galaxy synthetic survey (seed 7), shared read-only by the physics tests."""
    from galexplore.data.synthetic import synthesize

    return synthesize(400, tmp_path_factory.mktemp("synth") / "s400", seed=7, workers=1)


@pytest.fixture(scope="session")
def tiny_survey(tmp_path_factory):
    """A 96-galaxy synthetic survey (seed 3) for fast pipeline tests; treat as read-only."""
    from galexplore.data.synthetic import synthesize

    return synthesize(96, tmp_path_factory.mktemp("synth") / "s96", seed=3, workers=1)


@pytest.fixture
def tiny_survey_copy(tiny_survey, tmp_path):
    """A private, writable copy of :func:`tiny_survey`."""
    from galexplore.data import open_survey

    dst = tmp_path / "survey"
    shutil.copytree(tiny_survey.path, dst)
    return open_survey(dst)
