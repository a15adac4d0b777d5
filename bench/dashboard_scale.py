"""The dashboard from 10⁵ to 10⁷ galaxies, against a plain Bokeh scatter; ``bench/results/dashboard_scale.json``.

For each size N, in a fresh process (so memory figures are that size's alone):

* ``rss_mb``: resident memory of a process holding what a server holds for one session — the
  catalog and projection (:class:`~galexplore.dashboard.data.ExplorerData`) and the whole
  page rendered into a Bokeh document: after the data, after the page, and the peak while
  building the page and zooming (the high-water mark is reset after the synthetic catalog is
  made, whose own peak is reported apart: a server reads its catalog instead);
* ``zoom_ms``: server time to re-aggregate and re-render the map after a zoom (median);
* ``map_view_bytes``: what a browser receives for the map (Bokeh's serialised document:
  JSON + binary buffers).

and, in another fresh process with a time limit, the same N points as a plain Bokeh scatter
(x, y and the colour column as float arrays): its bytes, its build time and its memory, or
how it failed. Catalogs are synthetic (``bench/dashboard.py``'s ``synthetic_catalog``; no maps
or images, which load lazily per galaxy anyway). Targets (issue 7): at 10⁷ the zoom re-render
within 1 s and the server under 4 GB; at 10⁶ under 2 GB.

With ``--out-of-core`` the same sizes are also served out of core (``serve --out-of-core``,
:mod:`galexplore.dashboard.ooc.app`), side by side: a child process writes the catalog as a
survey and the projection as 1M-row Parquet parts (as ``project --dask``) under ``--workdir``;
a fresh one then builds the map table (``ooc_table_build_s``, its peak memory apart), renders
the out-of-core page, zooms (``ooc_zoom_ms``, the same views as in memory) and draws a lasso
(``ooc_lasso_ms``); the in-memory child draws the same lasso. Memory: ``ooc_rss_mb_peak`` is
the page and the zooms after the table is built, ``ooc_rss_mb_peak_with_build`` the whole life.
Results go to ``bench/results/dashboard_scale_ooc.json`` with the load average at each size.

    python bench/dashboard_scale.py [--sizes 100000 1000000 10000000] [--repeats 3] [--out-of-core]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def child_dashboard(n: int, repeats: int) -> dict:
    sys.path.insert(0, str(HERE))
    import gc

    import panel as pn
    from dashboard import map_view_bytes, session, synthetic_catalog, time_zoom

    from galexplore.dashboard.data import ExplorerData

    pn.extension("tabulator")
    t0 = time.perf_counter()
    cat, xy = synthetic_catalog(n)
    data = ExplorerData(cat, xy)
    del cat
    gc.collect()
    load_s = time.perf_counter() - t0
    rss_data, peak_building = rss_mb()
    with contextlib.suppress(
        OSError
    ):  # reset the high-water mark: count the server's life, not the synthesis
        Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    explorer, doc = session(data)
    page_s = time.perf_counter() - t0
    gc.collect()
    rss_page, peak = rss_mb()
    zoom = time_zoom(explorer, doc, repeats)
    lasso_ms, n_sel = time_lasso(explorer, doc)
    return {
        "n": n,
        "lasso_ms": round(lasso_ms, 1),
        "lasso_selected": n_sel,
        "data_build_s": round(load_s, 1),
        "page_build_s": round(page_s, 2),
        "rss_mb_data": round(rss_data),
        "rss_mb_with_page": round(rss_page),
        "rss_mb_peak": round(max(peak, rss_mb()[1])),
        "rss_mb_peak_while_synthesising_catalog": round(peak_building),
        "zoom_ms_median": round(statistics.median(zoom), 1),
        "zoom_ms_all": [round(v, 1) for v in zoom],
        "map_view_bytes": map_view_bytes(data),
    }


def lasso_circle(explorer, frac: float = 0.12):
    """A 24-gon around the middle of the map's extent, radius ``frac`` of the x span."""
    import numpy as np

    lo, hi = (np.asarray(v, float) for v in explorer.map._extent())
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    return (lo + hi) / 2 + np.c_[np.cos(t), np.sin(t)] * frac * (hi[0] - lo[0])


def time_lasso(explorer, doc) -> tuple[float, int]:
    """Milliseconds from a lasso polygon to the selection stored (and every view told), and the count."""
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        t0 = time.perf_counter()
        explorer.map._on_lasso(geometry=lasso_circle(explorer))
        return (time.perf_counter() - t0) * 1e3, explorer.state.n_selected


def generate_ooc(n: int, workdir: Path) -> dict:
    """The synthetic catalog as a survey and its projection as 1M-row parts, under ``workdir``."""
    sys.path.insert(0, str(HERE))
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dashboard import synthetic_catalog

    from galexplore.artifacts.atomic import atomic_directory
    from galexplore.artifacts.paths import RunPaths
    from galexplore.artifacts.runs import with_metadata
    from galexplore.data.writer import write_survey

    survey, run = workdir / f"survey_{n}", workdir / f"run_{n}"
    if not RunPaths.of(run).projection.is_dir():
        import shutil

        shutil.rmtree(survey, ignore_errors=True)
        cat, xy = synthetic_catalog(n)
        write_survey(survey, cat, name=f"synthetic-{n}", source="bench/dashboard_scale.py")
        run.mkdir(parents=True, exist_ok=True)
        ids = cat["galaxy_id"].to_numpy()
        del cat
        with atomic_directory(RunPaths.of(run).projection) as tmp:
            for i, lo in enumerate(range(0, n, 1_000_000)):
                hi = min(n, lo + 1_000_000)
                table = pa.table(
                    {
                        "galaxy_id": pa.array(ids[lo:hi].tolist(), pa.string()),
                        "x": xy[lo:hi, 0],
                        "y": xy[lo:hi, 1],
                    }
                )
                pq.write_table(
                    with_metadata(table, {"method": "umap", "partition": i}), tmp / f"part-{i:05d}.parquet"
                )
        del xy, ids
    return {"survey": str(survey), "run": str(run)}


def child_ooc(n: int, repeats: int, workdir: Path) -> dict:
    sys.path.insert(0, str(HERE))
    import gc

    import panel as pn
    from bokeh.document import Document
    from dashboard import time_zoom
    from panel.io.state import set_curdoc

    from galexplore.artifacts.paths import RunPaths
    from galexplore.dashboard.ooc.app import OutOfCoreExplorer
    from galexplore.dashboard.ooc.data import OutOfCoreData

    paths = json.loads((workdir / f"paths_{n}.json").read_text())
    import shutil

    for old in RunPaths.of(paths["run"]).cache.glob("map_table-*"):  # time the build, not a reuse
        shutil.rmtree(old)
    pn.extension("tabulator")
    t0 = time.perf_counter()
    data = OutOfCoreData.load(paths["survey"], paths["run"])
    build_s = time.perf_counter() - t0
    gc.collect()
    rss_data, peak_build = rss_mb()
    with contextlib.suppress(OSError):  # count the serving apart from the one-off table build
        Path("/proc/self/clear_refs").write_text("5")
    doc = Document()
    t0 = time.perf_counter()
    with set_curdoc(doc):
        explorer = OutOfCoreExplorer(data)
        explorer.template().server_doc(doc)
    page_s = time.perf_counter() - t0
    gc.collect()
    rss_page = rss_mb()[0]
    zoom = time_zoom(explorer, doc, repeats)
    lasso_ms, n_sel = time_lasso(explorer, doc)
    return {
        "n": n,
        "ooc_parts": len(data.table.parts),
        "ooc_table_build_s": round(build_s, 1),
        "ooc_rss_mb_after_table": round(rss_data),
        "ooc_rss_mb_peak_building_table": round(peak_build),
        "ooc_page_build_s": round(page_s, 2),
        "ooc_rss_mb_with_page": round(rss_page),
        "ooc_rss_mb_peak": round(rss_mb()[1]),
        "ooc_rss_mb_peak_with_build": round(max(peak_build, rss_mb()[1])),
        "ooc_zoom_ms_median": round(statistics.median(zoom), 1),
        "ooc_zoom_ms_all": [round(v, 1) for v in zoom],
        "ooc_lasso_ms": round(lasso_ms, 1),
        "ooc_lasso_selected": n_sel,
    }


def child_scatter(n: int) -> dict:
    sys.path.insert(0, str(HERE))
    from dashboard import scatter_bytes, synthetic_catalog

    from galexplore.dashboard.data import ExplorerData

    data = ExplorerData(*synthetic_catalog(n))
    before = rss_mb()[0]
    t0 = time.perf_counter()
    size = scatter_bytes(data)
    return {
        "n": n,
        "plain_scatter_bytes": size,
        "plain_scatter_build_s": round(time.perf_counter() - t0, 2),
        "plain_scatter_extra_rss_mb": round(rss_mb()[1] - before),
    }


def in_child(kind: str, n: int, repeats: int, timeout: float, workdir: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--sizes", str(n), "--repeats", str(repeats)]
    if workdir is not None:
        cmd += ["--workdir", str(workdir)]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"n": n, f"{kind}_failed": f"did not finish within {timeout:.0f} s"}
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {
            "n": n,
            f"{kind}_failed": f"exit {res.returncode} after {time.perf_counter() - t0:.0f} s: {tail}",
        }
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scatter-timeout", type=float, default=300.0)
    ap.add_argument(
        "--out-of-core", action="store_true", help="also serve each size out of core, side by side"
    )
    ap.add_argument("--no-scatter", action="store_true", help="skip the plain Bokeh scatter")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/galexplore_bench_ooc"),
        help="where the out-of-core surveys and runs are written (kept for reruns)",
    )
    ap.add_argument("--child", choices=("dashboard", "scatter", "generate", "ooc"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n = args.sizes[0]
        if args.child == "generate":
            args.workdir.mkdir(parents=True, exist_ok=True)
            out = generate_ooc(n, args.workdir)
            (args.workdir / f"paths_{n}.json").write_text(json.dumps(out))
        else:
            out = {
                "dashboard": lambda: child_dashboard(n, args.repeats),
                "scatter": lambda: child_scatter(n),
                "ooc": lambda: child_ooc(n, args.repeats, args.workdir),
            }[args.child]()
        print(json.dumps(out))
        return
    if args.out_of_core:
        return main_ooc(args)
    load_start = os.getloadavg()[0]
    rows = []
    for n in args.sizes:
        row = in_child("dashboard", n, args.repeats, 1800)
        row.update(
            {k: v for k, v in in_child("scatter", n, args.repeats, args.scatter_timeout).items() if k != "n"}
        )
        if "map_view_bytes" in row and "plain_scatter_bytes" in row:
            row["ours_over_plain_bytes"] = round(row["map_view_bytes"] / row["plain_scatter_bytes"], 5)
        rows.append(row)
        print(json.dumps(row), flush=True)
    by_n = {r["n"]: r for r in rows}
    targets = {}
    if 10_000_000 in by_n and "zoom_ms_median" in by_n[10_000_000]:
        r = by_n[10_000_000]
        targets["zoom_1e7_within_1s"] = r["zoom_ms_median"] <= 1000
        targets["rss_1e7_under_4GB"] = r["rss_mb_peak"] <= 4096
    if 1_000_000 in by_n and "rss_mb_peak" in by_n[1_000_000]:
        targets["rss_1e6_under_2GB"] = by_n[1_000_000]["rss_mb_peak"] <= 2048
    result = {
        "benchmark": "dashboard at scale",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min_start": round(load_start, 2),
            "load_average_1min_end": round(os.getloadavg()[0], 2),
        },
        "what": "in-memory catalog + projection (ExplorerData) with one whole page; plain Bokeh scatter beside it",
        "sizes": rows,
        "meets_targets": targets,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard_scale.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def main_ooc(args: argparse.Namespace) -> None:
    """In memory and out of core side by side, each size in fresh processes; the load average
    (1-minute, /proc/loadavg) is recorded before and after each measurement."""
    rows = []
    for n in args.sizes:
        row = {"n": n, "load_average_before": list(os.getloadavg())}
        gen = in_child("generate", n, args.repeats, 3600, args.workdir)
        if "generate_failed" in gen:
            row.update(gen)
            rows.append(row)
            continue
        row["in_memory"] = in_child("dashboard", n, args.repeats, 3600)
        row["load_average_after_in_memory"] = list(os.getloadavg())
        row["out_of_core"] = in_child("ooc", n, args.repeats, 3600, args.workdir)
        row["load_average_after_out_of_core"] = list(os.getloadavg())
        mem, ooc = row["in_memory"], row["out_of_core"]
        if "zoom_ms_median" in mem and "ooc_zoom_ms_median" in ooc:
            row["ooc_over_memory_zoom"] = round(ooc["ooc_zoom_ms_median"] / mem["zoom_ms_median"], 2)
            row["ooc_over_memory_rss_peak"] = round(ooc["ooc_rss_mb_peak"] / mem["rss_mb_peak"], 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
        _write_ooc(rows)
    print(json.dumps(_write_ooc(rows), indent=2))


def _write_ooc(rows: list[dict]) -> dict:
    by_n = {r["n"]: r.get("out_of_core", {}) for r in rows}
    targets = {}
    big = by_n.get(10_000_000, {})
    if "ooc_zoom_ms_median" in big:
        targets["ooc_zoom_1e7_within_1s"] = big["ooc_zoom_ms_median"] <= 1000
        targets["ooc_rss_1e7_under_4GB"] = big["ooc_rss_mb_peak_with_build"] <= 4096
    result = {
        "benchmark": "dashboard at scale: in memory vs out of core",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "shared machine (other agents' training runs): compare the two modes within a row",
        },
        "what": (
            "in memory: ExplorerData + whole page; out of core: map table on disk (Dask DataFrames, "
            "Datashader partition by partition) + the out-of-core page; the same zoom views and lasso"
        ),
        "sizes": rows,
        "meets_targets": targets,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard_scale_ooc.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
