"""Helpers for tests and benchmarks of galexplore (as ``numpy.testing`` is for NumPy).

- :func:`radial_pca_run`: a run directory without training (embeddings = PCA of radial means),
  for exercising everything downstream of the encoder quickly;
- :func:`free_port` and :class:`ServerProcess`: a real ``galexplore serve`` in a subprocess on
  127.0.0.1, for browser tests and load benchmarks;
- :class:`Dashboard` and :func:`lasso_middle`: a page of that server in Playwright, with helpers
  to read its text, find its plots and draw on them.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

import numpy as np

from galexplore.artifacts.runs import write_embeddings, write_projection
from galexplore.data.store import Survey, open_survey


def radial_pca_run(survey: Survey | str | os.PathLike, run: str | os.PathLike, dim: int = 8) -> Path:
    """Write ``run`` with embeddings = PCA of the maps' per-channel radial means (3 rings) and
    projection = their first 2 components; returns ``run``.

    Parameters
    ----------
    survey : Survey or path
        A survey with ``maps`` (N, C, H, W).
    run : path
        Run directory (created).
    dim : int
        Embedding dimension (≤ 3·C).
    """
    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    maps = survey.read("maps", slice(None))
    _, _, h, w = maps.shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(xx - (w - 1) / 2, yy - (h - 1) / 2) / (w / 2)
    rings = [(r >= lo) & (r < hi) for lo, hi in [(0, 0.2), (0.2, 0.5), (0.5, 1.0)]]
    x = np.nan_to_num(
        np.concatenate([np.nanmean(np.where(ring, maps, np.nan), axis=(2, 3)) for ring in rings], axis=1)
    )
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    z = (u * s)[:, :dim].astype(np.float32)
    ids = survey.catalog["galaxy_id"].tolist()
    write_embeddings(run, ids, {"maps": z}, {"method": "pca-of-radial-means"})
    write_projection(run, ids, z[:, :2], {"method": "pca"})
    return Path(run)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: JavaScript: ``text(node)``, the text under a node, shadow roots included (Panel renders its
#: panes in shadow DOM), style and script elements left out.
JS_DEEP_TEXT = """function text(n) {
    let t = '';
    if (n.shadowRoot) t += text(n.shadowRoot);
    for (const c of n.childNodes) {
      if (c.nodeName === 'STYLE' || c.nodeName === 'SCRIPT') continue;
      t += c.nodeType === 3 ? c.textContent : text(c);
    }
    return t;
  }"""


def page_text(page, css: str) -> str:
    """Text of the first element matching ``css`` on a Playwright ``page``, shadow DOM included
    ('' when there is none)."""
    loc = page.locator(css)
    return loc.first.evaluate(f"el => {{\n  {JS_DEEP_TEXT}\n  return text(el);\n}}") if loc.count() else ""


def drag_lasso(page, pixels: Sequence[tuple[float, float]], steps: int = 3) -> None:
    """Drag the mouse of a Playwright ``page`` through page ``pixels`` and back to the first one
    (a closed lasso), with ``steps`` intermediate moves per segment."""
    mouse = page.mouse
    mouse.move(*pixels[0])
    mouse.down()
    for p in [*pixels[1:], pixels[0]]:
        mouse.move(*p, steps=steps)
    mouse.up()


def wait_for_text(page, css: str, pattern: str, timeout: float = 60.0, poll: float = 0.2) -> re.Match:
    """Poll :func:`page_text` until ``pattern`` (a regex) matches it; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        last = page_text(page, css)
        m = re.search(pattern, last)
        if m:
            return m
        time.sleep(poll)
    raise AssertionError(f"{css}: {pattern!r} not found in {last!r} after {timeout} s")


#: JavaScript: ``plots()``, every Bokeh plot on the page as its title, frame position in page
#: pixels and data ranges (to convert between pixels and data units).
JS_PLOTS = """function plots() {
  const out = [];
  function walk(v) {
    if (v.model && v.model.x_range && v.frame && v.canvas_view) {
      const f = v.frame.bbox, c = v.canvas_view.el.getBoundingClientRect();
      const images = [];  // [columns, rows] of each image layer's raster
      for (const rv of (v.renderer_views ? v.renderer_views.values() : [])) {
        const d = rv.model.data_source && rv.model.data_source.data;
        const img = d && d.image && d.image[0];
        if (img && img.shape) images.push([img.shape[1], img.shape[0]]);
      }
      out.push({id: v.model.id, title: v.model.title ? v.model.title.text : '',
                left: c.left + f.left, top: c.top + f.top, width: f.width, height: f.height,
                x: [v.model.x_range.start, v.model.x_range.end],
                y: [v.model.y_range.start, v.model.y_range.end], images,
                // an image layer the size of the frame, to a pixel: see is_drawn
                drawn: images.some(([w, h]) => Math.abs(w - f.width) <= 1 && Math.abs(h - f.height) <= 1)});
    }
    for (const c of (v.child_views || [])) walk(c);
  }
  if (window.Bokeh && Bokeh.index) for (const r of Bokeh.index.roots) walk(r);
  return out;
}"""


#: JavaScript: the type of the map's active drag tool ('' if none).
ACTIVE_DRAG_JS = """() => {
  let found = null;
  function walk(v) {
    if (!found && v.model && v.model.toolbar && v.model.title && v.model.title.text.includes('coloured by')) {
      found = v.model.toolbar.active_drag;
    }
    for (const c of (v.child_views || [])) walk(c);
  }
  for (const r of Bokeh.index.roots) walk(r);
  return found && found.type ? found.type : '';
}"""


def polygon_pixels(plot: dict, frac: float = 0.3, n: int = 7) -> list[tuple[int, int]]:
    """An irregular polygon around the centre of a plot frame (from :data:`JS_PLOTS`), in whole
    page pixels: what a lasso drawn with the mouse there follows."""
    cx, cy = plot["left"] + plot["width"] / 2, plot["top"] + plot["height"] / 2
    rx, ry = plot["width"] * frac, plot["height"] * frac
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    wobble = 1 + 0.25 * np.sin(3 * ang)
    return [
        (round(cx + rx * w * np.cos(a)), round(cy + ry * w * np.sin(a)))
        for a, w in zip(ang, wobble, strict=True)
    ]


def is_drawn(plot: dict) -> bool:
    """Whether one of a plot's image layers (from :data:`JS_PLOTS`) has a raster the size of its
    frame, to a pixel: the server's image for the plot as laid out, not the one-pixel
    placeholder a served page starts with (:func:`~galexplore.dashboard.compute.raster.view_layer`)."""
    return bool(plot.get("drawn"))


def to_data(plot: dict, px: float, py: float) -> tuple[float, float]:
    """Page pixel (px, py) → data coordinates of a plot frame (from :data:`JS_PLOTS`)."""
    (x0, x1), (y0, y1) = plot["x"], plot["y"]
    return (
        x0 + (px - plot["left"]) / plot["width"] * (x1 - x0),
        y1 - (py - plot["top"]) / plot["height"] * (y1 - y0),
    )


def expected_counts(xy: np.ndarray, plot: dict, pixels) -> tuple[int, int]:
    """Lasso counts for the pixel polygon shrunk and grown by one pixel: bounds on the exact
    answer, computed independently of the dashboard from the projection ``xy`` (N, 2)."""
    from galexplore.dashboard.compute.selection import lasso_select

    out = []
    for grow in (-1.0, 1.0):
        c = np.mean(pixels, axis=0)
        scaled = [
            tuple(c + (np.array(p) - c) * (1 + grow / max(np.linalg.norm(np.array(p) - c), 1)))
            for p in pixels
        ]
        out.append(len(lasso_select(xy, np.array([to_data(plot, *p) for p in scaled]))))
    return out[0], out[1]


class ServerProcess:
    """``galexplore serve SURVEY RUN`` on 127.0.0.1 in a subprocess; its output goes to ``log_path``."""

    def __init__(
        self,
        survey: str | os.PathLike,
        run: str | os.PathLike,
        log_path: str | os.PathLike,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "galexplore",
                "serve",
                str(survey),
                str(run),
                "--port",
                str(self.port),
                *extra_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}/explorer"

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Block until the server says it is serving; RuntimeError with its log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            if "dashboard at" in self.log():
                return
            time.sleep(0.5)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        """What the server has written so far (also after :meth:`stop`)."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def write_partitioned_projection(survey, run: str | os.PathLike, seed: int = 0, parts: int = 3) -> np.ndarray:
    """A clumpy 2-d layout (N, 2) float32 of every galaxy of ``survey`` written as the run's
    partitioned ``projection.parquet`` of ``parts`` parts in survey order (as ``project --dask``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from galexplore.artifacts.atomic import atomic_directory
    from galexplore.artifacts.paths import RunPaths, part_file
    from galexplore.artifacts.runs import with_metadata

    rng = np.random.default_rng(seed)
    ids = survey.catalog["galaxy_id"].astype(str).to_numpy()
    n = len(ids)
    centres = rng.normal(scale=4.0, size=(5, 2))
    xy = (centres[rng.integers(0, 5, n)] + rng.normal(scale=0.8, size=(n, 2))).astype(np.float32)
    bounds = np.linspace(0, n, parts + 1).astype(int)
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    with atomic_directory(RunPaths.of(run).projection) as tmp:
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            table = pa.table({"galaxy_id": ids[lo:hi].tolist(), "x": xy[lo:hi, 0], "y": xy[lo:hi, 1]})
            pq.write_table(with_metadata(table, {"method": "umap", "partition": i}), part_file(tmp, i))
    return xy


__all__ = [
    "JS_DEEP_TEXT",
    "JS_PLOTS",
    "ServerProcess",
    "drag_lasso",
    "expected_counts",
    "is_drawn",
    "free_port",
    "page_text",
    "polygon_pixels",
    "wait_for_text",
    "radial_pca_run",
    "to_data",
    "write_partitioned_projection",
]


#: The titles of the colour bars of the map (a JS function for ``page.evaluate``).
MAP_COLOUR_BAR_JS = """() => {
  const out = [];
  function walk(v) {
    const m = v.model;
    if (m && m.title && m.title.text && m.title.text.includes('galaxies coloured by'))
      for (const side of ['right', 'left', 'center', 'above', 'below'])
        for (const r of (m[side] || [])) if (r.type === 'ColorBar') out.push(r.title || '');
    for (const c of (v.child_views || [])) walk(c);
  }
  if (window.Bokeh && Bokeh.index) for (const r of Bokeh.index.roots) walk(r);
  return out;
}"""
PLOTS_JS = f"() => {{ {JS_PLOTS}\n  return plots();\n}}"
IGNORED_CONSOLE = ("WebGL", "GPU stall", "favicon")


class Dashboard:
    """A page of the dashboard with helpers to find plots and draw on them."""

    def __init__(self, page, url: str, *, expect_selection: bool = False) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.goto(url, timeout=180_000)
        self.wait_text(
            ".gx-gallery-header", r"\b\d[\d,]* selected" if expect_selection else r"\b0 selected", timeout=120
        )
        self.map_plot()  # plots laid out
        self.plot("galaxies coloured by", drawn=True)  # and the map drawn at its size

    def _on_console(self, msg) -> None:
        if msg.type == "error" and not any(s in msg.text for s in IGNORED_CONSOLE):
            self.errors.append(msg.text)

    def read(self, css: str) -> str:
        """Text of the first element matching ``css``, shadow DOM included ('' if absent)."""
        return page_text(self.page, css)

    def wait_text(self, css: str, pattern: str, timeout: float = 60.0) -> re.Match:
        return wait_for_text(self.page, css, pattern, timeout, poll=0.25)

    def plots(self) -> list[dict]:
        return self.page.evaluate(PLOTS_JS)

    def plot(self, title_part: str, timeout: float = 60.0, *, drawn: bool = False) -> dict:
        """The first plot whose title contains ``title_part`` once laid out (and, with ``drawn``,
        once one of its image layers has a raster the size of its frame: see :func:`is_drawn`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.plots():
                if title_part in p["title"] and p["width"] > 0 and np.isfinite(p["x"]).all():
                    if not drawn or is_drawn(p):
                        return p
            time.sleep(0.25)
        raise AssertionError(f"no plot titled *{title_part}* in {[p['title'] for p in self.plots()]}")

    def map_plot(self) -> dict:
        return self.plot("galaxies coloured by")

    @staticmethod
    def to_data(plot: dict, px: float, py: float) -> tuple[float, float]:
        return to_data(plot, px, py)

    @staticmethod
    def to_px(plot: dict, x: float, y: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = plot["x"], plot["y"]
        return (
            plot["left"] + (x - x0) / (x1 - x0) * plot["width"],
            plot["top"] + (y1 - y) / (y1 - y0) * plot["height"],
        )

    def lasso(self, pixels: list[tuple[int, int]]) -> np.ndarray:
        """Drag a lasso through page pixels; returns the polygon in data coordinates."""
        plot = self.map_plot()
        drag_lasso(self.page, pixels)
        return np.array([self.to_data(plot, *p) for p in pixels])

    def screenshot_of(self, css: str) -> np.ndarray:
        from PIL import Image

        return np.asarray(Image.open(BytesIO(self.page.locator(css).first.screenshot())).convert("RGB"))


def lasso_middle(dash: Dashboard, frac: float = 0.3) -> tuple[int, list, dict]:
    """Lasso the middle of the map; returns the count shown, the pixels and the plot geometry."""
    if not re.search(r"\b0 selected", dash.read(".gx-gallery-header")):
        dash.page.locator(".gx-clear button").click()
        dash.wait_text(".gx-gallery-header", r"\b0 selected")
    plot = dash.map_plot()
    pixels = polygon_pixels(plot, frac)
    dash.lasso(pixels)  # drawn once: a drag begun while the page is busy is not lost (gestures.py)
    m = dash.wait_text(".gx-gallery-header", r"([\d,]+) selected \(lasso\)")
    return int(m.group(1).replace(",", "")), pixels, plot
