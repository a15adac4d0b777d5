"""Bounded load test of the dashboard: 20 browser sessions on one ``galexplore serve``, on localhost.

What it does (fixed counts, every wait bounded; about 5 minutes on the 2-core machine):

1. ``galexplore synth --n 400`` and a run made by ``galexplore.testing.radial_pca_run`` (PCA of
   the maps' radial means as embeddings, its first two components as the projection);
   ``galexplore serve`` on 127.0.0.1 in a subprocess.
2. One headless Chromium (Debian's, ``/usr/bin/chromium``) with ``--sessions`` contexts, each a
   page of the dashboard, all driven at once with Playwright's async API.
3. ``steady`` phase: every session, ``--rounds`` times: colour-by another column, clear, a
   lasso of a session-specific size (drawn through CDP mouse events, the press and the first
   moves sent together as a hand makes them; a lost one records the page's gesture trace),
   k-means with a session-specific k. Each interaction is
   timed from the action to the page showing its result (the map's title naming the column;
   the gallery header's count; the cluster status naming method and k).
4. Leak check: every page must show what *its* session did last (colour-by, k and cluster
   status, selected count) and each lasso count must lie within the count computed
   independently from ``projection.parquet`` for that polygon (±1 pixel).
5. ``long`` phase: session 0 starts a long recompute (``--long-method``, default a Gaussian
   mixture with k=30); while it is busy every other session changes colour and draws a lasso.
   Their latencies are compared with the steady phase, and we count how many finished before
   session 0's clusters arrived (a blocked event loop would hold all of them back).

Errors counted: console errors and uncaught page errors of every page, interactions that timed
out, and tracebacks / ERROR lines in the server log. Results: ``bench/results/load.json``.

    python bench/load.py [--sessions 20] [--rounds 2] [--n 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load_session import LoadSession, Timing  # noqa: E402

from galexplore.analysis.clustering import METHODS  # noqa: E402
from galexplore.testing import ServerProcess, expected_counts, radial_pca_run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1500, "height": 1300}


# -- setup --------------------------------------------------------------------------------------
def plan(i: int, rounds: int, colours: list[str]) -> list[tuple[str, float, int]]:
    """Session ``i``'s (colour-by, lasso size, k) for each round; neighbours differ in all three."""
    out, colour, k = [], "log_ssfr", 5  # the page opens coloured by log_ssfr with k-means k=5
    for r in range(rounds):
        j = i * rounds + r
        nxt = colours[j % len(colours)]
        colour = nxt if nxt != colour else colours[(j + 1) % len(colours)]
        nk = 2 + j % 29
        k = nk if nk != k else nk + 1
        out.append((colour, round(0.12 + 0.02 * ((i + 5 * r) % 12), 2), k))
    return out


async def steady(s: LoadSession, script, xy: np.ndarray, bounds: list) -> None:
    s.phase = "steady"
    try:
        for colour, frac, k in script:
            await s.colour_by(colour)
            await s.clear()
            n, pixels, plot = await s.lasso(frac)
            lo, hi = expected_counts(xy, plot, pixels)
            bounds.append(
                {
                    "session": s.index,
                    "frac": frac,
                    "shown": n,
                    "expected_lo": lo,
                    "expected_hi": hi,
                    "ok": lo <= n <= hi,
                }
            )
            await s.recompute("kmeans", k)
    except Exception as exc:  # outside a timed wait: record it, let the other sessions go on
        s.errors.append(f"script: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")


async def leak_check(s: LoadSession) -> dict:
    """What the page shows now against what this session did last."""
    page = s.page
    shown = {
        "colour": await page.locator(".gx-color-by select").input_value(),
        "k": await page.locator(".gx-cluster-k input").input_value(),
        "cluster_status": (await s.text(".gx-cluster-status")).strip(),
        "header": (await s.text(".gx-gallery-header")).strip(),
    }
    m = re.search(r"([\d,]+) selected \(lasso\)", shown["header"])
    count = int(m[1].replace(",", "")) if m else None
    did = {"colour": None, "cluster": "?", "lasso": None, **s.done}
    ok = (
        shown["colour"] == did["colour"]
        and shown["k"] == did["cluster"].split("k=")[-1]
        and f"({did['cluster']})" in shown["cluster_status"]
        and count == did["lasso"]
    )
    return {"session": s.index, "did": dict(s.done), "shows": shown, "ok": ok}


async def ping(url: str, seconds: float | None = None, until: asyncio.Task | None = None) -> list[float]:
    """HTTP round trips (ms) to the server every 0.2 s: Tornado answers them on the same event
    loop as the sessions' websockets, so a blocked loop shows here directly."""
    import urllib.error
    import urllib.request

    def once() -> float:
        t = time.perf_counter()
        try:
            urllib.request.urlopen(url, timeout=30).read()
        except urllib.error.HTTPError:
            pass  # a 404 is an answer too
        return (time.perf_counter() - t) * 1000

    out, t_end = [], time.perf_counter() + (seconds or 1e9)
    while time.perf_counter() < t_end and not (until is not None and until.done()):
        out.append(round(await asyncio.to_thread(once), 1))
        await asyncio.sleep(0.2)
    return out


def ping_stats(ms: list[float]) -> dict:
    a = np.array(ms) if ms else np.array([np.nan])
    return {
        "n": len(ms),
        "p50_ms": round(float(np.nanpercentile(a, 50)), 1),
        "p95_ms": round(float(np.nanpercentile(a, 95)), 1),
        "max_ms": round(float(np.nanmax(a)), 1),
    }


async def long_phase(
    sessions: list[LoadSession], method: str, k: int, colours: list[str], ping_url: str
) -> dict:
    """Session 0 recomputes with ``method``; the others colour and lasso meanwhile."""
    first, others = sessions[0], sessions[1:]
    idle_pings = await ping(ping_url, seconds=5)
    for s in sessions:
        s.phase = "during_long"
    long_task = asyncio.create_task(first.recompute(method, k, timeout_s=400))
    pings = asyncio.create_task(ping(ping_url, until=long_task))
    t_busy = time.perf_counter()
    busy = asyncio.create_task(first.wait_text(".gx-cluster-recompute", "Clustering", timeout_s=120))
    await asyncio.wait({busy, long_task}, return_when=asyncio.FIRST_COMPLETED)  # the button says it is busy
    busy_seen = busy.done() and not busy.exception()
    busy.cancel()
    busy_after_ms = (time.perf_counter() - t_busy) * 1000

    async def meanwhile(s: LoadSession) -> None:
        try:  # a colour this session already rendered (no first-render cost in the comparison)
            current = s.done.get("colour")
            await s.colour_by(next(c for c in s.coloured + colours if c != current))
            await s.clear()
            await s.lasso(0.2)
        except Exception as exc:
            s.errors.append(f"script: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")

    await asyncio.gather(*(meanwhile(s) for s in others))
    others_done = time.perf_counter()
    still_busy = not long_task.done()
    await long_task
    busy_pings = await pings
    long = first.timings[-1]
    long_end = first.clock0 + long.start_s + long.latency_ms / 1000
    during = [t for s in others for t in s.timings if t.phase == "during_long"]
    ended_before = sum(1 for t in during if first.clock0 + t.start_s + t.latency_ms / 1000 < long_end)
    return {
        "method": method,
        "k": k,
        "session0_recompute_ms": long.latency_ms,
        "session0_ok": long.ok,
        "busy_indicator_seen": busy_seen,
        "others_started_after_ms": round(busy_after_ms, 1),
        "other_interactions": len(during),
        "other_interactions_ended_before_long_finished": ended_before,
        "all_others_finished_while_long_still_running": still_busy,
        "others_finished_ms_before_long": round((long_end - others_done) * 1000, 1),
        "server_http_ping_idle": ping_stats(idle_pings),
        "server_http_ping_during_long": ping_stats(busy_pings),
    }


# -- statistics -------------------------------------------------------------------------------------
def summarise(timings: list[Timing]) -> dict:
    def stats(ts: list[Timing]) -> dict:
        lat = np.array([t.latency_ms for t in ts if t.ok])
        out = {"n": len(ts), "failed": sum(not t.ok for t in ts)}
        if lat.size:
            out.update(
                p50_ms=round(float(np.percentile(lat, 50)), 1),
                p95_ms=round(float(np.percentile(lat, 95)), 1),
                max_ms=round(float(lat.max()), 1),
            )
        for key in ("browser_task_ms", "browser_script_ms"):  # the page's own main-thread time
            spent = [getattr(t, key) for t in ts if t.ok and getattr(t, key) is not None]
            if spent:
                out[f"{key[:-3]}_p50_ms"] = round(float(np.median(spent)), 1)
        return out

    result = {}
    for phase in sorted({t.phase for t in timings}):
        ts = [t for t in timings if t.phase == phase]
        per = {kind: stats([t for t in ts if t.kind == kind]) for kind in sorted({t.kind for t in ts})}
        per["all_interactions"] = stats([t for t in ts if t.kind != "page_load"])
        result[phase] = per
    return result


# -- main -----------------------------------------------------------------------------------------------
async def drive(url: str, args, xy: np.ndarray, colours: list[str]) -> dict:
    """Open the sessions and run the phases, each within what is left of ``args.budget`` seconds.

    A phase that overruns is cut short and named in ``unfinished``; what was measured until
    then is kept (the JSON is always written).
    """
    from playwright.async_api import async_playwright

    phases, bounds, leaks, long, unfinished = {}, [], [], {}, []
    deadline = time.perf_counter() + args.budget

    async def phase(name: str, coro, reserve: float = 0.0):
        t = time.perf_counter()
        left = deadline - t - reserve
        if left < 20:  # a gather() has already scheduled its tasks: cancel them; a coroutine: close it
            coro.cancel() if isinstance(coro, asyncio.Future) else coro.close()
            unfinished.append(f"{name} (not started: budget spent)")
            return None
        try:
            return await asyncio.wait_for(coro, timeout=left)
        except TimeoutError:
            unfinished.append(f"{name} (cut at the {args.budget:.0f} s budget)")
            return None
        finally:
            phases[f"{name}_s"] = round(time.perf_counter() - t, 1)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        clock0 = time.perf_counter()
        sessions = []
        for i in range(args.sessions):
            ctx = await browser.new_context(viewport=VIEWPORT)
            page = await ctx.new_page()
            page.set_default_timeout(120_000)  # clicks and selects wait for a loaded page this long
            s = LoadSession(i, page, clock0)
            s.watch_errors()
            await s.enable_metrics()
            sessions.append(s)
        await phase("load", asyncio.gather(*(s.open(url) for s in sessions)), reserve=0.4 * args.budget)
        await phase(
            "steady",
            asyncio.gather(*(steady(s, plan(s.index, args.rounds, colours), xy, bounds) for s in sessions)),
            reserve=60,
        )
        leaks = await phase("leak_check", asyncio.gather(*(leak_check(s) for s in sessions))) or []
        ping_url = url.rsplit("/", 1)[0] + "/gx-ping"
        long = (
            await phase("long", long_phase(sessions, args.long_method, args.long_k, colours, ping_url)) or {}
        )
        browser_cpu = cpu_seconds(comm_prefix="chromium")
        await browser.close()
    timings = [t for s in sessions for t in s.timings]
    return {
        "phases": phases,
        "timings": timings,
        "lasso_bounds": bounds,
        "leaks": leaks,
        "long": long,
        "unfinished": unfinished,
        "page_errors": {s.index: s.errors for s in sessions if s.errors},
        "browser_cpu_s": browser_cpu,
    }


def cpu_seconds(*, pids: list[int] | None = None, comm_prefix: str | None = None) -> float:
    """CPU seconds (user + system) used so far by the given processes and their children, or
    by every process whose name starts with ``comm_prefix`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        pid, ppid = int(stat.parent.name), int(fields[1])
        mine = (comm_prefix is not None and comm.startswith(comm_prefix)) or (
            pids is not None and (pid in pids or ppid in pids)
        )
        if mine:
            total += (int(fields[11]) + int(fields[12])) / tick
    return round(total, 1)


def standalone_cluster_ms(survey: Path, run: Path, method: str, k: int) -> float:
    """The long clustering alone, in this process (what session 0 waits for, without the server)."""
    from galexplore.analysis.clustering import Clusterer
    from galexplore.dashboard.app import load_data
    from galexplore.dashboard.views.clusters import clustering_space

    space, X = clustering_space(load_data(survey, run))
    t = time.perf_counter()
    Clusterer(method, k, space=space, random_state=0).fit(X)
    return round((time.perf_counter() - t) * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument(
        "--rounds", type=int, default=1, help="repeats of the colour/lasso/cluster script per session"
    )
    p.add_argument("--n", type=int, default=400, help="galaxies in the synthetic survey")
    p.add_argument("--long-method", default="gmm", choices=METHODS)
    p.add_argument("--long-k", type=int, default=30)
    p.add_argument(
        "--budget", type=float, default=480, help="seconds for the browser phases (cut short beyond)"
    )
    p.add_argument("--num-procs", type=int, default=1, help="server processes (galexplore serve --num-procs)")
    p.add_argument("--out", type=Path, default=RESULTS / "load.json")
    p.add_argument("--server-log", type=Path, default=None, help="also keep the server's log here")
    args = p.parse_args(argv)
    load_start = os.getloadavg()
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="galexplore-load-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "galexplore", "synth", "--n", str(args.n), "--out", str(tmp / "survey")],
            check=True,
            capture_output=True,
        )
        radial_pca_run(tmp / "survey", tmp / "run")
        setup_s = round(time.perf_counter() - t, 1)
        long_alone_ms = standalone_cluster_ms(tmp / "survey", tmp / "run", args.long_method, args.long_k)

        from galexplore.dashboard.app import load_data
        from galexplore.dashboard.state import color_choices

        data = load_data(tmp / "survey", tmp / "run")
        colours = [c for c in color_choices(data) if c != "log_ssfr"]
        xy = np.asarray(data.xy, dtype=np.float64)
        server = ServerProcess(
            tmp / "survey", tmp / "run", tmp / "server.log", extra_args=["--num-procs", str(args.num_procs)]
        )
        try:
            t = time.perf_counter()
            server.wait_ready()
            ready_s = round(time.perf_counter() - t, 1)
            t_drive = time.perf_counter()
            out = asyncio.run(drive(server.url, args, xy, colours))
            drive_s = time.perf_counter() - t_drive
            server_cpu = cpu_seconds(pids=[server.proc.pid])
        finally:
            server.stop()
            log = server.log_path.read_text()
            if args.server_log:
                args.server_log.write_text(log)
    timings = out.pop("timings")
    summary = summarise(timings)
    tracebacks = log.count("Traceback")
    error_lines = [ln for ln in log.splitlines() if "ERROR" in ln][:20]
    result = {
        "benchmark": "dashboard load: concurrent browser sessions on one server (localhost)",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_start": [round(v, 2) for v in load_start],
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
        },
        "config": {
            "sessions": args.sessions,
            "rounds": args.rounds,
            "galaxies": args.n,
            "budget_s": args.budget,
            "long_recompute": f"{args.long_method} k={args.long_k}",
            "poll_ms": 100,
            "browser": "one headless Chromium, one context per session",
            "address": "127.0.0.1",
            "server_processes": args.num_procs,
        },
        "durations_s": {
            "setup": setup_s,
            "server_ready": ready_s,
            **out["phases"],
            "total": round(time.perf_counter() - t_all, 1),
        },
        "unfinished_phases": out["unfinished"],
        "cpu_s": {
            "server": server_cpu,
            "chromium": out["browser_cpu_s"],
            "wall_s": round(drive_s, 1),
            "cores_x_wall_s": round(drive_s * (os.cpu_count() or 1), 1),
            "note": "CPU seconds (user + system) of the server process(es) and of every Chromium process "
            "while the browser phases ran: who used the machine",
        },
        "latency": summary,
        "long_recompute": {**out["long"], "same_clustering_alone_in_process_ms": long_alone_ms},
        "errors": {
            "page_errors_and_timeouts": out["page_errors"],
            "n_page_errors": sum(map(len, out["page_errors"].values())),
            "server_tracebacks": tracebacks,
            "server_error_lines": error_lines,
        },
        "leak_check": {
            "sessions_ok": sum(x["ok"] for x in out["leaks"]),
            "sessions": len(out["leaks"]),
            "lasso_counts_within_independent_bounds": sum(b["ok"] for b in out["lasso_bounds"]),
            "lassos": len(out["lasso_bounds"]),
            "details": out["leaks"],
            "lasso_details": out["lasso_bounds"],
        },
        "timings": [t.__dict__ for t in timings],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps({k: result[k] for k in ("durations_s", "latency", "long_recompute")}, indent=1))
    print(
        json.dumps(
            {
                "errors": {k: v for k, v in result["errors"].items() if k != "page_errors_and_timeouts"},
                "leaks_ok": result["leak_check"]["sessions_ok"],
                "unfinished": out["unfinished"],
                "machine": result["machine"],
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
