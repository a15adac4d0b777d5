"""Shared fixtures: tiny seeded synthetic surveys, a run of stand-in embeddings, and the real
survey files.

Real files live in ``../shared/data/real/`` beside the checkout (never in the repository);
tests that need them skip cleanly when the folder is absent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
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


def map_features(survey, n_components: int = 16) -> np.ndarray:
    """Seeded stand-in embeddings: 8×8 block means of every map channel, standardised, PCA."""
    from sklearn.decomposition import PCA

    maps = survey.read("maps", slice(None))  # (N, C, 64, 64)
    n, c, h, w = maps.shape
    blocks = np.nanmean(maps.reshape(n, c, 8, h // 8, 8, w // 8), axis=(3, 5))
    feats = blocks.reshape(n, -1)
    feats = np.where(np.isfinite(feats), feats, np.nanmean(feats, axis=0))
    feats = np.nan_to_num((feats - feats.mean(0)) / (feats.std(0) + 1e-6))
    return PCA(n_components, random_state=0).fit_transform(feats).astype(np.float32)


@pytest.fixture(scope="session")
def feature_run(tiny_survey, tmp_path_factory):
    """A run directory with stand-in embeddings of :func:`tiny_survey`; treat as read-only.

    The embeddings are made from the survey's own maps (block-averaged, then PCA), a fixed,
    seeded feature extractor: enough to give the analysis, evaluation and export code vectors
    in which similar galaxies are close, without training an encoder in every test.
    """
    import warnings

    from galexplore.artifacts.runs import write_embeddings

    run = tmp_path_factory.mktemp("runs") / "features"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks outside the IFU field
        Z = map_features(tiny_survey)
    write_embeddings(
        run,
        tiny_survey.catalog["galaxy_id"],
        {"maps": Z},
        {"encoder_fingerprint": "test-features-v1", "survey": str(tiny_survey.path)},
    )
    return run
