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

    python bench/dashboard_scale.py [--sizes 100000 1000000 10000000] [--repeats 3]
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
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
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
    with contextlib.suppress(OSError):  # reset the high-water mark: count the server's life, not the synthesis
        Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    explorer, doc = session(data)
    page_s = time.perf_counter() - t0
    gc.collect()
    rss_page, peak = rss_mb()
    zoom = time_zoom(explorer, doc, repeats)
    return {"n": n, "data_build_s": round(load_s, 1), "page_build_s": round(page_s, 2),
            "rss_mb_data": round(rss_data), "rss_mb_with_page": round(rss_page), "rss_mb_peak": round(max(peak, rss_mb()[1])),
            "rss_mb_peak_while_synthesising_catalog": round(peak_building),
            "zoom_ms_median": round(statistics.median(zoom), 1), "zoom_ms_all": [round(v, 1) for v in zoom],
            "map_view_bytes": map_view_bytes(data)}  # fmt: skip


def child_scatter(n: int) -> dict:
    sys.path.insert(0, str(HERE))
    from dashboard import scatter_bytes, synthetic_catalog

    from galexplore.dashboard.data import ExplorerData

    data = ExplorerData(*synthetic_catalog(n))
    before = rss_mb()[0]
    t0 = time.perf_counter()
    size = scatter_bytes(data)
    return {"n": n, "plain_scatter_bytes": size, "plain_scatter_build_s": round(time.perf_counter() - t0, 2),
            "plain_scatter_extra_rss_mb": round(rss_mb()[1] - before)}  # fmt: skip


def in_child(kind: str, n: int, repeats: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--sizes", str(n), "--repeats", str(repeats)]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"n": n, f"{kind}_failed": f"did not finish within {timeout:.0f} s"}
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"n": n, f"{kind}_failed": f"exit {res.returncode} after {time.perf_counter() - t0:.0f} s: {tail}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scatter-timeout", type=float, default=300.0)
    ap.add_argument("--child", choices=("dashboard", "scatter"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_dashboard if args.child == "dashboard" else child_scatter
        out = fn(args.sizes[0], args.repeats) if args.child == "dashboard" else fn(args.sizes[0])
        print(json.dumps(out))
        return
    load_start = os.getloadavg()[0]
    rows = []
    for n in args.sizes:
        row = in_child("dashboard", n, args.repeats, 1800)
        row.update({k: v for k, v in in_child("scatter", n, args.repeats, args.scatter_timeout).items() if k != "n"})
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
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_1min_start": round(load_start, 2), "load_average_1min_end": round(os.getloadavg()[0], 2)},
        "what": "in-memory catalog + projection (ExplorerData) with one whole page; plain Bokeh scatter beside it",
        "sizes": rows,
        "meets_targets": targets,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard_scale.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
