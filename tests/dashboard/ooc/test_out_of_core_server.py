"""``galexplore serve SURVEY RUN --out-of-core`` on a real Panel server (and in Chromium)."""

from __future__ import annotations

import re
import time
import urllib.request

import numpy as np
import pytest

from galexplore.testing import (
    JS_DEEP_TEXT,
    JS_PLOTS,
    ServerProcess,
    drag_lasso,
    expected_counts,
    is_drawn,
    polygon_pixels,
    write_partitioned_projection,
)

ROWS_PER_PART = 90  # 400 galaxies: 5 stripes of the map table


@pytest.fixture(scope="module")
def ooc_server(survey_400, tmp_path_factory):
    from galexplore.dashboard.ooc.data import OutOfCoreData

    run = tmp_path_factory.mktemp("ooc_server") / "run"
    xy = write_partitioned_projection(survey_400, run, seed=1)
    # the table in several stripes; the server finds and reuses it (same inputs)
    assert len(OutOfCoreData.load(survey_400.path, run, rows_per_part=ROWS_PER_PART).table.parts) > 2
    server = ServerProcess(survey_400.path, run, run.parent / "server.log", extra_args=["--out-of-core"])
    try:
        server.wait_ready()
        yield server, xy
    finally:
        server.stop()


@pytest.mark.slow
def test_out_of_core_server_serves_the_page(ooc_server):
    server, _ = ooc_server
    with urllib.request.urlopen(server.url, timeout=120) as r:
        assert r.status == 200 and b"galexplore" in r.read()
    time.sleep(1.0)
    log = server.log()
    assert "Traceback" not in log and "ERROR" not in log, log


def test_serve_help_explains_out_of_core(capsys):
    from galexplore.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--out-of-core" in out and "--in-memory" in out and "Dask" in out and "RUN/cache/" in out


def test_automatic_mode_needs_a_large_partitioned_projection(tiny_run, survey_400, tmp_path):
    from galexplore.dashboard.ooc import app as ooc_app

    run = tmp_path / "run"
    write_partitioned_projection(survey_400, run)
    assert ooc_app.wants_out_of_core(tiny_run, None) is False  # one file
    assert ooc_app.wants_out_of_core(run, None) is False  # 400 < AUTO_ROWS
    assert ooc_app.wants_out_of_core(run, True) is True and ooc_app.wants_out_of_core(run, False) is False


@pytest.mark.browser
def test_lasso_in_chromium_selects_the_right_galaxies(chromium, ooc_server, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    server, xy = ooc_server
    errors: list[str] = []

    def text(page, css: str) -> str:
        loc = page.locator(css)
        return loc.first.evaluate(f"el => {{ {JS_DEEP_TEXT}\n return text(el); }}") if loc.count() else ""

    def wait(page, css: str, pattern: str, timeout: float = 90.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, text(page, css))
            if m:
                return m
            time.sleep(0.25)
        raise AssertionError(f"{css}: {pattern!r} not in {text(page, css)!r}\n{server.log()}")

    def map_plot(page, title: str = "galaxies coloured by") -> dict:
        """The plot once laid out and drawn at its size (its first image is a placeholder)."""
        for _ in range(240):
            plots = page.evaluate(f"() => {{ {JS_PLOTS}\n return plots(); }}")
            found = [p for p in plots if title in p["title"] and p["width"] > 0 and is_drawn(p)]
            if found and np.isfinite(found[0]["x"]).all():
                return found[0]
            time.sleep(0.25)
        raise AssertionError(f"no {title!r} drawn on the page: {plots}")

    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.on(
            "console",
            lambda m: errors.append(m.text) if m.type == "error" and "WebGL" not in m.text else None,
        )
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url, timeout=180_000)
        wait(page, ".gx-gallery-header", r"\b0 selected")
        assert "Out-of-core mode" in text(page, ".gx-ooc-note")
        plot = map_plot(page)
        assert "400 galaxies" in plot["title"]
        map_plot(page, "Main sequence")  # the survey's density at the plot's size too
        pixels = polygon_pixels(plot, 0.3)
        for attempt in range(2):  # a busy headless Chromium can drop a drag: draw it once more
            drag_lasso(page, pixels)
            try:
                m = wait(page, ".gx-ms-count", r"([\d,]+) selected", timeout=30)
                if int(m.group(1).replace(",", "")):
                    break
            except AssertionError:
                if attempt:
                    raise
        n = int(m.group(1).replace(",", ""))
        lo, hi = expected_counts(xy.astype(float), plot, pixels)
        assert lo <= n <= hi and n > 0, (lo, n, hi)
        wait(page, ".gx-gallery-header", rf"{min(n, 240)} selected")
        page.screenshot(path=str(tmp_path / "ooc.png"))
        browser.close()
    assert not errors, errors
    assert "Traceback" not in server.log()
