"""Importing 10⁶ vectors of 1,024 float32 (4.1 GB), then projecting and serving them.

Goal (issue 18): the import takes ≤ 60 s with a peak memory ≤ 2× the vectors' size, from a
Parquet file (one fixed-size-list column) and from a ``.npy`` with an ids file, into a
catalog-only survey of 10⁶ galaxies; the run can then be projected and served.

What it does:

1. Makes the inputs, block by block (seeded normal vectors; ids ``G0000000`` …; a catalog with
   ra/dec and two properties, ingested as a catalog-only survey), so the maker never holds them.
2. Imports each file in a fresh subprocess and measures its wall time, its CPU time (user +
   sys, all threads) and its peak resident set (``VmHWM`` of ``/proc/self/status`` at the end:
   everything the process ever held, Python, the libraries, the vectors, Arrow's buffers; not
   ``ru_maxrss``, which keeps the forking parent's size across ``exec``); the resident set after
   the imports of the libraries and before the import is reported too. It checks 2,000 rows of
   the written file bit for bit against the input.
3. Projects the run (``galexplore project RUN``, UMAP by default: fit on 10⁵, the rest
   transformed; ``--project pca``) in a subprocess: wall and CPU time, peak RSS.
4. Serves it: ``galexplore serve`` in a subprocess (in-memory mode; 10⁶ is below the automatic
   out-of-core threshold): time until the server is ready and until the page answers, the page's
   size, and, when Playwright and Chromium are there, one headless-browser load of the page
   (seconds until the map and the catalog-only note are drawn); the server's peak RSS (``VmHWM``).

Run it with ``nice``; it records the load average before, after each phase and after. Results:
``bench/results/import.json`` (``import_<n>x<dim>.json`` for other sizes).

    nice -n 15 python bench/import.py [--n 1000000] [--dim 1024] [--keep DIR [--reuse]] [--project umap|pca]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
BLOCK = 1 << 16

IMPORT_CHILD = r"""
import json, os, sys, time
def status_kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
from galexplore.importing import import_embeddings
import pyarrow, pandas, astropy.coordinates  # what the import uses, loaded before the clock starts
before = status_kb("VmRSS")
t, c = time.perf_counter(), os.times()
r = import_embeddings(sys.argv[1], sys.argv[2], sys.argv[3], ids_file=sys.argv[4] or None, model_name="bench")
seconds, c1 = time.perf_counter() - t, os.times()
print(json.dumps({"seconds": seconds, "cpu_user_s": c1.user - c.user, "cpu_sys_s": c1.system - c.system,
                  "rss_before_kb": before, "peak_rss_kb": status_kb("VmHWM"), "n_imported": r.n_imported,
                  "summary": r.summary()}))
"""

PROJECT_CHILD = r"""
import os, sys, time
from galexplore.cli import main
t, c = time.perf_counter(), os.times()
rc = main(["-q", "project", *sys.argv[1:]])
c1 = os.times()
hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
print(rc, time.perf_counter() - t, c1.user - c.user + c1.system - c.system, hwm)
"""


def vectors_block(start: int, stop: int, dim: int) -> np.ndarray:
    """Rows start…stop of the benchmark's vectors (seeded per block, so any block can be remade)."""
    out = np.empty((stop - start, dim), dtype=np.float32)
    for b0 in range(start - start % BLOCK, stop, BLOCK):
        rng = np.random.default_rng([7, b0 // BLOCK])
        block = rng.standard_normal((BLOCK, dim), dtype=np.float32)
        lo, hi = max(start, b0), min(stop, b0 + BLOCK)
        out[lo - start : hi - start] = block[lo - b0 : hi - b0]
    return out


def ids_of(start: int, stop: int) -> list[str]:
    return [f"G{i:07d}" for i in range(start, stop)]


def make_inputs(root: Path, n: int, dim: int) -> dict[str, float]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from galexplore.data.ingest import ingest_catalog

    t0 = time.perf_counter()
    schema = pa.schema([("galaxy_id", pa.string()), ("embedding", pa.list_(pa.float32(), dim))])
    npy = np.lib.format.open_memmap(root / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, dim))
    with pq.ParquetWriter(root / "vectors.parquet", schema) as writer, open(root / "ids.txt", "w") as ids_txt:
        for start in range(0, n, BLOCK):
            stop = min(n, start + BLOCK)
            z = vectors_block(start, stop, dim)
            ids = ids_of(start, stop)
            embedding = pa.FixedSizeListArray.from_arrays(pa.array(z.ravel()), dim)
            writer.write_table(pa.table({"galaxy_id": ids, "embedding": embedding}, schema=schema))
            npy[start:stop] = z
            ids_txt.write("\n".join(ids) + "\n")
    npy.flush()
    del npy
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {
            "galaxy_id": ids_of(0, n),
            "ra": rng.uniform(0, 360, n),
            "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
            "log_mstar": rng.normal(10.5, 0.6, n),
            "log_sfr": rng.normal(0.0, 0.6, n),
        }
    ).to_parquet(root / "catalog.parquet")
    t1 = time.perf_counter()
    ingest_catalog(root / "catalog.parquet", out=root / "survey")
    return {"make_vectors_s": round(t1 - t0, 1), "ingest_catalog_s": round(time.perf_counter() - t1, 1)}


def check_bits(run: Path, n: int, dim: int) -> bool:
    """2,000 rows of the written embeddings (the first, the last, and a middle block) equal the input bit for bit."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(run / "embeddings.parquet")
    ok = True
    for start in (0, n // 2, n - 500 if n > 500 else 0):
        rows = pf.read_row_groups([start // pf.metadata.row_group(0).num_rows]).slice(
            start % pf.metadata.row_group(0).num_rows, 500
        )
        emb = next(c for c in rows.column_names if c.startswith("emb_"))
        got = rows.column(emb).combine_chunks().flatten().to_numpy().reshape(-1, dim)
        want = vectors_block(start, start + len(got), dim)
        ok &= bool((got.view(np.uint32) == want.view(np.uint32)).all()) and rows.column(
            "galaxy_id"
        ).to_pylist() == ids_of(start, start + len(got))
    return ok


def run_child(args: list[str]) -> tuple[dict, float]:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"}
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return out, time.perf_counter() - t


def import_one(root: Path, fmt: str, n: int, dim: int) -> dict:
    run = root / f"run_{fmt}"
    src = root / ("vectors.parquet" if fmt == "parquet" else "vectors.npy")
    ids = str(root / "ids.txt") if fmt == "npy" else ""
    out, _ = run_child(["-c", IMPORT_CHILD, str(src), str(root / "survey"), str(run), ids])
    res = json.loads(out.stdout.strip().splitlines()[-1])
    gib = n * dim * 4
    res.update(
        file_bytes=src.stat().st_size,
        vectors_bytes=gib,
        peak_rss_bytes=res["peak_rss_kb"] * 1024,
        cpu_s=round(res.pop("cpu_user_s") + res.pop("cpu_sys_s"), 1),
        load_average_after=load(),
        peak_over_vectors=round(res["peak_rss_kb"] * 1024 / gib, 3),
        peak_minus_start_over_vectors=round((res["peak_rss_kb"] - res["rss_before_kb"]) * 1024 / gib, 3),
        bit_exact_sample=check_bits(run, n, dim),
        seconds=round(res["seconds"], 1),
    )
    return res


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def project(run: Path, method: str) -> dict:
    before = load()
    out, _ = run_child(["-c", PROJECT_CHILD, str(run), "--method", method])
    rc, seconds, cpu, kb = out.stdout.split()[-4:]
    return {
        "method": method,
        "exit": int(rc),
        "seconds": round(float(seconds), 1),
        "cpu_s": round(float(cpu), 1),
        "peak_rss_bytes": int(kb) * 1024,
        "load_average_before": before,
        "load_average_after": load(),
    }


def browser_check(url: str) -> dict:
    """One headless Chromium load of the page: seconds until the map's canvas and the
    catalog-only note are there (skipped without Playwright or Chromium)."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"checked": False, "why": "playwright is not installed"}
    if not chromium.exists():
        return {"checked": False, "why": f"{chromium} is missing"}
    from galexplore.testing import wait_for_text

    t = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.goto(url + "?galaxy=G0000007", timeout=900_000)
        wait_for_text(page, ".gx-focus-title", "G0000007", 900)
        note = wait_for_text(page, ".gx-no-pixels", r"no images or maps \(catalog only\)", 300).group(0)
        page.wait_for_selector("canvas", timeout=300_000)
        seconds = time.perf_counter() - t
        canvases = page.locator("canvas").count()
        browser.close()
    return {
        "checked": True,
        "seconds_to_focus_and_note": round(seconds, 1),
        "note": note,
        "canvases": canvases,
    }


def serve(root: Path, run: Path) -> dict:
    from galexplore.testing import ServerProcess

    t = time.perf_counter()
    server = ServerProcess(root / "survey", run, root / "server.log")
    try:
        server.wait_ready(timeout=1200)
        ready = time.perf_counter() - t
        t = time.perf_counter()
        with urllib.request.urlopen(server.url, timeout=600) as resp:
            page = resp.read()
            status = resp.status
        page_s = round(time.perf_counter() - t, 1)
        browser = browser_check(server.url)
        pid = server.proc.pid
        hwm = next(
            (int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmHWM:")), 0
        )
        log_tail = server.log()[-400:]
        return {
            "mode": "in-memory",
            "ready_s": round(ready, 1),
            "page_status": status,
            "page_bytes": len(page),
            "page_s": page_s,
            "browser": browser,
            "server_peak_rss_bytes": hwm * 1024,
            "traceback_in_log": "Traceback" in server.log(),
            "log_tail": log_tail,
            "load_average_after": load(),
        }
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    ap.add_argument("--skip-serve", action="store_true")
    ap.add_argument(
        "--reuse", action="store_true", help="reuse the inputs already in --keep (made by an earlier run)"
    )
    ap.add_argument(
        "--project", choices=("umap", "pca"), default="umap", help="projection method (default: umap)"
    )
    ap.add_argument(
        "--skip-import",
        action="store_true",
        help="with --reuse: keep the imported runs, only project and serve",
    )
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="galexplore-import-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    load_before = load()
    result = {
        "what": "import-embeddings of N vectors of D float32 into a catalog-only survey; "
        "then project (PCA) and serve",
        "n": args.n,
        "dim": args.dim,
        "vectors_gb": round(args.n * args.dim * 4 / 1e9, 2),
        "goal": "import <= 60 s and peak RSS <= 2x the vectors' size",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, shared",
        "load_average_before": load_before,
    }
    RESULTS.mkdir(exist_ok=True)
    name = "import.json" if (args.n, args.dim) == (1_000_000, 1024) else f"import_{args.n}x{args.dim}.json"

    def save() -> None:  # after every phase: a long run stopped midway keeps what it measured
        result["load_average_now"] = load()
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")

    try:
        if args.reuse and (root / "survey" / "survey.json").is_file():
            result["inputs"] = {"reused": str(root)}
        else:
            result["inputs"] = make_inputs(root, args.n, args.dim)
        if args.skip_import:  # keep the import figures of the run that made the inputs
            result["import"] = (
                json.loads((RESULTS / name).read_text()).get("import", {})
                if (RESULTS / name).exists()
                else {}
            )
        else:
            result["import"] = {}
            for fmt in ("parquet", "npy"):
                result["import"][fmt] = import_one(root, fmt, args.n, args.dim)
                save()
        result["project"] = project(root / "run_parquet", args.project)
        save()
        if not args.skip_serve:
            result["serve"] = serve(root, root / "run_parquet")
    finally:
        result["load_average_after"] = load()
        save()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
