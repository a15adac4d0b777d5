"""What the label metrics of ``evaluate`` cost, and the supervised CNN baseline, on a real survey.

Runs :func:`galexplore.evaluation.evaluate.evaluate` on SURVEY / RUN twice: as ``galexplore
evaluate`` does by default (label metrics and the linear-probe label-efficiency table included),
then with ``supervised_baseline`` (the run's encoder architecture trained on 1 %, 10 % and 100 %
of the labels of each label column). It records wall and CPU seconds per stage, the supervised
trainings (steps, seconds, parameters, device), the machine and its load average before and
after, and the classification scores, in ``bench/results/evaluate_labels_<name>.json``.
It reports; it does not pass or fail. On a shared machine the wall time depends on the load:
compare CPU seconds, and runs measured side by side.

    python bench/evaluate_labels.py SURVEY RUN [--labels label_coarse] [--device cpu] [--name gz1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def timed_evaluate(survey, run, **kwargs) -> tuple[dict, dict]:
    from galexplore.evaluation.evaluate import evaluate

    t0, c0, stages = time.perf_counter(), time.process_time(), []

    def progress(done, total, stage):
        stages.append(
            {
                "stage": stage,
                "done": done,
                "total": total,
                "wall_s": round(time.perf_counter() - t0, 1),
                "cpu_s": round(time.process_time() - c0, 1),
            }
        )

    metrics = evaluate(survey, run, write_report=False, progress=progress, **kwargs)
    cost = {
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "stages": [s for s in stages if s["stage"] == "evaluate"],
    }
    return metrics, cost


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("survey")
    ap.add_argument("run")
    ap.add_argument("--labels", nargs="+")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--name", default=None)
    ap.add_argument(
        "--skip-plain", action="store_true", help="measure the run with the supervised baseline only"
    )
    args = ap.parse_args()
    options = {"device": args.device} | ({"max_steps": args.max_steps} if args.max_steps else {})
    out = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "survey": args.survey,
        "run": args.run,
        "machine": {
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "cuda": torch.cuda.is_available(),
        },
        "load_before": os.getloadavg(),
    }
    if not args.skip_plain:
        _, out["default"] = timed_evaluate(args.survey, args.run, labels=args.labels)
    metrics, out["supervised"] = timed_evaluate(
        args.survey, args.run, labels=args.labels, supervised_baseline=True, supervised_options=options
    )
    out["load_after"] = os.getloadavg()
    out["supervised_cnn"] = metrics["label_efficiency_classification"].get("supervised_cnn")
    out["skipped"] = metrics.get("skipped")
    out["label_classes"] = metrics["label_classes"]
    out["classification"] = metrics["classification"]
    out["baselines_classification"] = metrics["baselines_classification"]
    out["label_efficiency_classification"] = metrics["label_efficiency_classification"]["labels"]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"evaluate_labels_{args.name or Path(args.survey).name}.json"
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("default", "supervised", "supervised_cnn") if k in out}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
