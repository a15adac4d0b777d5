"""End-to-end: tags survive a server restart, and the anomaly colouring renders (Chromium).

Tags and anomaly scores are written into the run, so these tests serve their own copy of a run
(never the shared ``dashboard_server``'s).
"""

from __future__ import annotations

import re
import time

import pytest

from galexplore.analysis.anomaly_store import load_anomaly
from galexplore.artifacts.tags import TagStore
from galexplore.testing import MAP_COLOUR_BAR_JS, Dashboard, ServerProcess, lasso_middle, radial_pca_run

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1500, "height": 1300}


@pytest.fixture(scope="module")
def tag_run(survey_400, tmp_path_factory):
    """A private run of the 400-galaxy survey: these tests write tags and scores into it."""
    return radial_pca_run(survey_400, tmp_path_factory.mktemp("tagrun") / "run")


def serve(survey, run, log_path) -> ServerProcess:
    server = ServerProcess(survey.path, run, log_path)
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        raise
    return server


def open_page(browser, server: ServerProcess) -> tuple:
    ctx = browser.new_context(viewport=VIEWPORT)
    return ctx, Dashboard(ctx.new_page(), server.url)


def wait_until(fn, timeout: float = 60.0, poll: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(poll)
    return fn()


def test_a_tag_survives_a_server_restart(browser, survey_400, tag_run, tmp_path):
    server = serve(survey_400, tag_run, tmp_path / "first.log")
    try:
        ctx, dash = open_page(browser, server)
        n, _, _ = lasso_middle(dash)
        assert n > 10
        dash.page.locator(".gx-tag-name input").fill("ring candidates")
        dash.page.locator(".gx-tag-add button").click()
        dash.wait_text(".gx-tag-status", rf"Tagged {n:,} galaxies as ring candidates")
        assert not dash.errors, dash.errors
        ctx.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()
    assert TagStore(tag_run).counts() == {"ring candidates": n}

    again = serve(survey_400, tag_run, tmp_path / "second.log")
    try:
        ctx, dash = open_page(browser, again)
        listed = wait_until(lambda: dash.page.locator(".gx-tag-list select").input_value())
        assert re.fullmatch(rf"ring candidates \({n:,}\)|ring candidates", listed), listed
        dash.page.locator(".gx-tag-select button").click()
        dash.wait_text(".gx-gallery-header", rf"{n:,} selected \(tag ring candidates\)")
        dash.page.locator(".gx-color-by-tags button").click()
        dash.plot("coloured by tags")
        assert not dash.errors, dash.errors
        ctx.close()
    finally:
        again.stop()
    assert "Traceback" not in again.log(), again.log()


def test_the_anomaly_colouring_renders(browser, survey_400, tag_run, tmp_path, artifacts):
    server = serve(survey_400, tag_run, tmp_path / "server.log")
    try:
        ctx, dash = open_page(browser, server)
        dash.page.locator(".gx-color-by select").select_option("anomaly score")
        dash.plot("coloured by anomaly score", timeout=120)
        bars = wait_until(lambda: dash.page.evaluate(MAP_COLOUR_BAR_JS) == ["anomaly score"], timeout=120)
        assert bars, dash.page.evaluate(MAP_COLOUR_BAR_JS)
        dash.wait_text(".gx-unusual-status", r"Anomaly scores of 400 galaxies", timeout=120)
        dash.page.locator(".gx-unusual-select button").click()
        dash.wait_text(".gx-gallery-header", r"24 selected \(24 most unusual\)")
        dash.page.screenshot(path=str(artifacts / "dashboard_anomaly.png"), full_page=True)
        assert not dash.errors, dash.errors
        ctx.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()
    assert load_anomaly(tag_run).scores.shape == (400, 2)  # cached in the run for the next server
