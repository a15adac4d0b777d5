"""Fixtures of the dashboard tests: a run (embeddings + projection) beside a synthetic survey."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from galexplore.artifacts.runs import read_projection
from galexplore.testing import Dashboard, ServerProcess, radial_pca_run


@pytest.fixture(scope="session")
def tiny_run(tiny_survey, tmp_path_factory) -> Path:
    return radial_pca_run(tiny_survey, tmp_path_factory.mktemp("run") / "run96")


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


@pytest.fixture(scope="session")
def browser_run(survey_400, tmp_path_factory) -> Path:
    return radial_pca_run(survey_400, tmp_path_factory.mktemp("run") / "run400")


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


@pytest.fixture(scope="module")
def dash(browser, dashboard_server):
    """One page shared by the tests of this module, in order (a session a user would have)."""
    context = browser.new_context(viewport={"width": 1500, "height": 1300}, accept_downloads=True)
    page = context.new_page()
    try:
        d = Dashboard(page, dashboard_server.url)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard_load_failure.png"), full_page=True)
        print(dashboard_server.log())
        raise
    yield d
    context.close()


@pytest.fixture(scope="module")
def projection_xy(browser_run) -> np.ndarray:
    proj, _ = read_projection(browser_run)
    return proj[["x", "y"]].to_numpy(np.float64)


@pytest.fixture(autouse=True)
def _server_log_on_failure(request):
    """A failed test that used the shared server prints its log."""
    yield
    if "dashboard_server" not in request.fixturenames:
        return
    dashboard_server = request.getfixturevalue("dashboard_server")
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(dashboard_server.log())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the item (``item.rep_call``) for failure diagnostics."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
