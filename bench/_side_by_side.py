"""Set-up shared by the benchmarks that time this tree against an older commit in one run
(``bench/interactions.py``, ``bench/browser_interactions.py``)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def survey_run_and_trees(
    n: int, against: str | None, prefix: str
) -> Iterator[tuple[Path, Path, dict[str, Path], Path]]:
    """A temporary ``n``-galaxy synthetic survey with a run (PCA of radial means), and the
    source trees to measure: ``{"this": ROOT}`` plus ``{against: a git worktree of that ref}``.

    Yields ``(survey, run, trees, tmp)``; the worktree and every file are removed afterwards.
    """
    from galexplore.testing import radial_pca_run

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        tmp = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "galexplore", "synth", "--n", str(n), "--out", str(tmp / "survey")],
            check=True,
            capture_output=True,
        )
        radial_pca_run(tmp / "survey", tmp / "run")
        trees = {"this": ROOT}
        if against:
            trees[against] = tmp / "ref"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(trees[against]), against],
                check=True,
                capture_output=True,
            )
        try:
            yield tmp / "survey", tmp / "run", trees, tmp
        finally:
            if against:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees[against])],
                    check=False,
                )


def head_commit() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
