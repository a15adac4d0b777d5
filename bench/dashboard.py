"""Benchmark the dashboard on a synthetic catalog + projection of up to 10⁶ galaxies.

Measures, on the server side of a real session document (Bokeh models, HoloViews plots, the
Datashader pipelines; no browser):

* ``zoom_ms``: re-aggregating and re-rendering the map after a zoom (target ≤ 150 ms);
* ``lasso_ms``: from a lasso polygon holding ≈ 10⁵ galaxies to every linked view updated —
  selection look-up, map highlight, main sequence, distributions, counts, gallery page and
  export button (target ≤ 500 ms); ``lasso_lookup_ms`` is the polygon look-up alone;
* ``bytes``: what a browser receives for the map view (the Bokeh document of the map pane, as
  Bokeh's protocol serialises it for a new session, JSON plus binary buffers), against a plain
  Bokeh scatter of the same points (x, y as float32 and the colour column), at 10⁵…10⁶
  galaxies (targets: ours the same within 10 % across sizes; ≤ 10 % of the scatter at 10⁶).

There are no maps or images: the catalog-only explorer is what a million-galaxy catalog with
a projection gives. Results go to ``bench/results/dashboard.json``.

    python bench/dashboard.py [--n 1000000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (100_000, 300_000, 1_000_000)


def synthetic_catalog(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A million-galaxy-like catalog (standard columns) and a clumpy 2-d projection."""
    from galexplore.data.columns import sf_class
    from galexplore.data.synthetic import draw_population

    rng = np.random.default_rng(seed)
    pop = draw_population(n, np.random.default_rng(np.random.SeedSequence([seed, 0])))
    cat = pd.DataFrame({"galaxy_id": np.char.add("G", np.arange(n).astype(str)).astype(object)})
    for col in ("log_mstar", "log_sfr", "log_ssfr", "z", "re_kpc", "axis_ratio", "bulge_frac", "morph_type"):
        cat[col] = pop[col].to_numpy()
    cat["ew_ha"] = pop["ew_target"].to_numpy()
    cat["log_age_lw"] = pop["age_disc0"].to_numpy()
    cat["zh_lw"] = pop["zh0"].to_numpy()
    cat["sf_class"] = sf_class(cat["ew_ha"].to_numpy())
    # a UMAP-like map: star-forming and retired islands with substructure, ordered by mass
    retired = cat["sf_class"].to_numpy() == "retired"
    centre = np.where(retired[:, None], [12.0, 3.0], [0.0, 5.0])
    t = (cat["log_mstar"].to_numpy() - 10.5) * 2.5
    xy = centre + np.c_[t, np.sin(t) * 2] + rng.normal(scale=1.2, size=(n, 2))
    return cat, xy.astype(np.float32)


def session(data):
    """An explorer rendered into its own Bokeh document, as for a browser session."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from galexplore.dashboard.app import Explorer

    doc = Document()
    with set_curdoc(doc):
        explorer = Explorer(data)
        explorer.template().server_doc(doc)
    return explorer, doc


def map_only_session(data):
    """Only the map in a document: the zoom cost without the rest of the page's models."""
    from types import SimpleNamespace

    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from galexplore.dashboard._compat import lean_document
    from galexplore.dashboard.state import ExplorerState
    from galexplore.dashboard.views.embedding_map import EmbeddingMap

    doc = Document()
    lean_document(doc)  # as the page's document (Explorer does it)
    with set_curdoc(doc):
        emap = EmbeddingMap(ExplorerState(data))
        emap._pane.server_doc(doc)
    return SimpleNamespace(map=emap, data=data), doc


def _range_streams(explorer):
    import holoviews as hv

    pane = explorer.map._pane
    plot = next(iter(pane._plots.values()))[0]
    streams = [s for s in plot.streams if isinstance(s, hv.streams.RangeXY)]
    if not streams:
        raise RuntimeError("no RangeXY stream on the map")
    return streams


def time_zoom(explorer, doc, repeats: int) -> list[float]:
    """Milliseconds to re-render the map for a new view range (zooming in step by step)."""
    import holoviews as hv
    from panel.io.state import set_curdoc

    streams = _range_streams(explorer)
    lo, hi = explorer.map._extent()  # the projection's extent (in memory or from the out-of-core table)
    (x0, y0), (x1, y1) = (
        np.asarray(lo, float).tolist(),
        np.asarray(hi, float).tolist(),
    )  # floats, as Bokeh sends
    out = []
    for i in range(repeats + 1):
        f = 0.9**i * 0.5
        cx, cy = (x0 + x1) / 2 + 0.3 * i, (y0 + y1) / 2
        ranges = {
            "x_range": (cx - f * (x1 - x0), cx + f * (x1 - x0)),
            "y_range": (cy - f * (y1 - y0), cy + f * (y1 - y0)),
        }
        with set_curdoc(doc):
            t0 = time.perf_counter()
            for s in streams:
                s.update(**ranges)
            hv.streams.Stream.trigger(streams)
            dt = time.perf_counter() - t0
        if i:  # the first call compiles kernels for the new canvas size
            out.append(dt * 1e3)
    return out


def lasso_polygon(xy: np.ndarray, target: int) -> np.ndarray:
    """A circle around the densest region of the star-forming island holding about ``target`` points."""
    centre = np.median(xy[xy[:, 0] < 6], axis=0)
    d = np.hypot(*(xy - centre).T)
    r = np.sort(d)[target]
    theta = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    return centre + r * np.c_[np.cos(theta), np.sin(theta)]


def time_lasso(explorer, doc, repeats: int, target: int = 100_000) -> dict:
    from panel.io.state import set_curdoc

    from galexplore.dashboard.compute.selection import lasso_select

    poly = lasso_polygon(explorer.data.xy, min(target, explorer.data.n // 3))
    lookups, totals = [], []
    for i in range(repeats + 1):
        p = poly * (1 + 0.001 * i)  # a slightly different polygon each time (nothing cached)
        t0 = time.perf_counter()
        rows = lasso_select(explorer.data.xy, p)
        lookups.append((time.perf_counter() - t0) * 1e3)
        with set_curdoc(doc):
            explorer.state.clear_selection()
            t0 = time.perf_counter()
            explorer.map._on_lasso(geometry=p)
            totals.append((time.perf_counter() - t0) * 1e3)
    n = explorer.state.n_selected
    assert n == len(rows) and f"{n:,} selected" in explorer.gallery._header.object
    return {"n_selected": int(n), "lasso_lookup_ms": lookups[1:], "lasso_ms": totals[1:]}


def message_bytes(model) -> int:
    """Bytes a browser receives for a document holding ``model`` (JSON + binary buffers)."""
    from bokeh.document import Document
    from bokeh.protocol import Protocol

    doc = Document()
    doc.add_root(model)
    msg = Protocol().create("PULL-DOC-REPLY", "bench", doc)
    size = len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
    return size + sum(memoryview(buf.data).nbytes for buf in msg.buffers)


def map_view_bytes(data) -> int:
    from galexplore.dashboard.state import ExplorerState
    from galexplore.dashboard.views.embedding_map import EmbeddingMap

    emap = EmbeddingMap(ExplorerState(data))
    return message_bytes(emap._pane.get_root())


def scatter_bytes(data, column: str = "log_ssfr") -> int:
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure
    from bokeh.transform import linear_cmap

    values = data.catalog[column].to_numpy()
    src = ColumnDataSource({"x": data.xy[:, 0], "y": data.xy[:, 1], column: values})
    fig = figure(width=600, height=560, tools="pan,wheel_zoom,box_select,lasso_select,hover")
    lo, hi = np.nanpercentile(values, [1, 99])
    fig.scatter("x", "y", source=src, size=2, color=linear_cmap(column, "Viridis256", lo, hi))
    return message_bytes(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="galaxies for the timings (default: 10⁶)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import panel as pn

    from galexplore.dashboard.data import ExplorerData

    pn.extension("tabulator")
    load_start = os.getloadavg()[0]
    sizes = sorted({*[s for s in SIZES if s <= args.n], args.n})
    bytes_rows = []
    data_n = None
    for n in sizes:
        cat, xy = synthetic_catalog(n)
        data = ExplorerData(cat, xy)
        bytes_rows.append(
            {"n": n, "map_view_bytes": map_view_bytes(data), "plain_scatter_bytes": scatter_bytes(data)}
        )
        print(bytes_rows[-1], flush=True)
        if n == args.n:
            data_n = data
    explorer, doc = session(data_n)
    zoom = time_zoom(explorer, doc, args.repeats)
    zoom_map_only = time_zoom(*map_only_session(data_n), args.repeats)
    lasso = time_lasso(explorer, doc, args.repeats)
    ours = [r["map_view_bytes"] for r in bytes_rows]
    top = bytes_rows[-1]
    result = {
        "benchmark": "dashboard",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min_start": round(load_start, 2),
            "load_average_1min_end": round(os.getloadavg()[0], 2),
        },
        "n_galaxies": args.n,
        "zoom_ms": {
            "median": round(statistics.median(zoom), 1),
            "all": [round(v, 1) for v in zoom],
            "target": 150,
            "map_only_document_median": round(statistics.median(zoom_map_only), 1),
            "note": "median is in the whole page's document (what a session pays); map_only_document holds "
            "only the map's models. Both skip Bokeh's whole-graph walk after freezes that change no "
            "references (galexplore.dashboard._compat.LeanModelManager), so the page's other models "
            "no longer add to a zoom",
        },
        "lasso": {
            "n_selected": lasso["n_selected"],
            "lookup_ms_median": round(statistics.median(lasso["lasso_lookup_ms"]), 1),
            "linked_views_ms_median": round(statistics.median(lasso["lasso_ms"]), 1),
            "linked_views_ms_all": [round(v, 1) for v in lasso["lasso_ms"]],
            "target_ms": 500,
        },
        "bytes": {
            "by_size": bytes_rows,
            "ours_spread": round(max(ours) / min(ours) - 1, 4),
            "target_spread": 0.10,
            "ours_over_plain_at_max": round(top["map_view_bytes"] / top["plain_scatter_bytes"], 4),
            "target_ratio": 0.10,
        },
    }
    result["meets_targets"] = {
        "zoom": result["zoom_ms"]["median"] <= 150,
        "lasso": result["lasso"]["linked_views_ms_median"] <= 500,
        "bytes_constant": result["bytes"]["ours_spread"] <= 0.10,
        "bytes_vs_plain": result["bytes"]["ours_over_plain_at_max"] <= 0.10,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
