"""Server-side cost of each dashboard interaction, this tree against an older commit, in one run.

The load test (``bench/load.py``) times interactions from a browser: the server's work, the
websocket and Chromium's rendering together. This script isolates the server's share. It
builds a real session document (Bokeh models, HoloViews plots, Datashader) in-process, as the
server does for a browser tab, and times what each interaction costs there:

* ``page``: building one more session's page (``Explorer`` + template + document);
* ``colour_numeric``: colouring by another numeric column, each column the first time;
* ``colour_numeric_again``: the same columns a second time;
* ``colour_categorical``: numeric → ``sf_class`` → numeric (a change of kind);
* ``lasso``: a lasso polygon to every linked view updated; ``clear``: clearing it;
* ``zoom``: re-rendering the map for a new view range.

With ``--against REF`` the same measurements run on the commit REF (checked out with
``git worktree`` in a temporary folder), in child processes alternating with this tree's,
so a ratio is measured side by side on the same (shared, noisy) machine. Results:
``bench/results/interactions.json``.

    python bench/interactions.py [--n 400] [--rounds 2] [--against 7af0f60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _side_by_side import ROOT, head_commit, survey_run_and_trees  # noqa: E402

RESULTS = ROOT / "bench" / "results"


# -- child: measure one tree ------------------------------------------------------------------
def measure(survey: str, run: str) -> dict[str, list[float]]:
    """Milliseconds per interaction in a fresh session document of the imported galexplore."""
    import numpy as np
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from galexplore.dashboard.app import Explorer, load_data, warm_up
    from galexplore.dashboard.compute.selection import lasso_select
    from galexplore.dashboard.page import EXTENSIONS
    from galexplore.dashboard.state import color_choices, column_kind

    pn.extension(*EXTENSIONS)
    data = load_data(survey, run)
    warm_up(data, "all")  # what the server does before (and just after) its first page
    out: dict[str, list[float]] = {
        k: []
        for k in (
            "page",
            "colour_numeric",
            "colour_numeric_again",
            "colour_categorical",
            "lasso",
            "clear",
            "zoom",
        )
    }

    def page() -> tuple[Explorer, Document]:
        doc = Document()
        with set_curdoc(doc):
            explorer = Explorer(data)
            explorer.template().server_doc(doc)
        return explorer, doc

    page()  # the first page also imports and fills the server's caches
    t0 = time.perf_counter()
    explorer, doc = page()
    out["page"].append((time.perf_counter() - t0) * 1e3)
    state = explorer.state

    def timed(key: str, action) -> None:
        with set_curdoc(doc):
            t = time.perf_counter()
            action()
            out[key].append((time.perf_counter() - t) * 1e3)

    numeric = [c for c in color_choices(data) if column_kind(data, c) == "numeric" and c != state.color_by][
        :6
    ]
    for key in ("colour_numeric", "colour_numeric_again"):
        for column in numeric:
            timed(key, lambda c=column: setattr(state, "color_by", c))
    for _ in range(2):
        timed("colour_categorical", lambda: setattr(state, "color_by", "sf_class"))
        timed("colour_categorical", lambda: setattr(state, "color_by", numeric[0]))

    xy = np.asarray(data.xy, dtype=float)
    centre, spread = np.median(xy, axis=0), xy.std(axis=0)
    theta = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    for i in range(4):
        polygon = centre + (0.5 + 0.1 * i) * spread * np.c_[np.cos(theta), np.sin(theta)]
        assert len(lasso_select(xy, polygon)) > 0
        timed("lasso", lambda p=polygon: explorer.map._on_lasso(geometry=p))
        timed("clear", state.clear_selection)

    import holoviews as hv

    plot = next(iter(explorer.map._pane._plots.values()))[0]
    streams = [s for s in plot.streams if isinstance(s, hv.streams.RangeXY)]
    (x0, y0), (x1, y1) = xy.min(0).tolist(), xy.max(0).tolist()
    for i in range(1, 6):
        f = 0.85**i * 0.5
        cx, cy = (x0 + x1) / 2 + 0.02 * i * (x1 - x0), (y0 + y1) / 2
        ranges = {
            "x_range": (cx - f * (x1 - x0), cx + f * (x1 - x0)),
            "y_range": (cy - f * (y1 - y0), cy + f * (y1 - y0)),
        }

        def zoom(r=ranges):
            for s in streams:
                s.update(**r)
            hv.streams.Stream.trigger(streams)

        timed("zoom", zoom)
    return out


# -- parent: set up, alternate the trees, summarise --------------------------------------------
def child(tree: Path, survey: Path, run: Path) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from interactions import measure; import galexplore; "
        "print('FROM' + galexplore.__file__); print('RESULT' + json.dumps(measure(sys.argv[2], sys.argv[3])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "bench"), str(survey), str(run)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    if proc.returncode or not lines:
        raise RuntimeError(f"measuring {tree} failed:\n{proc.stderr[-3000:]}")
    origin = next(ln[len("FROM") :] for ln in proc.stdout.splitlines() if ln.startswith("FROM"))
    if not Path(origin).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the child measuring {tree} imported galexplore from {origin}")
    return json.loads(lines[-1][len("RESULT") :])


def summarise(runs: list[dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    keys = runs[0].keys()
    return {
        k: {
            "median_ms": round(statistics.median(v for r in runs for v in r[k]), 1),
            "n": sum(len(r[k]) for r in runs),
        }
        for k in keys
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--n", type=int, default=400, help="galaxies in the synthetic survey (with maps and images)"
    )
    p.add_argument("--rounds", type=int, default=2, help="child processes per tree (alternating)")
    p.add_argument("--against", default=None, help="a git ref to measure side by side (e.g. 7af0f60)")
    p.add_argument("--out", type=Path, default=RESULTS / "interactions.json")
    args = p.parse_args(argv)
    load_start = os.getloadavg()
    with survey_run_and_trees(args.n, args.against, "galexplore-interactions-") as (survey, run, trees, _tmp):
        runs: dict[str, list] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                runs[name].append(child(tree, survey, run))
    summary = {name: summarise(r) for name, r in runs.items()}
    result = {
        "benchmark": "server-side cost of dashboard interactions (in-process session document, no browser)",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_start": [round(v, 2) for v in load_start],
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
        },
        "config": {"galaxies": args.n, "rounds": args.rounds, "trees": list(trees), "commit": head_commit()},
        "median_ms": summary,
        "raw_ms": runs,
    }
    if args.against:
        result["ratio_this_over_ref"] = {
            k: round(summary["this"][k]["median_ms"] / summary[args.against][k]["median_ms"], 3)
            for k in summary["this"]
            if summary[args.against][k]["median_ms"] > 0
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("median_ms", "machine") if k in result}, indent=1))
    if "ratio_this_over_ref" in result:
        print(json.dumps(result["ratio_this_over_ref"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
