"""Static checks of the source: no undefined names, unused imports or dead assignments.

Pyflakes' rules (ruff's ``F`` set) over the package, the app, the benchmarks and the tests:
an undefined name in a benchmark or a rarely used branch would otherwise surface only when
someone runs it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyflakes_rules_pass_everywhere():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the dev extra)")
    dirs = [d for d in ("galexplore", "app", "bench", "tests") if (ROOT / d).is_dir()]
    out = subprocess.run([ruff, "check", "--no-cache", "--select", "F", "--output-format", "concise", *dirs],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
