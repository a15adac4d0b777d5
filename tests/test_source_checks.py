"""Static checks of the source: ``ruff check`` and ``ruff format --check`` over the project.

The rules are in ``pyproject.toml`` (``[tool.ruff]``): pycodestyle, Pyflakes (undefined names,
unused imports, dead assignments: an undefined name in a benchmark or a rarely used branch
would otherwise surface only when someone runs it), import order, bugbear and pyupgrade, over
the package, the app, the benchmarks, the docs' scripts, the notebooks and the tests. To fix
what they report: ``.venv/bin/ruff check --fix . && .venv/bin/ruff format .``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ruff() -> str:
    path = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if path is None:
        pytest.skip("ruff is not installed (it is in the dev extra)")
    return path


def test_ruff_check_passes_everywhere(ruff):
    out = subprocess.run(
        [ruff, "check", "--no-cache", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_source_is_formatted(ruff):
    out = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
