"""Training throughput: the full pipeline against the model step alone, in the same run.

    python bench/train.py [--survey SURVEY | --n 2000] [--steps 30] [--device auto]

*full*: read a shuffled batch from the (cached) survey arrays, copy it to the device,
augment two views on the device and take one optimizer step, exactly as the training loop
does (the next batch is read and augmented in a background thread while the model steps).
*model-only*: the same optimizer step on views augmented beforehand. Both run in
alternating blocks in one process (so a busy machine slows both alike) and are reported in
galaxies per second (medians over the rounds, since other jobs on a shared machine upset
single blocks), with their ratio (target on CPU: full ≥ 0.8 × model-only). The full
pipeline without the background prefetch is measured alongside, for comparison.

Writes ``bench/results/train.json`` (one entry per device measured).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent


def measure(survey, device: str, steps: int, rounds: int, batch_size: int) -> dict:
    from galexplore.training.config import TrainConfig
    from galexplore.training.data import prefetch
    from galexplore.training.loop import _Trainer
    from galexplore.training.setup import fit_normalisation

    cfg = TrainConfig(device=device, batch_size=batch_size, epochs=100)
    tr = _Trainer(survey, Path(tempfile.mkdtemp()), cfg, None)
    tr.build(fit_normalisation(tr.data, tr.model_config, cfg.seed))
    tr.model.train()
    sync = torch.cuda.synchronize if tr.cuda else (lambda: None)
    gen = torch.Generator().manual_seed(0)

    def batches():
        while True:
            yield from tr.data.batches(tr.train_rows, tr.batch_size, gen, drop_last=True)

    stream = batches()
    # Views prepared beforehand for the model-only measurement.
    pre = [tr._views(next(stream))[1] for _ in range(steps)]

    def full(n, background=True):
        # Exactly the training loop's path: with ``background`` (TrainConfig.prefetch, the
        # default) the next batch is read and augmented in a worker thread while the model steps.
        for _, views in prefetch(itertools.islice(stream, n), tr._views, enabled=background):
            float(tr.step(views))  # the loop reads every step's loss, as here

    def model_only(n):
        for i in range(n):
            float(tr.step(pre[i % len(pre)]))

    blocks = {"full": full, "full_no_prefetch": lambda n: full(n, False), "model_only": model_only}
    for f in blocks.values():
        f(3)  # warm-up
    per_round = {name: [] for name in blocks}
    for _ in range(rounds):  # alternate, so that a change of machine load hits every mode alike
        for name, f in blocks.items():
            sync()
            t0 = time.perf_counter()
            f(steps)
            sync()
            per_round[name].append(steps * tr.batch_size / (time.perf_counter() - t0))
    # Medians over rounds: other jobs on a shared machine make single blocks unreliable.
    rate = {k: float(np.median(v)) for k, v in per_round.items()}
    ratios = np.array(per_round["full"]) / np.array(per_round["model_only"])
    ratios_np = np.array(per_round["full_no_prefetch"]) / np.array(per_round["model_only"])
    return {
        "device": str(tr.device),
        "device_name": torch.cuda.get_device_name()
        if tr.cuda
        else platform.processor() or platform.machine(),
        "prefetch": True,
        "mixed_precision": tr.cuda,
        "channels_last": tr.cuda,
        "batch_size": tr.batch_size,
        "steps_measured": rounds * steps,
        "model": {
            k: tr.model_config[k]
            for k in ("family", "modality", "encoders", "loss", "auxiliary", "reconstruction")
            if k in tr.model_config
        },
        "full_pipeline_samples_per_s": round(rate["full"], 1),
        "model_only_samples_per_s": round(rate["model_only"], 1),
        "ratio_full_over_model": round(float(np.median(ratios)), 3),
        "full_without_prefetch_samples_per_s": round(rate["full_no_prefetch"], 1),
        "ratio_without_prefetch": round(float(np.median(ratios_np)), 3),
        "ratio_per_round": [round(float(r), 3) for r in ratios],
        "statistic": "medians over the rounds of per-round rates and of per-round ratios",
        "unit": "galaxies per second (each galaxy = two augmented views)",
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--survey", help="an existing survey (default: synthesise --n galaxies)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=10, help="steps per block")
    ap.add_argument(
        "--rounds",
        type=int,
        default=9,
        help="alternating blocks of full / full without prefetch / model-only",
    )
    ap.add_argument("--batch-size", type=int, default=64, help="default: TrainConfig().batch_size")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's own choice)"
    )
    ap.add_argument("--out", default=str(HERE / "results" / "train.json"))
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    from galexplore.artifacts.atomic import write_json
    from galexplore.data import open_survey
    from galexplore.data.synthetic import synthesize

    if args.survey:
        survey = open_survey(args.survey)
    else:
        survey = synthesize(args.n, Path(tempfile.mkdtemp()) / "survey", seed=0)
    devices = (
        ["cpu", "cuda"]
        if args.device == "auto" and torch.cuda.is_available()
        else ["cpu" if args.device == "auto" else args.device]
    )
    results = {}
    for dev in devices:
        results[dev] = measure(survey, dev, args.steps, args.rounds, args.batch_size)
        print(json.dumps(results[dev], indent=2), file=sys.stderr)
    if "cuda" not in results:
        results["cuda"] = {
            "measured": False,
            "note": "no CUDA device was available to this run; the CUDA path "
            "(AMP, channels-last, pinned memory) is unmeasured",
        }
    out = {
        "benchmark": "training throughput, full pipeline vs model step alone",
        "survey": {"path": str(survey.path), "n_galaxies": survey.n_galaxies},
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "target": "full >= 0.8 x model-only on CPU",
        "results": results,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_json(args.out, out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
