"""End-to-end: two-way brushing, the find box and links that reopen the whole view.

A real ``galexplore serve`` driven by Debian's Chromium; expected selections are computed
independently from the survey catalog and ``projection.parquet``.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from galexplore.artifacts.runs import read_projection
from galexplore.dashboard.compute.selection import box_select
from galexplore.testing import Dashboard, to_data

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def catalog(survey_400, browser_run) -> pd.DataFrame:
    """The survey catalog in projection order, with the projection's x, y."""
    proj, _ = read_projection(browser_run)
    cat = survey_400.catalog.set_index(survey_400.catalog["galaxy_id"].astype(str))
    out = cat.loc[proj["galaxy_id"].astype(str)].reset_index(drop=True)
    out[["x", "y"]] = proj[["x", "y"]].to_numpy(np.float64)
    return out


def drag_box(page, p0, p1) -> None:
    page.mouse.move(*p0)
    page.mouse.down()
    page.mouse.move(*p1, steps=8)
    page.mouse.up()


def box_count_bounds(values: np.ndarray, plot: dict, p0, p1) -> tuple[int, int]:
    """Galaxies (N, 2 data values) in the pixel box shrunk and grown by one pixel."""
    out = []
    for grow in (-1, 1):
        (ax, ay), (bx, by) = p0, p1
        a = to_data(plot, min(ax, bx) - grow, max(ay, by) + grow)
        b = to_data(plot, max(ax, bx) + grow, min(ay, by) - grow)
        out.append(len(box_select(values, (*a, *b))))
    return out[0], out[1]


def test_a_main_sequence_box_selects_on_every_view(dash, catalog):
    plot = dash.plot("Main sequence")
    cx, cy = plot["left"] + plot["width"] / 2, plot["top"] + plot["height"] / 2
    p0, p1 = (
        (round(cx - plot["width"] * 0.25), round(cy - plot["height"] * 0.3)),
        (round(cx + 20), round(cy + 40)),
    )
    drag_box(dash.page, p0, p1)
    m = dash.wait_text(".gx-gallery-header", r"([\d,]+) selected \(main sequence box\)")
    n = int(m.group(1).replace(",", ""))
    values = catalog[["log_mstar", "log_sfr"]].to_numpy(float)
    lo, hi = box_count_bounds(values, plot, p0, p1)
    assert 0 < lo <= n <= hi, (lo, n, hi)
    dash.wait_text(".gx-summary", rf"{n:,}\*?\*? of 400 galaxies selected")  # the histograms follow too
    assert "msbox=" in dash.page.locator(".gx-share input").input_value()
    assert not dash.errors, dash.errors


def test_a_histogram_range_selects_on_every_view(dash, catalog):
    dash.page.locator(".gx-distributions").first.scroll_into_view_if_needed()  # built once in view
    deadline = time.monotonic() + 30
    while not (
        figs := [p for p in dash.plots() if not p["title"] and 150 < p["width"] < 300 and p["height"] < 200]
    ):
        assert time.monotonic() < deadline, dash.plots()
        time.sleep(0.25)
    time.sleep(0.3)
    figs = [p for p in dash.plots() if not p["title"] and 150 < p["width"] < 300 and p["height"] < 200]
    fig = figs[0]  # the first column: log M*
    y = fig["top"] + fig["height"] / 2
    p0, p1 = (fig["left"] + fig["width"] * 0.3, y), (fig["left"] + fig["width"] * 0.7, y)
    drag_box(dash.page, p0, p1)
    m = dash.wait_text(".gx-gallery-header", r"([\d,]+) selected \(log_mstar ")
    n = int(m.group(1).replace(",", ""))
    mass = catalog["log_mstar"].to_numpy(float)
    counts = []
    for grow in (-1, 1):
        lo, hi = to_data(fig, p0[0] - grow, y)[0], to_data(fig, p1[0] + grow, y)[0]
        counts.append(int(((mass >= lo) & (mass <= hi)).sum()))
    assert 0 < counts[0] <= n <= counts[1], (counts, n)


def test_the_find_box_focuses_a_galaxy_by_id_and_by_position(dash, catalog):
    find = dash.page.locator(".gx-find-input input")
    row = 17
    gid = str(catalog.at[row, "galaxy_id"])
    find.fill(gid)
    find.press("Enter")
    dash.wait_text(".gx-focus-title", re.escape(gid))
    dash.wait_text(".gx-find-status", rf"{re.escape(gid)} is in focus")
    _assert_centred(dash, catalog.loc[row, ["x", "y"]].to_numpy(float))

    row = 123
    gid = str(catalog.at[row, "galaxy_id"])
    find.fill(f"{catalog.at[row, 'ra']:.6f} {catalog.at[row, 'dec']:+.6f} 3arcsec")
    find.press("Enter")
    dash.wait_text(".gx-focus-title", re.escape(gid))
    _assert_centred(dash, catalog.loc[row, ["x", "y"]].to_numpy(float))
    find.fill("0 -89.9 1")
    find.press("Enter")
    dash.wait_text(".gx-find-status", r"No galaxy within 1″")
    assert not dash.errors, dash.errors


def _assert_centred(dash, xy: np.ndarray, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        plot = dash.map_plot()
        centre = np.array([np.mean(plot["x"]), np.mean(plot["y"])])
        span = np.array([np.ptp(plot["x"]), np.ptp(plot["y"])])
        if (np.abs(centre - xy) < 0.02 * span).all():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"map centred on {centre}, not on the galaxy at {xy}")
        time.sleep(0.25)


def test_a_link_with_zoom_k_and_a_box_reopens_the_same_view(dash, browser, dashboard_server, catalog):
    xy = catalog[["x", "y"]].to_numpy(float)
    lo, hi = np.percentile(xy, 5, axis=0), np.percentile(xy, 95, axis=0)
    zoom = np.round([lo[0], hi[0], lo[1], hi[1]], 3)
    box = np.round([*np.percentile(xy, 25, axis=0), *np.percentile(xy, 75, axis=0)], 3)
    n = len(box_select(xy, box))
    assert n > 10
    query = "zoom={},{},{},{}&k=3&color=sf_class&box={},{},{},{}".format(*zoom, *box)
    ctx = browser.new_context(viewport={"width": 1500, "height": 1300})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        two = Dashboard(ctx.new_page(), f"{dashboard_server.url}?{query}", expect_selection=True)
        two.wait_text(".gx-gallery-header", rf"^{n:,} selected \(box\)")
        two.wait_text(".gx-cluster-status", r"3 clusters \(kmeans k=3\)", timeout=120)
        plot = two.plot("coloured by sf_class")
        np.testing.assert_allclose([*plot["x"], *plot["y"]], zoom, atol=1e-3 * np.ptp(xy))
        link = two.page.locator(".gx-share input").input_value()
        for part in ("zoom=", "k=3", "color=sf_class", "box="):
            assert part in link, link
        two.page.locator(".gx-copy-link button").click()
        deadline = time.monotonic() + 10
        while two.page.evaluate("() => navigator.clipboard.readText()") != link:
            assert time.monotonic() < deadline, "Copy link did not put the link on the clipboard"
            time.sleep(0.2)
        assert not two.errors, two.errors
    finally:
        ctx.close()
