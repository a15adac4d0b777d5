"""Real images: does the default images encoder learn Galaxy Zoo morphology? (issue 17)

    python bench/real_images.py [--seeds 0 1 2] [--work DIR] [--data ../shared/data/real/gz1_images]

The gz1_images set (6,652 real SDSS gri renderings with Galaxy Zoo 1 classes) goes through the
product path with all defaults: ``ingest_images`` (central half of each frame, 64 px), then
for each seed ``train(TrainConfig(modality="images", seed=s))`` on every image (no labels are
used), ``embed``, and the same encoder untrained (random init, same seed). Every embedding and
the pixel baseline are scored on the 3-class task (elliptical / spiral / edge-on, n = 6,481)
with the protocol of ``gz1_images/README.md``: 5-fold StratifiedKFold (shuffle, random_state 0),

- kNN: k = 10, cosine, majority vote, on the embedding as it is;
- logistic regression on the standardised embedding (C = 0.1; pixel PCA: C = 1 after its PCA);
- pixel PCA64: the stored 64-px images flattened, StandardScaler + PCA(64) fitted in each fold.

Beside that protocol, which favours the majority class (70 % ellipticals), the same folds are
scored with a class-balanced logistic regression (``class_weight="balanced"``), and a balanced
spiral / non-spiral subset (all 848 spirals and as many others drawn at random, seed 0) is scored
with kNN and logistic regression, as a stand-in for balanced held-back sets.

Writes ``bench/results/real_images.json`` (with the load average before and after each
training) and ``bench/results/real_images.md``. Runs in ``--work`` are reused when complete.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "real" / "gz1_images"
CLASSES = ("elliptical", "spiral", "edge_on")
FOLDS, K = 5, 10


def folds(y: np.ndarray):
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def scores(X: np.ndarray, y: np.ndarray, *, pca: int | None = None) -> dict[str, dict[str, float]]:
    """Accuracy and balanced accuracy (mean ± std over the folds) of kNN and logistic regressions."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def front():
        return [StandardScaler(), PCA(pca, random_state=0)] if pca else []

    makers = {
        "knn": lambda: make_pipeline(*front(), KNeighborsClassifier(K, metric="cosine")),
        "logistic": lambda: make_pipeline(
            *(front() or [StandardScaler()]), LogisticRegression(C=1.0 if pca else 0.1, max_iter=3000)
        ),
        "logistic_balanced": lambda: make_pipeline(
            *(front() or [StandardScaler()]),
            LogisticRegression(C=1.0 if pca else 0.1, max_iter=3000, class_weight="balanced"),
        ),
    }
    out = {}
    for name, make in makers.items():
        acc, bal = [], []
        for tr, te in folds(y):
            p = make().fit(X[tr], y[tr]).predict(X[te])
            acc.append(accuracy_score(y[te], p))
            bal.append(balanced_accuracy_score(y[te], p))
        out[name] = {
            "accuracy": float(np.mean(acc)),
            "accuracy_std": float(np.std(acc)),
            "balanced_accuracy": float(np.mean(bal)),
            "balanced_accuracy_std": float(np.std(bal)),
        }
    return out


def spiral_subset(y: np.ndarray) -> np.ndarray:
    """Rows of a balanced spiral / non-spiral subset: every spiral and as many others (seed 0)."""
    rng = np.random.default_rng(0)
    spirals = np.flatnonzero(y == "spiral")
    others = rng.choice(np.flatnonzero(y != "spiral"), len(spirals), replace=False)
    return np.sort(np.concatenate([spirals, others]))


def all_scores(X: np.ndarray, y: np.ndarray, *, pca: int | None = None) -> dict:
    sub = spiral_subset(y)
    binary = np.where(y[sub] == "spiral", "spiral", "non-spiral")
    full = scores(X, y, pca=pca)
    two = scores(X[sub], binary, pca=pca)
    return {"three_class": full, "spiral_vs_non_spiral": {k: two[k] for k in ("knn", "logistic")}}


def ingest(data: Path, work: Path, log) -> Path:
    from galexplore.data import open_survey
    from galexplore.data.ingest import ingest_images

    out = work / "gz1"
    if (out / "survey.json").is_file():
        return out
    t0 = time.perf_counter()
    ingest_images(data / "images", data / "catalog.csv", out)
    log(f"ingested {open_survey(out).n_galaxies} images in {time.perf_counter() - t0:.0f} s")
    return out


def train_seed(survey, work: Path, seed: int, threads: int | None, log, loss: str | None = None) -> dict:
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.embed import embed
    from galexplore.training import TrainConfig, load_checkpoint, train

    run = work / (f"images_seed{seed}" if loss is None else f"images_{loss}_seed{seed}")
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    config = TrainConfig(modality="images", seed=seed, threads=threads, loss=loss)
    res = train(survey, run, config, resume=True)
    wall = time.perf_counter() - t0
    embed(survey, run, device="cpu")
    ckpt = load_checkpoint(run)
    hist = ckpt["history"]
    info = {
        "seed": seed,
        "epochs": res.epochs,
        "train_seconds_logged": float(sum(h["seconds"] for h in hist)),
        "wall_seconds_this_call": wall,
        "samples_per_s": float(np.median([h["samples_per_s"] for h in hist])),
        "precision": ckpt["training"].get("precision"),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "train_config": ckpt["train_config"],
    }
    log(
        f"seed {seed}: {res.epochs} epochs, "
        f"{info['train_seconds_logged'] / 60:.1f} min of training ({info['precision']})"
    )
    return {"info": info, "embedding": read_embeddings(run).get("images"), "run": run}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the gz1_images folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument(
        "--work", type=Path, default=None, help="keep the survey and runs here (reused when complete)"
    )
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument(
        "--loss",
        choices=["ntxent", "moco"],
        default=None,
        help="screen another loss than the images default (SimCLR's NT-Xent); runs go to "
        "WORK/images_LOSS_seedS (default: the defaults, as a user gets them)",
    )
    ap.add_argument("--out", type=Path, default=HERE / "results" / "real_images.json")
    args = ap.parse_args(argv)
    if not (args.data / "catalog.csv").is_file():
        print(f"{args.data}: no gz1_images catalog.csv (real survey files not present)", file=sys.stderr)
        return 2

    from galexplore.data import open_survey
    from galexplore.evaluation.baselines import random_init_embeddings

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    work = args.work or Path(tempfile.mkdtemp(prefix="gx_real_images_"))
    survey = open_survey(ingest(args.data, work, log))
    labels = survey.catalog["label_coarse"].astype(str).to_numpy()
    rows = np.flatnonzero(np.isin(labels, CLASSES))
    y = labels[rows]
    pixels = survey.read("images", np.arange(survey.n_galaxies))[rows].reshape(len(rows), -1)
    result = {
        "data": str(args.data),
        "n_images_trained": survey.n_galaxies,
        "n_scored": int(len(rows)),
        "classes": {c: int((y == c).sum()) for c in CLASSES},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "protocol": __doc__.split("Writes")[0].strip(),
        "loss": args.loss or "default",
        "pixel_pca64": all_scores(pixels, y, pca=64),
        "seeds": [],
    }
    log(f"pixel PCA64: {json.dumps(result['pixel_pca64']['three_class']['knn'])}")
    for seed in args.seeds:
        t = train_seed(survey, work, seed, args.threads, log, loss=args.loss)
        rand = random_init_embeddings(survey, t["run"], seed=seed)["images"]
        entry = {
            **t["info"],
            "trained": all_scores(t["embedding"][rows], y),
            "random_init": all_scores(rand[rows], y),
        }
        result["seeds"].append(entry)
        log(f"seed {seed}: trained {json.dumps(entry['trained']['three_class']['knn'])}")
        write(result, args.out)
    write(result, args.out)
    log(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def write(result: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, default=float))
    tmp.replace(out)
    out.with_suffix(".md").write_text(table(result))


def table(result: dict) -> str:
    seeds = result["seeds"]

    def cell(get) -> str:
        return _mean_std([get(s) for s in seeds]) if seeds else "–"

    lines = [
        f"# Real images: gz1_images, 3 classes (n = {result['n_scored']}), {len(seeds)} seed(s)",
        "",
        "| features | kNN acc. | kNN bal. acc. | logistic acc. | logistic bal. acc. | balanced logistic bal. acc. "
        "| spiral/non-spiral kNN | spiral/non-spiral logistic |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [
        ("trained (defaults)", lambda s, p: s["trained"][p[0]][p[1]][p[2]]),
        ("random init", lambda s, p: s["random_init"][p[0]][p[1]][p[2]]),
    ]
    paths = [
        ("three_class", "knn", "accuracy"),
        ("three_class", "knn", "balanced_accuracy"),
        ("three_class", "logistic", "accuracy"),
        ("three_class", "logistic", "balanced_accuracy"),
        ("three_class", "logistic_balanced", "balanced_accuracy"),
        ("spiral_vs_non_spiral", "knn", "balanced_accuracy"),
        ("spiral_vs_non_spiral", "logistic", "balanced_accuracy"),
    ]
    for name, get in rows:
        lines.append(
            f"| {name} | " + " | ".join(cell(lambda s, p=p, get=get: get(s, p)) for p in paths) + " |"
        )
    px = result["pixel_pca64"]
    lines.append("| pixel PCA64 | " + " | ".join(f"{px[a][b][c]:.3f}" for a, b, c in paths) + " |")
    if seeds:
        mins = [s["train_seconds_logged"] / 60 for s in seeds]
        loads = [f"{s['load_before'][0]:.1f}–{s['load_after'][0]:.1f}" for s in seeds]
        lines += [
            "",
            f"Training: {seeds[0]['epochs']} epochs on {result['n_images_trained']} images, "
            f"{_mean_std(mins)} min per seed "
            f"({seeds[0]['precision']}; 1-min load average before–after: {', '.join(loads)}).",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
