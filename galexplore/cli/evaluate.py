"""``galexplore evaluate``: score a run's embeddings against the survey's truths."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._analysis import unit_float
from galexplore.cli._common import non_negative_int, positive_int, progress_bar

DESCRIPTION = """\
Score the embeddings of RUN against the truths in SURVEY's catalog and write RUN/metrics.json
and RUN/report/ (report.md plus PNG figures):
  - held-out k-NN R² (AstroCLIP's protocol: standardised embeddings, distance-weighted k-NN)
    and a linear probe for every standard property and structural truth;
  - the same scores for the pixel_pca, random_init (the encoder untrained) and radial_profile
    baselines on the same split;
  - k-NN accuracy and weighted F1 for sf_class, morph_type, has_bar or --labels columns;
  - photo-z sigma_MAD and outlier fraction when the catalog has z (Hayat et al.);
  - a label-efficiency curve (embedding k-NN vs a supervised ridge on pixel-PCA features);
  - the ranking of properties by distance correlation with the embedding;
  - the adjusted Rand index of k = 2 and k = 3 k-means clusters against sf_class
    (k = 2 leaves the green valley out) and each cluster's class mix.
The report's 2-D map comes from RUN/projection.parquet, made with UMAP if it is missing.
"""

EPILOG = """\
examples:
  galexplore evaluate survey/ runs/maps
  galexplore evaluate survey/ runs/maps --seed 1 --test-fraction 0.3 --labels sf_class has_bar
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="metrics.json and a report: k-NN R², baselines, clusters, label efficiency",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("survey", metavar="SURVEY", help="survey directory whose catalog holds the truths")
    p.add_argument("run", metavar="RUN", help="run directory with embeddings.parquet (and encoder.pt for random_init)")
    p.add_argument("--modality", help="which embedding of a multi-modal run")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the split, baselines and clusters (default: 0)")
    p.add_argument("--k", type=positive_int, default=16, help="neighbours of the k-NN probes (default: 16)")
    p.add_argument("--test-fraction", type=unit_float, default=0.2, help="share of galaxies held out (default: 0.2)")
    p.add_argument("--labels", nargs="+", metavar="COLUMN",
                   help="label columns for k-NN accuracy (default: sf_class morph_type has_bar)")
    p.add_argument("--no-report", action="store_true", help="write metrics.json only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.errors import GalexploreError
    from galexplore.evaluation.evaluate import evaluate
    from galexplore.artifacts.paths import RunPaths

    if not 0 < args.test_fraction < 1:
        raise GalexploreError(f"--test-fraction must be strictly between 0 and 1, got {args.test_fraction}")
    with progress_bar(args, unit="stage") as progress:
        m = evaluate(args.survey, args.run, modality=args.modality, seed=args.seed, k=args.k,
                     test_fraction=args.test_fraction, labels=args.labels, write_report=not args.no_report,
                     progress=progress)
    print(summary(m))
    paths = RunPaths.of(args.run)
    where = f"{paths.metrics}" + ("" if args.no_report else f" and {paths.report}/")
    print(f"wrote {where}", file=sys.stderr)
    return 0


def summary(m: dict) -> str:
    """A short plain-text digest of the metrics: R² against baselines, accuracy, clusters."""
    def f(v):
        return "  –  " if v is None else f"{v:5.2f}"

    base = list(m["baselines"])
    w = max([14, *map(len, base)])
    lines = [f"{'k-NN R²':<16} {'embed':>5} " + " ".join(f"{b:>{w}}" for b in base)]
    for p in m["properties"]["standard"] + m["properties"]["structural"]:
        lines.append(f"{p:<16} {f(m['knn_r2'].get(p))} " + " ".join(f"{f(m['baselines'][b].get(p)):>{w}}" for b in base))
    for col, acc in m.get("knn_accuracy", {}).items():
        lin = m.get("linear_probe_accuracy", {}).get(col)
        lines.append(f"accuracy {col}: {f(acc).strip()} (weighted F1 {f(m['knn_f1_weighted'][col]).strip()}; linear probe {f(lin).strip()})")
    if m.get("photo_z"):
        lines.append(f"photo-z: sigma_MAD {m['photo_z']['sigma_mad']:.4f}, outliers {m['photo_z']['outlier_fraction']:.3f}")
    for k, ari in m.get("clusters", {}).items():
        lines.append(f"k={k} clusters vs sf_class: ARI {f(ari).strip()}" + (" (green valley left out)" if k == "2" else ""))
    top = [r["property"] for r in m.get("correlation_ranking", {}).get("ranking", [])[:6]]
    if top:
        lines.append("most encoded: " + " > ".join(top))
    return "\n".join(lines)
