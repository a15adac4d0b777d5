"""Bytes and latency of each dashboard interaction over a real, shaped network link.

The server runs in one Linux network namespace and Chromium in another, joined by a veth pair;
the link is shaped by the kernel (``tbf`` on both ends for the rate, ``netem`` for the delay
where the kernel has it; otherwise the delay comes from ``bench/_delay_proxy.py`` in the
client's namespace). The namespaces are made and removed by this script (root needed); no
traffic leaves them. Links: ``unshaped`` (the veth pair alone: loopback speed), ``20mbit``
(20 Mbit/s, 40 ms round trip) and ``5mbit`` (5 Mbit/s, 80 ms).

Each interaction is measured two ways:

* ``wire_rx_bytes`` / ``wire_tx_bytes``: what crossed the client's interface (kernel counters:
  every byte of every packet, headers, TLS-free HTTP and websocket frames as sent, i.e.
  compressed when compression is on);
* from Chromium's DevTools protocol: HTTP bodies as received (``http_bytes``), websocket frames
  (``ws_frames``, ``ws_payload_bytes`` after decompression) and the largest frames' first
  characters, to see where the bytes go.

``done_ms`` is the time from the end of the action to the page showing its result (the map's
new raster, the title naming the colour, the selection count, the focus title …). For a zoom and
a pan the page times it itself: from the last wheel notch or the mouse release to the frame
painted after the new raster arrived, watched at every animation frame (``driver_done_ms`` is the
driver's figure, polled every 100 ms: what ``done_ms`` was before the evening of 2026-12-06).
There are three zooms, each to a view not seen before (``zoom``, ``zoom_2``, ``zoom_3``). ``settled_ms``
to the last thing the server sent in the burst (nothing more for ``--quiet`` seconds): every
linked view's data arrived. For a gesture the end is the last wheel notch of a zoom, and the
mouse release of a pan or a lasso (what the issue's comparison timed: "mouse-up → final count");
``gesture_ms`` is how long the gesture itself took the driver, and ``from_start_ms`` the time
from its first event (what ``done_ms`` was before 2026-12-06). ``views_ms`` is the time to the
last frame of the burst that changed a view (every linked view's data in): ``settled_ms``
without the busy indicator's stop, which Panel sends at least 500 ms after it started spinning.
The browser's own messages and Chromium's fetch of the favicon after a URL change do not count
(they did before 2026-12-05, adding up to ~0.5 s to a settled time).

Interactions: page load, a 3-notch wheel zoom on the map, a pan, colour-by, a lasso (and every
linked view), focus (a gallery cutout clicked), find-similar, reload. Data: ``demo`` (the built-in
synthetic survey, 1,500 galaxies, with cutouts and maps) and ``N`` (a catalog-only synthetic
survey of N galaxies with 16-d embeddings; no cutouts, so focus and find-similar use the table).

    sudo python bench/remote.py [--sizes demo 100000 1000000] [--links unshaped 20mbit 5mbit]
                                [--out-of-core]

``--out-of-core`` serves the same surveys out of core (``serve --out-of-core``: the map table
built from the projection, read part by part) and measures page load, zoom, pan, colour-by and
reload.

Results: ``bench/results/remote.json`` (and ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CHROMIUM = "/usr/bin/chromium"
#: name → (rate in Mbit/s or None, round trip in ms)
LINKS = {"unshaped": (None, 0), "20mbit": (20, 40), "5mbit": (5, 80)}
VIEWPORT = {"width": 1600, "height": 1000}
#: ``window.__gxMapImage()``: the array of the map's colour layer (a new object with each raster).
MAP_IMAGE_JS = """window.__gxMapImage = function () {
  let found = null;
  function walk(v) {
    if (found) return;
    const title = v.model && v.model.title && v.model.title.text;
    if (title && title.includes('coloured by') && v.renderer_views) {
      for (const rv of v.renderer_views.values()) {
        const data = rv.model.data_source && rv.model.data_source.data;
        if (data && data.image) { found = data.image[0]; return; }
      }
    }
    for (const c of (v.child_views || [])) walk(c);
  }
  if (window.Bokeh && Bokeh.index) for (const r of Bokeh.index.roots) walk(r);
  return found;
};"""
#: ``window.__gxLastInput``: when (page clock, ms) the last wheel notch or mouse release happened.
INPUT_CLOCK_JS = """for (const type of ['wheel', 'mouseup']) {
  window.addEventListener(type, () => { window.__gxLastInput = performance.now(); }, {capture: true});
}"""
#: Resolves, once the map's colour layer holds a new array and the page has painted the frame
#: after it, with the milliseconds since the last input (page clock). It watches every animation
#: frame (not a poll of the driver's): the driver's poll of 100 ms added 0–100 ms to a zoom.
NEW_RASTER_JS = """(old) => new Promise((resolve) => {
  function tick() {
    if (window.__gxMapImage() !== old) {
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - window.__gxLastInput), 0));
    } else requestAnimationFrame(tick);
  }
  tick();
})"""


# -- the link ----------------------------------------------------------------------------------
def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


@contextlib.contextmanager
def shaped_link(rate_mbit: float | None, rtt_ms: float) -> Iterator[dict]:
    """Two namespaces joined by a veth pair shaped to ``rate_mbit`` and ``rtt_ms``; removed on exit."""
    tag = f"gx{os.getpid() % 100000}"
    srv, cli = f"{tag}s", f"{tag}c"
    net = f"10.{77 + os.getpid() % 100}.0"
    info = {
        "server_ns": srv,
        "client_ns": cli,
        "server_ip": f"{net}.1",
        "client_iface": "vc",
        "delay": "none",
    }
    try:
        sh("ip", "netns", "add", srv)
        sh("ip", "netns", "add", cli)
        sh("ip", "link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b")
        for ns, dev, name, ip in ((srv, f"{tag}a", "vs", f"{net}.1"), (cli, f"{tag}b", "vc", f"{net}.2")):
            sh("ip", "link", "set", dev, "netns", ns)
            sh("ip", "-n", ns, "link", "set", dev, "name", name)
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", name)
            sh("ip", "-n", ns, "link", "set", name, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        if rate_mbit is not None:
            for ns, dev in ((srv, "vs"), (cli, "vc")):
                tc = ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root"]
                netem = sh(*tc, *f"netem delay {rtt_ms / 2}ms rate {rate_mbit}mbit".split(), check=False)
                if netem.returncode == 0:
                    info["delay"] = "netem"
                    continue
                burst = max(16_000, int(rate_mbit * 1e6 / 8 / 100))  # 10 ms of the rate
                sh(*tc, *f"tbf rate {rate_mbit}mbit burst {burst} latency 400ms".split())
                info["delay"] = "proxy"
        yield info
    finally:
        for ns in (srv, cli):
            sh("ip", "netns", "del", ns, check=False)


def wait_line(path: Path, needle: str, timeout_s: float, proc: subprocess.Popen) -> str:
    """The first line of the log ``path`` containing ``needle`` (``proc`` writes it)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        for line in path.read_text().splitlines():
            if needle in line:
                return line
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before writing {needle!r}: see {path}")
        time.sleep(0.2)
    raise TimeoutError(f"no {needle!r} in {path} within {timeout_s} s")


# -- data ----------------------------------------------------------------------------------------
def make_data(size: str, work: Path) -> tuple[Path, Path]:
    """(survey, run) for ``size``: ``demo`` (``galexplore demo --no-serve``) or N catalog-only galaxies."""
    if size == "demo":  # where `galexplore demo` keeps it; made (or checked and reused) here
        out = ROOT / "demo_data"
        subprocess.run(
            [sys.executable, "-m", "galexplore", "demo", "--no-serve", "--workdir", str(out)], check=True
        )
        return out / "survey", out / "run"
    n = int(size)
    survey, run = work / f"n{n}" / "survey", work / f"n{n}" / "run"
    if (run / "projection.parquet").exists():
        return survey, run
    import numpy as np

    sys.path.insert(0, str(HERE))
    from dashboard import synthetic_catalog

    from galexplore.artifacts.runs import write_embeddings, write_projection
    from galexplore.data.ingest import ingest_catalog

    cat, xy = synthetic_catalog(n)
    rng = np.random.default_rng(1)
    cat["ra"] = rng.uniform(0, 360, n)
    cat["dec"] = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    survey.parent.mkdir(parents=True, exist_ok=True)
    cat.to_parquet(survey.parent / "catalog.parquet")
    ingest_catalog(survey.parent / "catalog.parquet", out=survey)
    z = np.c_[xy, rng.normal(size=(n, 14))].astype(np.float32)
    ids = cat["galaxy_id"].tolist()
    write_embeddings(run, ids, {"catalog": z}, {"method": "synthetic (bench/remote.py)"})
    write_projection(run, ids, xy, {"method": "synthetic"})
    return survey, run


# -- the browser side (runs inside the client namespace) -----------------------------------------
class NetLog:
    """Chromium's network events for one page (CDP ``Network`` domain), with their times."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, int, str]] = []  # (t, kind, bytes, what)
        self.urls: dict[str, str] = {}

    def attach(self, cdp) -> None:
        cdp.on(
            "Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"])
        )
        cdp.on("Network.loadingFinished", self._http)
        cdp.on("Network.webSocketFrameReceived", lambda e: self._frame("ws_in", e))
        cdp.on("Network.webSocketFrameSent", lambda e: self._frame("ws_out", e))

    def _http(self, e: dict) -> None:
        url = self.urls.get(e["requestId"], "?")
        self.events.append(
            (time.perf_counter(), "http", int(e["encodedDataLength"]), url.split("?")[0][-80:])
        )

    def _frame(self, kind: str, e: dict) -> None:
        r = e["response"]
        data = r["payloadData"]
        n = len(base64.b64decode(data)) if r["opcode"] == 2 else len(data.encode())
        head = "<binary>" if r["opcode"] == 2 else data[:100]
        self.events.append((time.perf_counter(), kind, n, head))

    @staticmethod
    def is_view(event: tuple) -> bool:
        """Something the server sent for the page (a websocket frame or an HTTP body), not a
        message of the browser's, nor the favicon Chromium fetches again when the URL changes."""
        _, kind, _, what = event
        return kind != "ws_out" and not what.endswith("favicon.ico")

    @staticmethod
    def is_view_data(event: tuple) -> bool:
        """A frame that changes what the page shows: a binary buffer, or a patch's events other
        than the busy indicator's (Panel keeps that spinning at least 500 ms, then sends its
        stop), or an HTTP body other than the favicon; not a message's header, metadata or
        acknowledgement."""
        _, kind, _, what = event
        if kind == "http":
            return not what.endswith("favicon.ico")
        if kind != "ws_in":
            return False
        if what == "<binary>":
            return True
        return what.startswith('{"events"') and '"attr":"css_classes","new":["loader"' not in what

    def views_done(self, t0: float, t1: float) -> float:
        """Seconds from ``t0`` to the last frame in ``[t0, t1]`` that changed a view (:meth:`is_view_data`)."""
        return max([e[0] for e in self.events if t0 <= e[0] <= t1 and self.is_view_data(e)], default=t0) - t0

    async def settled(self, t0: float, quiet_s: float, limit_s: float = 120.0) -> float:
        """Seconds from ``t0`` to the last thing the server sent in the burst (nothing more for
        ``quiet_s``)."""
        while True:
            await asyncio.sleep(0.1)
            last = max([e[0] for e in self.events if e[0] >= t0 and self.is_view(e)], default=t0)
            now = time.perf_counter()
            if now - last >= quiet_s or now - t0 > limit_s:
                return last - t0

    def summary(self, t0: float, t1: float) -> dict:
        ev = [e for e in self.events if t0 <= e[0] <= t1]
        ws_in = [e for e in ev if e[1] == "ws_in"]
        return {
            "http_bytes": sum(e[2] for e in ev if e[1] == "http"),
            "http_requests": sum(e[1] == "http" for e in ev),
            "ws_frames_in": len(ws_in),
            "ws_payload_in": sum(e[2] for e in ws_in),
            "ws_payload_out": sum(e[2] for e in ev if e[1] == "ws_out"),
            # when the bytes came (ms after the action): the first 40 events of 1 kB or more
            "timeline": [[round((t - t0) * 1000), k, n] for t, k, n, _ in ev if n >= 1000][:40],
            "largest": [
                {"kind": k, "bytes": n, "what": w} for _, k, n, w in sorted(ev, key=lambda e: -e[2])[:6]
            ],
        }


def wire(iface: str) -> tuple[int, int]:
    stats = Path("/sys/class/net") / iface / "statistics"
    return int((stats / "rx_bytes").read_text()), int((stats / "tx_bytes").read_text())


async def drive(url: str, iface: str, quiet_s: float, out_of_core: bool = False) -> list[dict]:
    from playwright.async_api import async_playwright

    sys.path.insert(0, str(HERE))
    from _load_session import LoadSession

    from galexplore.testing import ACTIVE_DRAG_JS

    rows: list[dict] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            context = await browser.new_context(viewport=VIEWPORT)
            page = await context.new_page()
            await page.add_init_script(MAP_IMAGE_JS)
            await page.add_init_script(INPUT_CLOCK_JS)
            s = LoadSession(0, page, time.perf_counter())
            s.watch_errors()
            log = NetLog()
            cdp = await context.new_cdp_session(page)
            log.attach(cdp)
            await cdp.send("Network.enable")

            gesture_end: list[float] = []  # when the step's gesture ended (perf_counter), if it has one
            page_done: list[float] = []  # ms from the gesture's end to the result painted, page clock

            async def measure(name: str, act) -> None:
                w0, t0 = wire(iface), time.perf_counter()
                gesture_end.clear()
                page_done.clear()
                ok, detail = True, ""
                try:
                    detail = await act() or ""
                except Exception as exc:  # a failed step is measured as failed; the rest go on
                    ok, detail = False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                t_end = time.perf_counter()
                t_act = gesture_end[0] if gesture_end else t0
                done = t_end - t_act
                settled = await log.settled(t_act, quiet_s)
                w1 = wire(iface)
                rows.append(
                    {
                        "step": name,
                        "ok": ok,
                        "detail": detail,
                        "done_ms": round(page_done[0] if page_done else done * 1000),
                        # the driver's own figure: a poll every 100 ms from Python, after the last
                        # input event's round trip (what done_ms was before 2026-12-06 evening)
                        "driver_done_ms": round(done * 1000),
                        "settled_ms": round(max(settled, done) * 1000),
                        # the last view's data in (the busy indicator's stop left out)
                        "views_ms": round(max(log.views_done(t_act, t_act + settled), done) * 1000),
                        "gesture_ms": round((t_act - t0) * 1000),
                        "from_start_ms": round((t_end - t0) * 1000),
                        "wire_rx_bytes": w1[0] - w0[0],
                        "wire_tx_bytes": w1[1] - w0[1],
                        **log.summary(t0, time.perf_counter()),
                    }
                )

            async def load() -> str:
                await s.open(url, clusters=not out_of_core)
                return f"ready in {s.timings[-1].latency_ms:.0f} ms"

            async def raw_input(kind: str, x: float, y: float, **extra) -> None:
                if s.input is None:
                    s.input = await context.new_cdp_session(page)
                await s.input.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, **extra})

            def new_raster(before) -> asyncio.Future:
                """The page's own timing of the next raster (:data:`NEW_RASTER_JS`), started now."""
                return asyncio.ensure_future(page.evaluate(NEW_RASTER_JS, before))

            async def painted(watch: asyncio.Future) -> None:
                page_done.append(await asyncio.wait_for(watch, 60))

            def zoom(at: tuple[float, float], notches: int) -> Callable[[], Awaitable[str]]:
                async def act() -> str:
                    """Three wheel notches 40 ms apart (a flick) at ``at`` (fractions of the plot),
                    timed to the new raster painted."""
                    plot = await s.map_plot()
                    before = await page.evaluate_handle("() => window.__gxMapImage()")
                    watch = new_raster(before)
                    cx, cy = plot["left"] + plot["width"] * at[0], plot["top"] + plot["height"] * at[1]
                    for i in range(abs(notches)):
                        if i:
                            await asyncio.sleep(0.04)
                        await raw_input("mouseWheel", cx, cy, deltaX=0, deltaY=-100 if notches > 0 else 100)
                    gesture_end.append(time.perf_counter())
                    await painted(watch)
                    return ""

                return act

            async def pan() -> str:
                """A 120 × 60 px drag at 60 mouse events a second, timed to the first new raster."""
                await choose_mode("Pan", "PanTool")
                plot = await s.map_plot()
                before = await page.evaluate_handle("() => window.__gxMapImage()")
                watch = new_raster(before)
                cx, cy = plot["left"] + plot["width"] / 2, plot["top"] + plot["height"] / 2
                held = {"button": "left", "buttons": 1, "clickCount": 1}
                await raw_input("mousePressed", cx, cy, **held)
                for i in range(1, 13):
                    await raw_input("mouseMoved", cx + 10 * i, cy + 5 * i, button="left", buttons=1)
                    await asyncio.sleep(1 / 60)
                await raw_input("mouseReleased", cx + 120, cy + 60, button="left", buttons=0, clickCount=1)
                gesture_end.append(time.perf_counter())
                await painted(watch)
                return ""

            async def choose_mode(label: str, tool: str) -> None:
                await page.locator(".gx-select-mode button", has_text=label).click()
                await s.wait_js(f"() => ({ACTIVE_DRAG_JS})() === {tool!r}", None, 60)

            async def lasso_mode() -> None:
                await choose_mode("Lasso", "LassoSelectTool")

            async def colour() -> str:
                await s.colour_by("ew_ha")  # the map starts coloured by log_ssfr
                return ""

            async def lasso() -> str:
                n, _, _ = await s.lasso(0.25)
                timing = s.timings[-1]  # timed by LoadSession from the release
                gesture_end.append(s.clock0 + timing.start_s)
                return f"{n} selected"

            async def focus() -> str:
                tile = page.locator(".gx-tile").nth(1)
                gid = await tile.get_attribute("data-galaxy", timeout=5000)
                await tile.click()
                await s.wait_text(".gx-focus-title", gid, 60)
                return gid

            async def similar() -> str:
                await page.locator(".gx-find-similar button").click(timeout=5000)
                await s.wait_text(".gx-gallery-header", "most similar", 60)
                return ""

            async def reload() -> str:
                t0 = time.perf_counter()
                await page.reload(timeout=300_000)  # the URL holds the view: the similar galaxies come back
                if not out_of_core:  # (out of core there is no similarity search)
                    await s.wait_text(".gx-gallery-header", r"most similar", 300)
                await s.map_plot(timeout_s=300, drawn=True)
                return f"ready in {(time.perf_counter() - t0) * 1000:.0f} ms"

            await measure("page_load", load)
            await asyncio.sleep(2.0)
            # three zooms, each to a view not seen before: in at the centre, further in left of
            # it, then out right of it
            await measure("zoom", zoom((0.5, 0.5), 3))
            await measure("zoom_2", zoom((0.35, 0.55), 3))
            await measure("zoom_3", zoom((0.65, 0.45), -3))
            await measure("pan", pan)
            await lasso_mode()
            await log.settled(time.perf_counter(), quiet_s)
            await measure("colour_by", colour)
            if not out_of_core:  # out of core: no lasso count in the gallery's header, no search
                await measure("lasso", lasso)
                await measure("focus", focus)
                await measure("find_similar", similar)
            await measure("reload", reload)
            if s.errors:
                rows.append({"step": "errors", "errors": s.errors[:10]})
        finally:
            await browser.close()
    return rows


# -- one measurement: a server, a link, a page ---------------------------------------------------
def one(
    size: str,
    link: str,
    survey: Path,
    run: Path,
    port: int,
    quiet_s: float,
    log_dir: Path,
    level: int | None,
    cold: bool = False,
    out_of_core: bool = False,
) -> dict:
    rate, rtt = LINKS[link]
    with shaped_link(rate, rtt) as net:
        log_path = log_dir / f"server_{size}_{link}_{level}.log"
        server_log = open(log_path, "w")
        ip = net["server_ip"]
        in_server_ns = ["ip", "netns", "exec", net["server_ns"], sys.executable]
        origins = f"--allow-websocket-origin 127.0.0.1:{port} --allow-websocket-origin {ip}:{port}".split()
        server = subprocess.Popen(
            [*in_server_ns, "-m", "galexplore", "-v", "serve", str(survey), str(run), "--address", ip]
            + ["--port", str(port), *origins]
            + ([] if level is None else ["--compression-level", str(level)])
            + (["--out-of-core"] if out_of_core else []),
            stdout=server_log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        proxy = None
        in_client_ns = ["ip", "netns", "exec", net["client_ns"], sys.executable]
        try:
            t_start = time.perf_counter()
            wait_line(log_path, "dashboard at http://", 600, server)
            warm_s = None
            if not cold:  # a remote user opens a page long after the server started
                wait_line(log_path, "warm-up (first) done", 600, server)
                # and the second part (REST_WARM_UP_DELAY_S after start-up), which would
                # otherwise land in the middle of the interactions measured
                wait_line(log_path, "warm-up (rest)", 600, server)
                warm_s = round(time.perf_counter() - t_start, 1)
            url = f"http://{ip}:{port}/explorer"
            if net["delay"] == "proxy":
                proxy = subprocess.Popen(
                    [*in_client_ns, str(HERE / "_delay_proxy.py"), str(port), ip, str(port), str(rtt / 2)],
                    stdout=open(log_dir / "proxy.log", "w"),
                )
                wait_line(log_dir / "proxy.log", "listening", 30, proxy)
                url = f"http://127.0.0.1:{port}/explorer"
            out = log_dir / f"drive_{size}_{link}_{level}.json"
            driver = [
                "--drive",
                url,
                "--iface",
                net["client_iface"],
                "--quiet",
                str(quiet_s),
                "--drive-out",
                str(out),
                *(["--drive-out-of-core"] if out_of_core else []),
            ]
            subprocess.run([*in_client_ns, __file__, *driver], check=True, timeout=1200, cwd=ROOT)
            steps = json.loads(out.read_text())
        finally:
            for p in (proxy, server):
                if p is not None:
                    p.terminate()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        p.wait(20)
                    if p.poll() is None:
                        p.kill()
            server_log.close()
    return {
        "size": size,
        "link": link,
        "rate_mbit": rate,
        "rtt_ms": rtt,
        "delay_by": net["delay"],
        "compression_level": "default" if level is None else level,
        "mode": "out of core" if out_of_core else "in memory",
        "page_load_after": "server start" if cold else "server warm-up",
        "server_start_to_warm_s": warm_s,
        "steps": steps,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| size | link | compression | step | kB on the wire (in) | done ms (from the gesture's end) "
        "| views ms | settled ms | from the gesture's start ms | ws frames | HTTP kB |",
        "|" + "---|" * 11,
    ]
    for r in rows:
        for s in r["steps"]:
            if "wire_rx_bytes" in s:
                lines.append(
                    f"| {r['size']} | {r['link']} | {r['compression_level']} | "
                    f"{s['step']}{'' if s['ok'] else ' (failed)'} | "
                    f"{s['wire_rx_bytes'] / 1e3:,.0f} | {s['done_ms']:,} | {s.get('views_ms', '—')} | "
                    f"{s['settled_ms']:,} | "
                    f"{s.get('from_start_ms', s['done_ms']):,} | {s['ws_frames_in']} | "
                    f"{s['http_bytes'] / 1e3:,.0f} |"
                )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sizes", nargs="+", default=["demo", "100000", "1000000"], help="demo and/or galaxy counts"
    )
    p.add_argument("--links", nargs="+", default=list(LINKS), choices=list(LINKS))
    p.add_argument(
        "--work", type=Path, default=None, help="keep the generated surveys here (default: temporary)"
    )
    p.add_argument("--quiet", type=float, default=1.5, help="seconds without network events that end a step")
    p.add_argument("--port", type=int, default=5087)
    p.add_argument(
        "--uncompressed-too",
        nargs="*",
        default=[],
        metavar="SIZE",
        help="also serve these sizes with --compression-level 0 on the unshaped link (the page as it was)",
    )
    p.add_argument(
        "--cold",
        action="store_true",
        help="load the first page as soon as the server listens, while it still loads the data and "
        "compiles its kernels (default: after both parts of its warm-up, as a user who opens the "
        "page later)",
    )
    p.add_argument(
        "--out-of-core",
        action="store_true",
        help="serve out of core (serve --out-of-core): page load, zoom, pan, colour-by and reload "
        "(the lasso's count, focus and find-similar differ there and are left out)",
    )
    p.add_argument("--out", type=Path, default=RESULTS / "remote.json")
    p.add_argument("--drive", help=argparse.SUPPRESS)
    p.add_argument("--iface", help=argparse.SUPPRESS)
    p.add_argument("--drive-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--drive-out-of-core", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.drive:  # the browser side, inside the client namespace
        args.drive_out.write_text(
            json.dumps(
                asyncio.run(drive(args.drive, args.iface, args.quiet, args.drive_out_of_core)), indent=1
            )
        )
        return
    if os.geteuid() != 0:
        sys.exit("bench/remote.py makes network namespaces: run it as root")
    work = args.work or Path(tempfile.mkdtemp(prefix="gx_remote_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for size in args.sizes:
            survey, run = make_data(size, work)
            runs = [(link, None) for link in args.links] + [("unshaped", 0)] * (size in args.uncompressed_too)
            for link, level in runs:
                t0 = time.perf_counter()
                rows.append(
                    one(
                        size,
                        link,
                        survey,
                        run,
                        args.port,
                        args.quiet,
                        work,
                        level,
                        args.cold,
                        args.out_of_core,
                    )
                )
                rows[-1]["wall_s"] = round(time.perf_counter() - t0, 1)
                rows[-1]["load_avg"] = os.getloadavg()
                print(table(rows[-1:]), flush=True)
                result = {
                    "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": f"{platform.node()} ({os.cpu_count()} cores)",
                    "commit": subprocess.run(
                        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                        capture_output=True,
                        text=True,
                    ).stdout.strip(),
                    "quiet_s": args.quiet,
                    "rows": rows,
                }
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(result, indent=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
