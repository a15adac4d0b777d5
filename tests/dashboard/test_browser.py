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

from galexplore.dashboard.selection import lasso_select
from galexplore.runs import read_projection

pytestmark = pytest.mark.browser
ARTIFACTS_DIR = Path(__file__).resolve().parents[1] / "artifacts"

PLOTS_JS = """() => {
  const out = [];
  function walk(v) {
    if (v.model && v.model.x_range && v.frame && v.canvas_view) {
      const f = v.frame.bbox, c = v.canvas_view.el.getBoundingClientRect();
      out.push({title: v.model.title ? v.model.title.text : '', left: c.left + f.left, top: c.top + f.top,
                width: f.width, height: f.height, x: [v.model.x_range.start, v.model.x_range.end],
                y: [v.model.y_range.start, v.model.y_range.end]});
    }
    for (const c of (v.child_views || [])) walk(c);
  }
  for (const r of Bokeh.index.roots) walk(r);
  return out;
}"""
DEEP_TEXT_JS = """el => {
  function text(n) {
    let t = '';
    if (n.shadowRoot) t += text(n.shadowRoot);
    for (const c of n.childNodes) t += c.nodeType === 3 ? c.textContent : text(c);
    return t;
  }
  return text(el);
}"""
IGNORED_CONSOLE = ("WebGL", "GPU stall", "favicon")


class Dashboard:
    """A page of the dashboard with helpers to find plots and draw on them."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.goto(url, timeout=180_000)
        self.wait_text(".gx-gallery-header", r"\b0 selected", timeout=120)
        self.map_plot()  # plots laid out

    def _on_console(self, msg) -> None:
        if msg.type == "error" and not any(s in msg.text for s in IGNORED_CONSOLE):
            self.errors.append(msg.text)

    def read(self, css: str) -> str:
        """Text of the first element matching ``css``, shadow DOM included ('' if absent)."""
        loc = self.page.locator(css)
        return loc.first.evaluate(DEEP_TEXT_JS) if loc.count() else ""

    def wait_text(self, css: str, pattern: str, timeout: float = 60.0) -> re.Match:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            last = self.read(css)
            m = re.search(pattern, last)
            if m:
                return m
            time.sleep(0.25)
        raise AssertionError(f"{css}: {pattern!r} not found in {last!r} after {timeout} s")

    def plots(self) -> list[dict]:
        return self.page.evaluate(PLOTS_JS)

    def plot(self, title_part: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.plots():
                if title_part in p["title"] and p["width"] > 0 and np.isfinite(p["x"]).all():
                    return p
            time.sleep(0.25)
        raise AssertionError(f"no plot titled *{title_part}* in {[p['title'] for p in self.plots()]}")

    def map_plot(self) -> dict:
        return self.plot("galaxies coloured by")

    @staticmethod
    def to_data(plot: dict, px: float, py: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = plot["x"], plot["y"]
        return (x0 + (px - plot["left"]) / plot["width"] * (x1 - x0),
                y1 - (py - plot["top"]) / plot["height"] * (y1 - y0))

    @staticmethod
    def to_px(plot: dict, x: float, y: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = plot["x"], plot["y"]
        return (plot["left"] + (x - x0) / (x1 - x0) * plot["width"],
                plot["top"] + (y1 - y) / (y1 - y0) * plot["height"])

    def lasso(self, pixels: list[tuple[int, int]]) -> np.ndarray:
        """Drag a lasso through page pixels; returns the polygon in data coordinates."""
        plot = self.map_plot()
        mouse = self.page.mouse
        mouse.move(*pixels[0])
        mouse.down()
        for p in [*pixels[1:], pixels[0]]:
            mouse.move(*p, steps=10)
        mouse.up()
        return np.array([self.to_data(plot, *p) for p in pixels])

    def screenshot_of(self, css: str) -> np.ndarray:
        from PIL import Image

        return np.asarray(Image.open(BytesIO(self.page.locator(css).first.screenshot())).convert("RGB"))


def polygon_pixels(plot: dict, frac: float = 0.3, n: int = 7) -> list[tuple[int, int]]:
    """An irregular polygon around the centre of a plot frame, in whole page pixels."""
    cx, cy = plot["left"] + plot["width"] / 2, plot["top"] + plot["height"] / 2
    rx, ry = plot["width"] * frac, plot["height"] * frac
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    wobble = 1 + 0.25 * np.sin(3 * ang)
    return [(round(cx + rx * w * np.cos(a)), round(cy + ry * w * np.sin(a))) for a, w in zip(ang, wobble)]


def expected_counts(xy: np.ndarray, plot: dict, pixels) -> tuple[int, int]:
    """Lasso counts for the polygon shrunk and grown by one pixel (bounds on the exact answer)."""
    out = []
    for grow in (-1.0, 1.0):
        c = np.mean(pixels, axis=0)
        scaled = [tuple(c + (np.array(p) - c) * (1 + grow / max(np.linalg.norm(np.array(p) - c), 1))) for p in pixels]
        poly = np.array([Dashboard.to_data(plot, *p) for p in scaled])
        out.append(len(lasso_select(xy, poly)))
    return out[0], out[1]


@pytest.fixture
def dash(browser, dashboard_server, request):
    context = browser.new_context(viewport={"width": 1500, "height": 1300}, accept_downloads=True)
    page = context.new_page()
    try:
        d = Dashboard(page, dashboard_server.url)
    except Exception:
        page.screenshot(path=str(ARTIFACTS_DIR / "dashboard_load_failure.png"), full_page=True)
        print(dashboard_server.log())
        raise
    yield d
    context.close()


@pytest.fixture(scope="module")
def projection_xy(browser_run) -> np.ndarray:
    proj, _ = read_projection(browser_run)
    return proj[["x", "y"]].to_numpy(np.float64)


def test_page_loads_and_lasso_selects_the_right_galaxies(dash, projection_xy, artifacts, dashboard_server):
    plot = dash.map_plot()
    pixels = polygon_pixels(plot)
    dash.lasso(pixels)
    lo, hi = expected_counts(projection_xy, plot, pixels)
    assert hi > 20, "the test polygon should enclose a fair number of galaxies"
    n_gallery = int(dash.wait_text(".gx-gallery-header", r"([\d,]+) selected \(lasso\)").group(1).replace(",", ""))
    assert lo <= n_gallery <= hi, (n_gallery, lo, hi)
    # every synthetic galaxy has a mass and an SFR, so all of them are highlighted on the main sequence
    dash.wait_text(".gx-ms-count", rf"^{n_gallery:,} selected on the main sequence")
    assert dash.page.locator(".gx-tile").count() == min(n_gallery, 12)
    dash.page.screenshot(path=str(artifacts / "dashboard_lasso.png"), full_page=True)
    assert not dash.errors, dash.errors
    assert "Traceback" not in dashboard_server.log()


def test_colour_by_changes_the_rendered_map(dash, artifacts):
    before = dash.screenshot_of(".gx-map")
    dash.page.locator(".gx-color-by select").select_option("sf_class")
    dash.plot("coloured by sf_class")
    deadline, changed = time.monotonic() + 30, 0.0
    while time.monotonic() < deadline:
        after = dash.screenshot_of(".gx-map")
        if after.shape == before.shape:
            changed = float(np.mean(np.any(after != before, axis=-1)))
            if changed > 0.02:
                break
        time.sleep(0.5)
    dash.page.screenshot(path=str(artifacts / "dashboard_colour_by.png"), full_page=True)
    assert changed > 0.02, f"only {changed:.1%} of the map's pixels changed"
    # the categorical colouring uses the EW-class colours (blue star-forming, red retired)
    assert (np.abs(after.astype(int) - [31, 119, 180]).sum(axis=-1) < 40).sum() > 20
    assert (np.abs(after.astype(int) - [214, 39, 40]).sum(axis=-1) < 40).sum() > 20


def test_two_sessions_do_not_share_a_selection(browser, dashboard_server):
    ctx1 = browser.new_context(viewport={"width": 1500, "height": 1300})
    ctx2 = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        one, two = Dashboard(ctx1.new_page(), dashboard_server.url), Dashboard(ctx2.new_page(), dashboard_server.url)
        one.lasso(polygon_pixels(one.map_plot()))
        one.wait_text(".gx-gallery-header", r"[1-9][\d,]* selected \(lasso\)")
        time.sleep(1.0)
        assert re.search(r"\b0 selected", two.read(".gx-gallery-header"))
    finally:
        ctx1.close()
        ctx2.close()
