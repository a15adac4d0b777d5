"""``galexplore evaluate``: score runs' embeddings against the survey's truths, one run or several side by side."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._analysis import unit_float
from galexplore.cli._common import non_negative_int, positive_int, progress_bar
from galexplore.evaluation import BASELINES

DESCRIPTION = """\
Score the embeddings of each RUN against the truths in SURVEY's catalog and write
RUN/metrics.json and RUN/report/ (report.md plus PNG figures):
  - held-out k-NN R² (AstroCLIP's protocol: standardised embeddings, distance-weighted k-NN)
    and a linear probe for every standard property and structural truth;
  - for every label column (sf_class, morph_type, has_bar, and label, label_coarse or class
    when present, or the --labels columns): accuracy, balanced accuracy and macro-F1 of a k-NN
    probe and of a linear probe (logistic regression with class_weight='balanced');
  - the same scores for the pixel_pca, random_init (the encoder untrained) and radial_profile
    baselines on the same split. A baseline that cannot be computed is skipped, and
    metrics.json and the report say why: a catalog-only survey has no pixels, and a run made
    by import-embeddings or embed --pretrained has no encoder.pt to re-initialise;
  - label efficiency (Hayat et al.): linear probes on 1 %, 10 % and 100 % of the training
    labels, and with --supervised-baseline the run's encoder architecture trained from scratch
    on those labels (cross-entropy; CPU or CUDA; minutes per label column on a CPU);
  - photo-z sigma_MAD and outlier fraction when the catalog has z (Hayat et al.);
  - the ranking of properties by distance correlation with the embedding;
  - the adjusted Rand index of k = 2 and k = 3 k-means clusters against sf_class.
The split is drawn over the survey's galaxies, so every run is tested on the same galaxies.

Several RUNs (trained, imported or pretrained): each is evaluated as above, then one table puts
them side by side with the baselines (k-NN R² per property; per label k-NN and linear accuracy,
balanced accuracy and macro-F1; the best of each column in bold). It is printed, and with
--out DIR also written to DIR/comparison.md, DIR/comparison.csv (one row per method) and
DIR/comparison.json. A single RUN prints a short summary instead (--out writes its table too).
"""

EPILOG = """\
examples:
  galexplore evaluate survey/ runs/maps
  galexplore evaluate survey/ runs/maps --seed 1 --test-fraction 0.3 --labels sf_class has_bar
  galexplore evaluate gz1/ runs/images --labels label_coarse --supervised-baseline
  galexplore evaluate survey/ runs/maps runs/astroclip runs/zoobot --out comparison/
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="metrics.json and a report: k-NN R², accuracy, baselines; several runs side by side",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("survey", metavar="SURVEY", help="survey directory whose catalog holds the truths")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories with embeddings.parquet")
    p.add_argument(
        "--out", metavar="DIR", help="also write the side-by-side table to DIR/comparison.{md,csv,json}"
    )
    p.add_argument("--modality", help="which embedding of a run that holds several")
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the split, baselines and clusters (default: 0)",
    )
    p.add_argument("--k", type=positive_int, default=16, help="neighbours of the k-NN probes (default: 16)")
    p.add_argument(
        "--test-fraction", type=unit_float, default=0.2, help="share of galaxies held out (default: 0.2)"
    )
    p.add_argument(
        "--labels",
        nargs="+",
        metavar="COLUMN",
        help="label columns to classify (default: sf_class morph_type has_bar label label_coarse class, where present)",
    )
    p.add_argument(
        "--baselines",
        nargs="*",
        metavar="NAME",
        choices=BASELINES,
        default=list(BASELINES),
        help=f"baselines to score (default: {' '.join(BASELINES)}; none: --baselines with no name)",
    )
    p.add_argument(
        "--supervised-baseline",
        nargs="*",
        metavar="COLUMN",
        help="train the run's encoder architecture on 1/10/100 %% of the labels of these label columns "
        "(all scored ones when none is named); slow: see docs/analysis.md",
    )
    p.add_argument(
        "--supervised-steps",
        type=positive_int,
        metavar="N",
        help="at most N optimiser steps per supervised training (default: 600)",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="device of the supervised baseline (default: auto)",
    )
    p.add_argument("--no-report", action="store_true", help="write metrics.json only (no RUN/report/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.errors import GalexploreError
    from galexplore.evaluation.compare import compare_runs, markdown, write_comparison

    if not 0 < args.test_fraction < 1:
        raise GalexploreError(f"--test-fraction must be strictly between 0 and 1, got {args.test_fraction}")
    if args.supervised_baseline is None and args.supervised_steps is not None:
        raise GalexploreError("--supervised-steps applies to --supervised-baseline, which was not given")
    sup = args.supervised_baseline
    options = {"device": args.device}
    if args.supervised_steps is not None:
        options.update(max_steps=args.supervised_steps, min_steps=min(args.supervised_steps, 100))
    if args.out:
        from galexplore.artifacts.atomic import check_writable

        check_writable(f"{args.out}/comparison.md")  # a bad --out fails before minutes of work
    with progress_bar(args, unit="stage") as progress:
        comp = compare_runs(
            args.survey,
            args.runs,
            modality=args.modality,
            seed=args.seed,
            k=args.k,
            test_fraction=args.test_fraction,
            labels=args.labels,
            baselines=args.baselines,
            supervised_baseline=(True if sup == [] else sup) or False,
            supervised_options=options,
            write_report=not args.no_report,
            progress=progress,
        )
    print(summary(next(iter(comp.metrics.values()))) if len(args.runs) == 1 else markdown(comp))
    for r in comp.metrics:
        print(f"wrote {r}/metrics.json" + ("" if args.no_report else f" and {r}/report/"), file=sys.stderr)
    if args.out:
        paths = write_comparison(comp, args.out)
        print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0


def summary(m: dict) -> str:
    """A short plain-text digest of one run's metrics: R² against baselines, labels, clusters."""

    def f(v):
        return "  –  " if v is None else f"{v:5.2f}"

    base = list(m["baselines"])
    w = max([14, *map(len, base)])
    lines = [f"{'k-NN R²':<16} {'embed':>5} " + " ".join(f"{b:>{w}}" for b in base)]
    for p in m["properties"]["standard"] + m["properties"]["structural"]:
        lines.append(
            f"{p:<16} {f(m['knn_r2'].get(p))} "
            + " ".join(f"{f(m['baselines'][b].get(p)):>{w}}" for b in base)
        )
    for col, acc in m.get("knn_accuracy", {}).items():
        s = m.get("classification", {}).get(col, {})
        knn, lin = s.get("knn", {}), s.get("linear_probe", {})
        lines.append(
            f"accuracy {col}: {f(acc).strip()} (balanced {f(knn.get('balanced_accuracy')).strip()}, "
            f"macro-F1 {f(knn.get('macro_f1')).strip()}, weighted F1 {f(m['knn_f1_weighted'][col]).strip()}; "
            f"linear probe {f(lin.get('accuracy')).strip()}, balanced {f(lin.get('balanced_accuracy')).strip()})"
        )
    if m.get("photo_z"):
        lines.append(
            f"photo-z: sigma_MAD {m['photo_z']['sigma_mad']:.4f}, outliers {m['photo_z']['outlier_fraction']:.3f}"
        )
    for k, ari in m.get("clusters", {}).items():
        lines.append(
            f"k={k} clusters vs sf_class: ARI {f(ari).strip()}"
            + (" (green valley left out)" if k == "2" else "")
        )
    top = [r["property"] for r in m.get("correlation_ranking", {}).get("ranking", [])[:6]]
    if top:
        lines.append("most encoded: " + " > ".join(top))
    for what, why in {**m.get("baselines_skipped", {}), **m.get("skipped", {})}.items():
        lines.append(f"not computed: {what}: {why}")
    return "\n".join(lines)
