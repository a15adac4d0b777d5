"""End-to-end checks of the dashboard's finish (issue 19) in Chromium: the legend of a categorical
colouring, the selection-mode switch, and the sidebar at the 1,600 × 1,000 window of the report.

One page is shared by the tests of the module (``dash``); the sidebar check opens a second one
at 1,600 × 1,000.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from galexplore.dashboard.compute.selection import box_select
from galexplore.testing import ACTIVE_DRAG_JS, Dashboard, expected_counts, lasso_middle

pytestmark = pytest.mark.browser


def test_a_categorical_colouring_has_a_legend(dash, artifacts):
    dash.page.locator(".gx-color-by select").select_option("sf_class")
    dash.plot("coloured by sf_class")
    m = dash.wait_text(".gx-map-legend", r"EW\(Hα\) class.*star-forming.*green-valley.*retired")
    assert m
    dash.page.locator(".gx-map-legend").first.screenshot(path=str(artifacts / "polish_map_legend.png"))
    # a numeric colouring has its colour bar instead
    dash.page.locator(".gx-color-by select").select_option("log_ssfr")
    dash.plot("coloured by log_ssfr")
    dash.page.locator(".gx-map-legend").first.wait_for(state="hidden", timeout=30_000)
    assert not dash.errors, dash.errors


def _choose_mode(dash, label: str, tool: str) -> None:
    """Click a button of the selection-mode switch; wait until the map's active drag is ``tool``."""
    dash.page.locator(".gx-select-mode button", has_text=label).click()
    deadline = time.monotonic() + 30
    while dash.page.evaluate(ACTIVE_DRAG_JS) != tool:
        assert time.monotonic() < deadline, f"the map's active drag is {dash.page.evaluate(ACTIVE_DRAG_JS)!r}"
        time.sleep(0.2)


def test_the_selection_switch_chooses_box_or_lasso(dash, projection_xy, artifacts):
    if not re.search(r"\b0 selected", dash.read(".gx-gallery-header")):
        dash.page.locator(".gx-clear button").click()
        dash.wait_text(".gx-gallery-header", r"\b0 selected")
    assert dash.page.evaluate(ACTIVE_DRAG_JS) == "LassoSelectTool"
    _choose_mode(dash, "Box", "BoxSelectTool")
    plot = dash.map_plot()
    cx, cy = plot["left"] + plot["width"] / 2, plot["top"] + plot["height"] / 2
    a, b = (
        (cx - plot["width"] * 0.25, cy - plot["height"] * 0.25),
        (cx + plot["width"] * 0.25, cy + 0.25 * plot["height"]),
    )
    mouse = dash.page.mouse
    mouse.move(*a)
    mouse.down()
    mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, steps=5)
    mouse.move(*b, steps=5)
    mouse.up()
    m = dash.wait_text(".gx-gallery-header", r"([\d,]+) selected \(box\)")
    n = int(m.group(1).replace(",", ""))
    counts = []
    for grow in (-1, 1):
        (x0, y1), (x1, y0) = (
            dash.to_data(plot, a[0] - grow, a[1] - grow),
            dash.to_data(plot, b[0] + grow, b[1] + grow),
        )
        counts.append(len(box_select(projection_xy, (x0, y0, x1, y1))))
    assert counts[0] <= n <= counts[1] and n > 0, (n, counts)
    dash.page.screenshot(path=str(artifacts / "polish_box_selection.png"), full_page=True)
    # Lasso, clicked twice (the toolbar's lasso button would have switched the lasso off): still a lasso
    _choose_mode(dash, "Lasso", "LassoSelectTool")
    _choose_mode(dash, "Lasso", "LassoSelectTool")
    n, pixels, plot = lasso_middle(dash, 0.25)
    lo, hi = expected_counts(projection_xy, plot, pixels)
    assert lo <= n <= hi and n > 0, (n, lo, hi)
    # the selection's most typical galaxy is in focus
    dash.wait_text(".gx-focus-title", r"Galaxy in focus")
    assert not dash.errors, dash.errors


def _box(locator) -> dict:
    box = locator.first.bounding_box()
    assert box is not None
    return box


def _inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
    )


def test_cluster_controls_fit_the_sidebar_at_1600_by_1000(browser, dashboard_server, artifacts):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        d = Dashboard(ctx.new_page(), dashboard_server.url)
        d.wait_text(".gx-cluster-status", r"\d+ clusters", timeout=120)
        sidebar = _box(d.page.locator("#sidebar"))
        k = d.page.locator(".gx-cluster-k input")
        k.first.scroll_into_view_if_needed()
        sidebar = _box(d.page.locator("#sidebar"))
        assert _inside(_box(k), sidebar), (_box(k), sidebar)
        table = _box(d.page.locator(".gx-cluster-table"))
        assert _inside(table, sidebar), (table, sidebar)  # wider content scrolls inside it
        # every header of the table can be read (scrolled into view inside the table)
        headers = d.page.locator(".gx-cluster-table .tabulator-col-title").all_inner_texts()
        assert {"cluster", "n", "%", "log M*", "log sSFR"} <= {h.strip() for h in headers}, headers
        d.page.locator(".gx-cluster-method select").select_option("HDBSCAN")
        size = d.page.locator(".gx-cluster-min-size input")
        size.first.wait_for(state="visible", timeout=30_000)
        assert _inside(_box(size), sidebar) and _inside(
            _box(d.page.locator(".gx-cluster-min-samples input")), sidebar
        )
        assert not k.first.is_visible()
        d.page.locator("#sidebar").first.screenshot(path=str(artifacts / "polish_sidebar_1600x1000.png"))
        # the help is there, collapsed
        assert "How to use" in d.read(".gx-help")
        assert not np.isnan(sidebar["width"])
        assert not d.errors, d.errors
    finally:
        ctx.close()
