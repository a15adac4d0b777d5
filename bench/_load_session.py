"""One browser session of the load test (``bench/load.py``): a dashboard page driven through
Playwright's async API, with every interaction timed from the action to the page showing
its result.

The page is watched from inside the browser (``page.wait_for_function`` polling every
:data:`POLL_MS`), not by round trips from Python, so that twenty pages can be watched at once
on a small machine. Texts are read through Panel's shadow DOM; the map is found through
Bokeh's views, with the JavaScript that ``tests/dashboard/test_browser.py`` uses (:mod:`galexplore.testing`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from galexplore.analysis.clustering import METHOD_LABELS
from galexplore.testing import JS_DEEP_TEXT, JS_PLOTS, polygon_pixels

POLL_MS = 100
#: Records, in ``window.__gxTrace``, what the page did with a drag: Bokeh's gesture phases,
#: the lasso tool's start and end, the selection event and its websocket message (diagnosis
#: of lassos that never reach the server; installed once per page, cleared per lasso).
GESTURE_TRACE_JS = """() => {
  if (window.__gxTrace) { window.__gxTrace.length = 0; return; }
  const T = window.__gxTrace = [];
  const now = () => Math.round(performance.now());
  const wrap = (proto, names, label) => { for (const m of names) { const f = proto[m];
    proto[m] = function (...a) { T.push(label(m, this)); return f.apply(this, a); }; } };
  const G = Bokeh.require("core/ui_gestures").UIGestures.prototype;
  wrap(G, ["_pointer_down", "_pointer_up", "_pointer_cancel", "_pointer_timeout", "on_pan_start", "on_pan_end",
           "on_press", "on_tap"], (m, g) => `${m}@${now()}:${g.phase}`);
  const L = Bokeh.require("models/tools/gestures/lasso_select_tool").LassoSelectToolView.prototype;
  wrap(L, ["_pan_start", "_pan_end"], (m, v) => `lasso${m}@${now()}:active=${v.model.active}`);
  const S = Bokeh.require("models/tools/gestures/select_tool").SelectToolView.prototype;
  wrap(S, ["_emit_selection_event"], (m) => `emit@${now()}`);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) {
    if (typeof d === "string" && d.includes("selectiongeometry")) T.push(`ws_send@${now()}:${this.readyState}`);
    return send.call(this, d);
  };
}"""
LATE_TIMERS_JS = "() => window.Bokeh ? (Bokeh.require('core/ui_gestures').UIGestures.gx_late_timers ?? 0) : 0"
IGNORED_CONSOLE = ("WebGL", "GPU stall", "favicon")

#: Deep text of the first element matching a CSS selector, shadow roots included (cached).
DEEP_FIND_JS = (
    """
window.__gxFind = function (css) {
  window.__gxCache = window.__gxCache || {};
  const hit = window.__gxCache[css];
  if (hit && hit.isConnected) return hit;
  function find(root) {
    const el = root.querySelector(css);
    if (el) return el;
    for (const n of root.querySelectorAll('*')) {
      if (n.shadowRoot) { const f = find(n.shadowRoot); if (f) return f; }
    }
    return null;
  }
  const el = find(document);
  if (el) window.__gxCache[css] = el;
  return el;
};
window.__gxText = function (css) {
  const el = window.__gxFind(css);
  if (!el) return null;
  """
    + JS_DEEP_TEXT
    + """
  return text(el);
};
window.__gxPlots = """
    + JS_PLOTS
    + """;
"""
)
#: Resolves (truthy) with the match groups once the element's text matches the pattern.
TEXT_MATCH_JS = """([css, pattern]) => {
  const t = window.__gxText ? window.__gxText(css) : null;
  if (t === null) return null;
  const m = t.match(new RegExp(pattern));
  return m ? Array.from(m) : null;
}"""
#: Resolves with the map plot's geometry once a plot title contains the text (``[part, drawn]``;
#: with ``drawn``, once one of its image layers also has a raster the size of its frame:
#: :func:`galexplore.testing.is_drawn`).
PLOT_JS = """([part, drawn]) => {
  if (!window.__gxPlots) return null;
  for (const p of window.__gxPlots()) {
    if (p.title.includes(part) && p.width > 0 && isFinite(p.x[0]) && isFinite(p.x[1]) && (!drawn || p.drawn)) {
      return p;
    }
  }
  return null;
}"""


@dataclass
class Timing:
    session: int
    kind: str
    phase: str
    start_s: float
    latency_ms: float
    ok: bool
    detail: str = ""
    #: Chromium's main-thread time for this page during the interaction (CDP ``Performance``
    #: metrics): all tasks, and the JavaScript and layout within them; None if unavailable.
    browser_task_ms: float | None = None
    browser_script_ms: float | None = None
    browser_layout_ms: float | None = None


@dataclass
class LoadSession:
    """A page of the dashboard in its own browser context (cookies, storage and websocket)."""

    index: int
    page: object
    clock0: float
    phase: str = "load"
    timings: list[Timing] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: dict = field(default_factory=dict)  # what this session did last: colour, k, lasso count
    coloured: list = field(default_factory=list)  # every colour-by this session asked for
    cdp: object = None  # a Chrome DevTools Protocol session on the page (browser-side metrics)
    input: object = None  # another one for raw mouse input

    async def enable_metrics(self) -> None:
        """Collect Chromium's per-page ``Performance`` metrics (task, script and layout time)."""
        self.cdp = await self.page.context.new_cdp_session(self.page)
        await self.cdp.send("Performance.enable")

    async def _metrics(self) -> dict[str, float] | None:
        if self.cdp is None:
            return None
        try:
            reply = await self.cdp.send("Performance.getMetrics")
        except Exception:  # a closed or crashed page: no metrics, the timing stands
            return None
        return {m["name"]: m["value"] for m in reply["metrics"]}

    def watch_errors(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _on_console(self, msg) -> None:
        if msg.type == "error" and not any(s in msg.text for s in IGNORED_CONSOLE):
            self.errors.append(f"console: {msg.text[:300]}")

    async def wait_js(self, js: str, arg, timeout_s: float):
        handle = await self.page.wait_for_function(js, arg=arg, polling=POLL_MS, timeout=timeout_s * 1000)
        return await handle.json_value()

    async def wait_text(self, css: str, pattern: str, timeout_s: float = 120.0) -> list[str]:
        return await self.wait_js(TEXT_MATCH_JS, [css, pattern], timeout_s)

    async def text(self, css: str) -> str:
        return await self.page.evaluate("(css) => window.__gxText(css) || ''", css)

    async def map_plot(
        self, part: str = "galaxies coloured by", timeout_s: float = 120.0, *, drawn: bool = False
    ) -> dict:
        """The map's geometry once its title contains ``part`` (and, with ``drawn``, once its
        raster is the size of its frame: a served page starts with a one-pixel placeholder)."""
        return await self.wait_js(PLOT_JS, [part, drawn], timeout_s)

    async def timed(self, kind: str, action, done, detail: str = ""):
        """Run ``action()`` then ``done()``; record the time from the action to ``done`` resolving."""
        m0 = await self._metrics()
        t0 = time.perf_counter()
        ok, out = True, None
        try:
            await action()
            out = await done()
        except Exception as exc:  # a timeout or a broken page is a measured failure, not a crash
            ok = False
            self.errors.append(f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        except BaseException:  # cut by the phase's budget: recorded as unfinished, then cancelled
            self.timings.append(
                Timing(
                    self.index,
                    kind,
                    self.phase,
                    round(t0 - self.clock0, 3),
                    round((time.perf_counter() - t0) * 1000, 1),
                    False,
                    detail + " (cut)",
                )
            )
            raise
        latency_ms = round((time.perf_counter() - t0) * 1000, 1)
        m1 = await self._metrics()
        spent = {}
        if m0 and m1:
            spent = {
                key: round((m1.get(name, 0.0) - m0.get(name, 0.0)) * 1000, 1)
                for key, name in (
                    ("browser_task_ms", "TaskDuration"),
                    ("browser_script_ms", "ScriptDuration"),
                    ("browser_layout_ms", "LayoutDuration"),
                )
            }
        self.timings.append(
            Timing(self.index, kind, self.phase, round(t0 - self.clock0, 3), latency_ms, ok, detail, **spent)
        )
        return out

    # -- the interactions -----------------------------------------------------------------------
    async def open(self, url: str, *, clusters: bool = True) -> None:
        """Load the page, timed until the gallery, the clusters (unless ``clusters`` is False:
        an out-of-core page has none) and the map drawn at its size are shown."""

        async def go():
            await self.page.add_init_script(DEEP_FIND_JS)
            await self.page.goto(url, timeout=300_000)

        async def ready():
            await self.wait_text(".gx-gallery-header", r"\b0 selected", 300)
            if clusters:
                await self.wait_text(".gx-cluster-status", r"\d+ clusters", 300)
            return await self.map_plot(timeout_s=300, drawn=True)  # the map drawn at its size

        await self.timed("page_load", go, ready)

    async def colour_by(self, column: str) -> None:
        select = self.page.locator(".gx-color-by select")
        await self.timed(
            "colour_by",
            lambda: select.select_option(column),
            lambda: self.map_plot(f"coloured by {column}"),
            column,
        )
        self.done["colour"] = column
        self.coloured.append(column)

    async def clear(self) -> None:
        async def click():
            button = self.page.locator(".gx-clear button")
            if await button.is_disabled():  # nothing selected
                return
            await button.click()

        await self.timed("clear", click, lambda: self.wait_text(".gx-gallery-header", r"\b0 selected"))

    async def lasso(self, frac: float) -> tuple[int, list, dict]:
        """Lasso the middle of the map (polygon of half-size ``frac`` of the frame); returns the count shown."""
        plot = await self.map_plot()
        pixels = polygon_pixels(plot, frac)

        # Drawing is the user's time (and the driver's: one round trip per mouse move); the
        # latency is timed from the release, when Bokeh sends the polygon to the server.
        t0 = time.perf_counter()
        late0 = await self.late_press_timers()
        if self.input is None:  # one CDP session for all of this page's mouse events, in order
            self.input = await self.page.context.new_cdp_session(self.page)
        await self.page.evaluate(GESTURE_TRACE_JS)
        try:
            await self.page.mouse.move(*pixels[0])
            # A hand moves as it presses: the press and the first moves go to Chromium together
            # (raw CDP input, not Playwright's mouse, which sends each event only after the
            # last one's round trip: more than Bokeh's 300 ms press threshold on a starved
            # machine, and the drag became a "press"). Chromium delivers only the last of moves
            # that arrive together, so they lie on the first edge: the polygon is the same.
            first_edge = [
                [a + (b - a) * t for a, b in zip(pixels[0], pixels[1], strict=True)] for t in (0.5, 1.0)
            ]
            await asyncio.gather(
                self._mouse("mousePressed", pixels[0]), *(self._mouse("mouseMoved", p) for p in first_edge)
            )
            last = pixels[1]
            for p in [*pixels[2:], pixels[0]]:
                for step in (1, 2, 3):  # as Playwright's mouse.move(steps=3)
                    await self._mouse(
                        "mouseMoved", [a + (b - a) * step / 3 for a, b in zip(last, p, strict=True)]
                    )
                last = p
        except Exception as exc:  # a broken page is a measured failure, not a crash
            self.errors.append(f"lasso drawing: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            self.timings.append(
                Timing(
                    self.index,
                    "lasso",
                    self.phase,
                    round(t0 - self.clock0, 3),
                    round((time.perf_counter() - t0) * 1000, 1),
                    False,
                    f"frac={frac}, drawing failed",
                )
            )
            self.done["lasso"] = -1
            return -1, pixels, plot
        draw_ms = round((time.perf_counter() - t0) * 1000)
        late = await self.late_press_timers() - late0
        m = await self.timed(
            "lasso",
            lambda: self._mouse("mouseReleased", pixels[0]),
            lambda: self.wait_text(".gx-gallery-header", r"([\d,]+) selected \(lasso\)"),
            f"frac={frac}, drawn in {draw_ms} ms, late press timers {late}",
        )
        n = int(m[1].replace(",", "")) if m else -1
        if n < 0:  # what the page did with the drag
            self.errors.append(f"lasso trace: {await self.page.evaluate('window.__gxTrace')}")
        self.done["lasso"] = n
        return n, pixels, plot

    async def _mouse(self, kind: str, xy) -> None:
        """One mouse event with the left button held (CDP ``Input.dispatchMouseEvent``; page px)."""
        await self.input.send(
            "Input.dispatchMouseEvent",
            {
                "type": kind,
                "x": float(xy[0]),
                "y": float(xy[1]),
                "button": "left",
                "buttons": 0 if kind == "mouseReleased" else 1,
                "clickCount": 0 if kind == "mouseMoved" else 1,
            },
        )

    async def late_press_timers(self) -> int:
        """Bokeh press timers this page found late, i.e. drags the press guard kept from being lost."""
        try:
            return await self.page.evaluate(LATE_TIMERS_JS)
        except Exception:  # a closed or crashed page
            return 0

    async def recompute(self, method: str, k: int, timeout_s: float = 240.0) -> None:
        """Set method and k, press Recompute, wait for the status line to name them."""
        if self.done.get("method", "kmeans") != method:  # the Select shows labels, not the values
            await self.page.locator(".gx-cluster-method select").select_option(label=METHOD_LABELS[method])
            self.done["method"] = method
        if method != "hdbscan":
            k_input = self.page.locator(".gx-cluster-k input")
            await k_input.fill(str(k))
            await k_input.press("Enter")
        key = "hdbscan" if method == "hdbscan" else rf"{method} k={k}"
        await self.timed(
            f"cluster_{method}",
            lambda: self.page.locator(".gx-cluster-recompute button").click(),
            lambda: self.wait_text(".gx-cluster-status", rf"\d+ clusters \({key}[,)]", timeout_s),
            key,
        )
        self.done["cluster"] = key.replace("\\", "")
