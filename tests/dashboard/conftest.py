"""Fixtures of the dashboard tests: a run (embeddings + projection) beside a synthetic survey."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from galexplore.data.store import Survey
from galexplore.runs import write_embeddings, write_projection


def make_run(survey: Survey, run: Path, dim: int = 8) -> Path:
    """Embeddings = PCA of the maps' per-channel radial means; projection = its first 2 components."""
    maps = survey.read("maps", slice(None))
    n, c, h, w = maps.shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(xx - (w - 1) / 2, yy - (h - 1) / 2) / (w / 2)
    feats = []
    for lo, hi in [(0, 0.2), (0.2, 0.5), (0.5, 1.0)]:
        ring = (r >= lo) & (r < hi)
        feats.append(np.nanmean(np.where(ring, maps, np.nan), axis=(2, 3)))
    x = np.nan_to_num(np.concatenate(feats, axis=1))
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    z = (u * s)[:, :dim].astype(np.float32)
    ids = survey.catalog["galaxy_id"].tolist()
    write_embeddings(run, ids, {"maps": z}, {"method": "pca-of-radial-means"})
    write_projection(run, ids, z[:, :2], {"method": "pca"})
    return run


@pytest.fixture(scope="session")
def tiny_run(tiny_survey, tmp_path_factory) -> Path:
    return make_run(tiny_survey, tmp_path_factory.mktemp("run") / "run96")


@pytest.fixture(scope="session")
def tiny_data(tiny_survey, tiny_run):
    from galexplore.dashboard.data import ExplorerData

    return ExplorerData.load(tiny_survey.path, tiny_run)


# -- browser tests: a real server in a subprocess and Debian's Chromium ------------------------

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``galexplore serve`` in a subprocess; its output is kept for failure reports."""

    def __init__(self, survey: Path, run: Path, log_path: Path) -> None:
        import subprocess
        import sys

        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "galexplore", "serve", str(survey), str(run), "--port", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}/explorer"

    def wait_ready(self, timeout: float = 180.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            if "dashboard at" in self.log():
                return
            time.sleep(0.5)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()
        self._log.close()


@pytest.fixture(scope="session")
def browser_run(survey_400, tmp_path_factory) -> Path:
    return make_run(survey_400, tmp_path_factory.mktemp("run") / "run400")


@pytest.fixture(scope="session")
def dashboard_server(chromium, survey_400, browser_run, tmp_path_factory):
    server = ServerProcess(survey_400.path, browser_run, tmp_path_factory.mktemp("server") / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    """Playwright's Chromium, closed after the module: its sync API keeps an asyncio loop
    running, which later tests that start their own loop must not see."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the item (``item.rep_call``) for failure diagnostics."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
