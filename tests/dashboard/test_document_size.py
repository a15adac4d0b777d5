"""A long session does not grow the page: a served dashboard driven by Debian's Chromium.

Counts the models of the browser's Bokeh document (``Bokeh.documents[0]._all_models``) and
the messages the page sends back to the server, across selections, galaxies put in focus and
changes of the map's colouring.
"""

from __future__ import annotations

import re
import time

import pytest

from galexplore.testing import JS_PLOTS, drag_lasso, page_text, polygon_pixels, wait_for_text

pytestmark = pytest.mark.browser

PLOTS_JS = f"() => {{ {JS_PLOTS}\n  return plots();\n}}"
SIZE_JS = "() => Bokeh.documents[0]._all_models.size"
IDLE_JS = "() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle"
#: Model ids of the plots of the galaxy in focus (inside a model with a ``gx-focus-map`` or
#: ``gx-focus-cutout`` CSS class), in the order of the page.
PLOT_IDS_JS = """() => {
  const out = [];
  function walk(v, inside) {
    const m = v.model;
    inside = inside || (m?.css_classes ?? []).some((c) => c === "gx-focus-map" || c === "gx-focus-cutout");
    if (inside && m && m.x_range && m.title) out.push(m.id);
    for (const c of (v.child_views || [])) walk(c, inside);
  }
  for (const r of Bokeh.index.roots) walk(r, false);
  return out;
}"""
#: An active user: the pointer goes on and off a galaxy of the map every ``period`` ms (each a
#: message from the server, the ring drawn or removed), until the document holds at most
#: ``limit`` models or ``max_ms`` have passed; returns the document's size then.
ACTIVE_WAIT_JS = """async ([x, y, limit, period, max_ms]) => {
  const doc = Bokeh.documents[0];
  let plot = null;  // the map on the page (a replaced one may still be in the document)
  function walk(v) {
    if (v.model?.title?.text?.includes("galaxies coloured by")) plot = v.model;
    for (const c of (v.child_views || [])) walk(c);
  }
  for (const r of Bokeh.index.roots) walk(r);
  const {MouseMove, MouseLeave} = Bokeh.require("core/bokeh_events");
  const mods = {shift: false, ctrl: false, alt: false};
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < max_ms; i++) {
    plot.trigger_event(i % 2 ? new MouseLeave(0, 0, NaN, NaN, mods) : new MouseMove(0, 0, x, y, mods));
    await sleep(period);
    if (doc._all_models.size <= limit) break;
  }
  return doc._all_models.size;
}"""
#: Models that may come and go without a leak (a tooltip, a notification).
TOLERANCE = 5


class Page:
    """One dashboard page; records the messages it sends to the server."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.sent: list[str] = []
        self.errors: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", self._on_frame))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(msg.text)
                if msg.type == "error" and "favicon" not in msg.text and "WebGL" not in msg.text
                else None
            ),
        )
        page.goto(url, timeout=180_000)
        self.wait_text(".gx-gallery-header", r"\b0 selected", timeout=120)
        self.idle()

    def _on_frame(self, payload) -> None:
        self.sent.append(payload if isinstance(payload, str) else payload.decode("utf-8", "replace"))

    def read(self, css: str) -> str:
        """Text of the first element matching ``css``, shadow DOM included ('' if absent)."""
        return page_text(self.page, css)

    def wait_text(self, css: str, pattern: str, timeout: float = 60.0) -> re.Match:
        return wait_for_text(self.page, css, pattern, timeout, poll=0.2)

    def idle(self, settle: float = 1.0) -> None:
        """The document is idle, and some more time for the replies of the page to go out."""
        self.page.wait_for_function(IDLE_JS, timeout=60_000)
        time.sleep(settle)

    def plot(self, title_part: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.page.evaluate(PLOTS_JS):
                if title_part in p["title"] and p["width"] > 0:
                    return p
            time.sleep(0.2)
        raise AssertionError(f"no plot titled *{title_part}*")

    def size(self) -> int:
        return self.page.evaluate(SIZE_JS)

    def lasso(self, frac: float) -> int:
        """Lasso the middle of the map (a different polygon for each ``frac``); the count selected."""
        before = self.read(".gx-gallery-header")
        pixels = polygon_pixels(self.plot("galaxies coloured by"), frac)
        drag_lasso(self.page, pixels)
        deadline = time.monotonic() + 60
        while self.read(".gx-gallery-header") == before and time.monotonic() < deadline:
            time.sleep(0.2)
        n = int(
            self.wait_text(".gx-gallery-header", r"([\d,]+) selected \(lasso\)").group(1).replace(",", "")
        )
        self.wait_text(
            ".gx-profiles-note", rf"{n:,} selected"
        )  # the last panel to update (off the event loop)
        return n

    def range_messages(self, since: int = 0) -> list[str]:
        """Range changes (``start``/``end``) the page sent since message ``since``."""
        return [
            m for m in self.sent[since:] if '"ModelChanged"' in m and re.search(r'"attr":\s*"(start|end)"', m)
        ]


@pytest.fixture(scope="module")
def dash(browser, dashboard_server):
    context = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        yield Page(context.new_page(), dashboard_server.url)
    finally:
        context.close()


@pytest.fixture(autouse=True)
def _server_log_on_failure(request, dashboard_server):
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(dashboard_server.log())


def test_selections_send_no_range_changes_back_and_keep_the_document_size(dash):
    # before: the 4 profile and 5 histogram plots (DataRange1d) sent their new y range back
    # after every selection, 9 messages the server never reads; their ranges now come from it
    start = len(dash.sent)
    counts, sizes = [], []
    for frac in (0.2, 0.3):
        counts.append(dash.lasso(frac))
        dash.idle()
        sizes.append(dash.size())
    assert len(set(counts)) == 2, counts  # two different selections
    assert dash.range_messages(start) == []
    assert max(sizes) - min(sizes) <= TOLERANCE, sizes
    assert not dash.errors, dash.errors


def test_a_new_galaxy_in_focus_is_drawn_in_the_same_plots(dash):
    # before: five new plots (~195 models) for every galaxy, the old ones kept by the page
    tiles = dash.page.locator(".gx-tile")
    assert tiles.count() >= 4
    ids, sizes = [], []
    for i in range(4):
        gid = tiles.nth(i).get_attribute("data-galaxy")
        tiles.nth(i).click()
        dash.wait_text(".gx-focus-title", re.escape(gid))
        dash.idle()
        ids.append(dash.page.evaluate(PLOT_IDS_JS))
        sizes.append(dash.size())
    assert all(i == ids[0] for i in ids), ids
    assert max(sizes) - min(sizes) <= TOLERANCE, sizes
    assert len(ids[0]) == 5, ids[0]  # four maps and the cutout
    assert not dash.errors, dash.errors


def test_the_models_of_a_rebuilt_map_leave_the_page_of_an_active_user(dash, browser_run):
    from galexplore.artifacts.runs import read_projection

    proj, _ = read_projection(browser_run)
    x, y = float(proj["x"].iloc[7]), float(proj["y"].iloc[7])
    dash.idle()
    base = dash.size()
    # numbers → classes → numbers builds a new map plot each time (~80 models)
    for column in ("sf_class", "log_ssfr"):
        dash.page.locator(".gx-color-by select").select_option(column)
        dash.plot(f"coloured by {column}")
        dash.page.wait_for_function(IDLE_JS, timeout=60_000)
    # before: BokehJS dropped the replaced plots only after 30 s without a message from the
    # server, which the hover ring of a user moving the pointer never leaves it
    size = dash.page.evaluate(ACTIVE_WAIT_JS, [x, y, base + TOLERANCE, 500, 20_000])
    assert size <= base + TOLERANCE, (base, size)
    assert dash.page.evaluate("() => Bokeh.require('document/document').Document.gx_cleanups") >= 1
    assert not dash.errors, dash.errors
