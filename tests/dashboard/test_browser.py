"""End-to-end tests: a real ``galexplore serve`` driven by Debian's Chromium through Playwright.

Text is read with Playwright locators (they pierce Panel's shadow DOM). Map coordinates are
converted between page pixels and data units with the ranges and frame Bokeh reports, so
the expected lasso selection is computed independently from ``projection.parquet``.
"""

from __future__ import annotations

import re
import time
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from galexplore.artifacts.runs import read_projection
from galexplore.dashboard.compute.selection import lasso_select
from galexplore.testing import (
    MAP_COLOUR_BAR_JS,
    Dashboard,
    expected_counts,
    lasso_middle,
)

pytestmark = pytest.mark.browser
ARTIFACTS_DIR = Path(__file__).resolve().parents[1] / "artifacts"


def test_page_loads_and_lasso_selects_the_right_galaxies(dash, projection_xy, artifacts, dashboard_server):
    n_gallery, pixels, plot = lasso_middle(dash)
    lo, hi = expected_counts(projection_xy, plot, pixels)
    assert hi > 20, "the test polygon should enclose a fair number of galaxies"
    assert lo <= n_gallery <= hi, (n_gallery, lo, hi)
    # every synthetic galaxy has a mass and an SFR, so all of them are highlighted on the main sequence
    dash.wait_text(".gx-ms-count", rf"^{n_gallery:,} selected on the main sequence")
    assert dash.page.locator(".gx-tile").count() == min(n_gallery, 12)
    dash.wait_text(".gx-export", rf"Download {n_gallery:,} galaxies")
    dash.wait_text(".gx-summary", rf"{n_gallery:,}\s+of 400 galaxies selected")
    dash.wait_text(".gx-profiles-note", rf"{n_gallery:,} selected")
    dash.page.screenshot(path=str(artifacts / "dashboard_lasso.png"), full_page=True)
    assert not dash.errors, dash.errors
    assert "Traceback" not in dashboard_server.log()


#: After every pointer down, the page is blocked for 450 ms (a long task, such as rendering a
#: big update from the server): Bokeh's 300 ms press timer comes due while the first moves
#: of the drag are still on their way.
BLOCK_AFTER_POINTER_DOWN_JS = """() => document.addEventListener("pointerdown", () => setTimeout(() => {
  const t = performance.now(); while (performance.now() - t < 450) {}
}, 0), true)"""


def test_a_lasso_begun_while_the_page_is_busy_is_not_lost(browser, dashboard_server, projection_xy):
    """Without the press guard most of these lassos become a Bokeh "press" and select nothing
    (whether one does depends on a race in the browser; ``test_gestures.py`` has the exact test)."""
    ctx = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        busy = Dashboard(ctx.new_page(), dashboard_server.url)
        busy.page.evaluate(BLOCK_AFTER_POINTER_DOWN_JS)
        for frac in (0.2, 0.25, 0.3):
            n, pixels, plot = lasso_middle(busy, frac)
            lo, hi = expected_counts(projection_xy, plot, pixels)
            assert lo <= n <= hi, (frac, n, lo, hi)
        assert not busy.errors, busy.errors
    finally:
        ctx.close()


def test_clicking_a_cutout_shows_its_maps(dash, artifacts):
    tile = dash.page.locator(".gx-tile").nth(1)
    gid = tile.get_attribute("data-galaxy")
    tile.click()
    dash.wait_text(".gx-focus-title", re.escape(gid))
    titles = {
        p["title"] for p in [dash.plot(t) for t in ("log EW(Hα)", "log age (LW)", "[Z/H] (LW)", "log Σ*")]
    }
    assert len(titles) == 4
    dash.wait_text(".gx-focus-table", re.escape(gid))
    assert "gx-focus" in (dash.page.locator(f'.gx-tile[data-galaxy="{gid}"]').get_attribute("class") or "")
    dash.page.screenshot(path=str(artifacts / "dashboard_focus.png"), full_page=True)
    assert not dash.errors, dash.errors


def test_find_similar_selects_the_nearest_neighbours(dash, browser_run):
    from galexplore.artifacts.runs import read_embeddings

    gid = dash.page.locator(".gx-tile.gx-focus").get_attribute("data-galaxy")  # in focus since the last test
    dash.page.locator(".gx-find-similar button").click()
    dash.wait_text(".gx-gallery-header", rf"24 selected \(24 most similar to {re.escape(gid)}\)")
    emb = read_embeddings(browser_run)
    z = emb.get() / np.linalg.norm(emb.get(), axis=1, keepdims=True)
    sims = z @ z[list(emb.galaxy_ids).index(gid)]
    expected = [str(g) for g in emb.galaxy_ids[np.argsort(-sims, kind="stable")[:12]]]
    shown = [dash.page.locator(".gx-tile").nth(i).get_attribute("data-galaxy") for i in range(12)]
    assert shown[0] == gid
    assert set(shown) == set(expected)


def test_recompute_clusters_with_another_k_and_select_one(dash, artifacts):
    dash.wait_text(".gx-cluster-status", r"\d+ clusters", timeout=120)
    k_input = dash.page.locator(".gx-cluster-k input")
    k_input.fill("3")
    k_input.press("Enter")
    dash.page.locator(".gx-cluster-recompute button").click()
    dash.wait_text(".gx-cluster-status", r"3 clusters \(kmeans k=3\)", timeout=120)
    rows = dash.page.locator(".gx-cluster-table .tabulator-row")
    assert rows.count() == 3
    n_first = int(rows.nth(0).locator('.tabulator-cell[tabulator-field="n"]').inner_text())
    rows.nth(0).locator('.tabulator-cell[tabulator-field="cluster"]').click()
    dash.wait_text(".gx-gallery-header", rf"{n_first:,} selected \(cluster 0 of kmeans k=3\)")
    dash.page.locator(".gx-color-by-cluster button").click()
    dash.plot("coloured by cluster")
    dash.page.screenshot(path=str(artifacts / "dashboard_clusters.png"), full_page=True)
    assert not dash.errors, dash.errors


@pytest.mark.parametrize("fmt, suffix", [("fits", "fits"), ("csv", "csv")])
def test_export_downloads_the_selection_with_provenance(
    dash, projection_xy, browser_run, tmp_path, fmt, suffix
):
    from galexplore.artifacts.export import read_export

    n, _, _ = lasso_middle(dash, 0.25 if fmt == "fits" else 0.35)
    dash.page.locator(".gx-export-format button", has_text=fmt).click()
    dash.wait_text(".gx-export", rf"Download {n:,} galaxies")
    with dash.page.expect_download(timeout=60_000) as info:
        dash.page.locator(".gx-export button").click()
    # the download is named after the survey and the selection, e.g. synthetic-n400-seed7_lasso-62.fits
    assert info.value.suggested_filename == f"synthetic-n400-seed7_lasso-{n}.{suffix}"
    path = tmp_path / f"selection.{suffix}"
    info.value.save_as(path)
    table, prov = read_export(path)
    assert len(table) == n
    assert "lasso" in prov["selection"] and f"{n} galaxies" in prov["selection"]
    assert prov["survey_fingerprint"] and prov["embedding_fingerprint"]
    # the exported galaxies are exactly those inside the lasso polygon recorded in the provenance
    text = prov["selection"].split("lasso polygon (projection x,y) ")[1].split(";")
    poly = np.array(
        [[float(v) for v in p.split(",")] for p in text if p.count(",") == 1 and " " not in p.strip()]
    )
    proj, _ = read_projection(browser_run)
    expected = set(proj["galaxy_id"].to_numpy()[lasso_select(projection_xy, poly)])
    assert set(np.asarray(table["galaxy_id"]).astype(str)) == expected
    assert {"log_mstar", "sf_class", "x", "y", "cluster"} <= set(table.colnames)


def test_colour_by_changes_the_rendered_map(dash, artifacts):
    dash.page.locator(".gx-color-by select").select_option("log_ssfr")
    dash.plot("coloured by log_ssfr")
    time.sleep(1.0)
    start = dash.screenshot_of(".gx-map")
    dash.page.locator(".gx-color-by select").select_option("log_mstar")
    dash.plot("coloured by log_mstar")
    # numeric → numeric recolours the same plot in place: new pixels and a new colour-bar label
    deadline, bars, moved = time.monotonic() + 60, [], 0.0
    while time.monotonic() < deadline:
        bars = dash.page.evaluate(MAP_COLOUR_BAR_JS)
        now = dash.screenshot_of(".gx-map")
        moved = float(np.mean(np.any(now != start, axis=-1))) if now.shape == start.shape else 1.0
        if bars == ["log M* [log M☉]"] and moved > 0.01:
            break
        time.sleep(0.5)
    assert bars == ["log M* [log M☉]"], bars
    assert moved > 0.01, f"only {moved:.1%} of the map's pixels changed from log_ssfr to log_mstar"
    time.sleep(1.0)
    before = map_frame(dash)
    dash.page.locator(".gx-color-by select").select_option("sf_class")
    dash.plot("coloured by sf_class")
    deadline, changed, blue, red = time.monotonic() + 60, 0.0, 0, 0
    while time.monotonic() < deadline:  # until the new image is drawn (not just the old one gone)
        after = map_frame(dash)  # the plot's frame only: a categorical colouring adds a legend above it
        # the frame is resized when the colour bar goes (a categorical colouring has a legend instead)
        changed = float(np.mean(np.any(after != before, axis=-1))) if after.shape == before.shape else 1.0
        # the categorical colouring uses the EW-class colours (blue star-forming, red retired),
        # drawn with a count-dependent alpha over the white background
        blue, red = tinted(after, (31, 119, 180)), tinted(after, (214, 39, 40))
        if changed > 0.02 and blue > 20 and red > 20:
            break
        time.sleep(0.5)
    dash.page.screenshot(path=str(artifacts / "dashboard_colour_by.png"), full_page=True)
    assert changed > 0.02, f"only {changed:.1%} of the map's pixels changed"
    assert blue > 20 and red > 20, (blue, red)


def map_frame(dash: Dashboard) -> np.ndarray:
    """Screenshot (H, W, 3) of the map plot's frame, wherever the page has laid it out."""
    from PIL import Image

    p = dash.map_plot()
    clip = {"x": p["left"], "y": p["top"], "width": p["width"], "height": p["height"]}
    return np.asarray(Image.open(BytesIO(dash.page.screenshot(clip=clip))).convert("RGB"))


def tinted(img: np.ndarray, colour: tuple[int, int, int], min_alpha: float = 0.4) -> int:
    """Pixels of ``img`` that are ``colour`` drawn with alpha ≥ ``min_alpha`` over white."""
    c = 255.0 - np.asarray(colour, float)
    p = 255.0 - img.astype(float)
    alpha = (p @ c) / (c @ c)
    residual = np.linalg.norm(p - alpha[..., None] * c, axis=-1)
    return int(((alpha >= min_alpha) & (alpha <= 1.05) & (residual < 12)).sum())


def test_reopening_the_url_restores_the_view(dash, browser, dashboard_server, artifacts):
    # the shared page now shows: colour sf_class, k-means k=3, a galaxy in focus, a lasso selection
    n, _, _ = lasso_middle(dash)
    tile = dash.page.locator(".gx-tile").nth(2)
    gid = tile.get_attribute("data-galaxy")
    tile.click()
    dash.wait_text(".gx-focus-title", re.escape(gid))
    deadline = time.monotonic() + 20
    url = ""
    while f"galaxy={gid}" not in url and time.monotonic() < deadline:
        url = dash.page.locator(".gx-share input").input_value()
        time.sleep(0.25)
    assert url.startswith(dashboard_server.url + "?"), url
    assert "color=sf_class" in url and "k=3" in url and "lasso=" in url and f"galaxy={gid}" in url, url
    # the address bar follows too (Panel pushes it once the page is idle)
    assert "lasso=" in dash.page.evaluate("() => window.location.search")

    ctx = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        two = Dashboard(ctx.new_page(), url, expect_selection=True)
        assert two.page.locator(".gx-color-by select").input_value() == "sf_class"
        assert two.page.locator(".gx-cluster-k input").input_value() == "3"
        two.wait_text(".gx-cluster-status", r"3 clusters \(kmeans k=3\)", timeout=120)
        two.wait_text(".gx-focus-title", re.escape(gid))
        two.wait_text(".gx-gallery-header", rf"^{n:,} selected \(lasso\)")
        two.plot("coloured by sf_class")
        two.page.screenshot(path=str(artifacts / "dashboard_reopened.png"), full_page=True)
    finally:
        ctx.close()


def test_bad_url_is_ignored_and_sessions_do_not_share_state(dash, browser, dashboard_server):
    assert (
        dash.read(".gx-gallery-header").strip().startswith(tuple("123456789"))
    )  # the shared page has a selection
    ctx = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        bad = dashboard_server.url + "?color=__import__('os')&k=999&galaxy=nope&lasso=1,2;x"
        other = Dashboard(ctx.new_page(), bad)  # waits for "0 selected": no selection leaked in
        other.wait_text(".gx-message", r"Ignored URL parameters")
        assert other.page.locator(".gx-color-by select").input_value() == "log_ssfr"
        assert "Traceback" not in dashboard_server.log()
        assert "galaxy in focus" in other.read(".gx-focus-title").lower()
    finally:
        ctx.close()
