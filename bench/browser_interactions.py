"""One browser session's interaction latencies, this tree against an older commit, side by side.

``bench/interactions.py`` times the server's share of each interaction. This script times
what a user sees: a real ``galexplore serve`` on 127.0.0.1 and one headless Chromium page
(Debian's ``/usr/bin/chromium``, Playwright), driven through the same steps as the load test
(``bench/_load_session.py``): colour-by a numeric column, a lasso (timed from the mouse
release), clearing it, colour-by a class. Each latency comes with Chromium's main-thread time
for the page over the same interval (CDP ``Performance`` metrics: all tasks, and JavaScript).

With ``--against REF`` the server of every other round runs the commit REF (a temporary
``git worktree``); the browser and this script stay the same. Results:
``bench/results/browser_interactions.json``.

    python bench/browser_interactions.py [--n 400] [--rounds 2] [--against 7af0f60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load_session import LoadSession  # noqa: E402
from _side_by_side import ROOT, head_commit, survey_run_and_trees  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CHROMIUM = "/usr/bin/chromium"
STEPS = (
    ("colour_numeric", "log_mstar"),
    ("lasso", 0.25),
    ("clear", None),
    ("colour_numeric", "ew_ha"),
    ("lasso", 0.3),
    ("clear", None),
    ("colour_class", "sf_class"),
)


async def one_session(url: str) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = await (await browser.new_context(viewport={"width": 1500, "height": 1300})).new_page()
            s = LoadSession(0, page, time.perf_counter())
            s.watch_errors()
            await s.enable_metrics()
            await s.open(url)
            await asyncio.sleep(2.0)  # let the first page settle (warm-up, late renders)
            for kind, arg in STEPS:
                if kind == "lasso":
                    await s.lasso(arg)
                elif kind == "clear":
                    await s.clear()
                else:
                    await s.colour_by(arg)
                s.timings[-1].kind = kind
                await asyncio.sleep(0.5)
            if s.errors:
                raise RuntimeError(f"page errors: {s.errors}")
            return [t.__dict__ for t in s.timings]
        finally:
            await browser.close()


def serve_and_drive(tree: Path, survey: Path, run: Path, log: Path) -> list[dict]:
    """A server of ``tree``'s galexplore (run from that folder) and one page driven against it."""
    from galexplore.testing import ServerProcess

    cwd = os.getcwd()
    os.chdir(tree)  # ``python -m galexplore`` imports the package of the current folder first
    try:
        server = ServerProcess(survey, run, log)
    finally:
        os.chdir(cwd)
    try:
        server.wait_ready()
        return asyncio.run(one_session(server.url))
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=400, help="galaxies in the synthetic survey")
    p.add_argument("--rounds", type=int, default=2, help="sessions per tree (alternating)")
    p.add_argument("--against", default=None, help="a git ref whose server is measured side by side")
    p.add_argument("--out", type=Path, default=RESULTS / "browser_interactions.json")
    args = p.parse_args(argv)
    load_start = os.getloadavg()
    with survey_run_and_trees(args.n, args.against, "galexplore-browser-") as (survey, run, trees, tmp):
        runs: dict[str, list] = {name: [] for name in trees}
        for r in range(args.rounds):
            for name, tree in trees.items():
                runs[name].extend(
                    {**t, "round": r}
                    for t in serve_and_drive(tree, survey, run, tmp / f"{len(runs[name])}-server.log")
                )

    def med(ts: list[dict], key: str) -> float | None:
        vals = [t[key] for t in ts if t["ok"] and t.get(key) is not None]
        return round(statistics.median(vals), 1) if vals else None

    kinds = ["page_load", *dict.fromkeys(k for k, _ in STEPS)]
    summary = {
        name: {
            k: {
                "latency_ms": med([t for t in ts if t["kind"] == k], "latency_ms"),
                "browser_task_ms": med([t for t in ts if t["kind"] == k], "browser_task_ms"),
                "browser_script_ms": med([t for t in ts if t["kind"] == k], "browser_script_ms"),
                "n": sum(t["kind"] == k for t in ts),
                "failed": sum(t["kind"] == k and not t["ok"] for t in ts),
            }
            for k in kinds
        }
        for name, ts in runs.items()
    }
    result = {
        "benchmark": "one browser session's interaction latencies (real server, headless Chromium, localhost)",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_start": [round(v, 2) for v in load_start],
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
        },
        "config": {
            "galaxies": args.n,
            "rounds": args.rounds,
            "trees": list(trees),
            "steps": [list(s) for s in STEPS],
            "commit": head_commit(),
            "note": "lasso latency from the mouse release; browser_* = Chromium main-thread time of the page",
        },
        "median": summary,
        "timings": runs,
    }
    if args.against:
        result["latency_ratio_this_over_ref"] = {
            k: round(summary["this"][k]["latency_ms"] / summary[args.against][k]["latency_ms"], 3)
            for k in kinds
            if summary["this"][k]["latency_ms"] and summary[args.against][k]["latency_ms"]
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("median", "machine") if k in result}, indent=1))
    print(json.dumps(result.get("latency_ratio_this_over_ref", {}), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
