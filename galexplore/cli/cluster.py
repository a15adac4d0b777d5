"""``galexplore cluster``: clusters on demand, saved under RUN/clusters/, with a summary."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from galexplore.analysis.clustering import CRITERIA, HDBSCAN_MIN_SAMPLES, METHODS, NOISE_NAME, SPACES
from galexplore.cli._analysis import add_survey_option, aligned_catalog, int_range, run_survey
from galexplore.cli._common import non_negative_int, positive_int

DESCRIPTION = """\
Cluster a run's galaxies with k-means, a Gaussian mixture or HDBSCAN, on the full embedding
(default; rows L2-normalised, i.e. cosine geometry) or on the 2-D projection. The labels go
to RUN/clusters/<method>_k<K>_<space>.parquet (0 = largest cluster, -1 = HDBSCAN noise), and
a per-cluster summary is printed: size, the sf_class mix, medians of the standard properties
and exemplar galaxies (nearest each cluster's centre). With --suggest-k, k is chosen by the
silhouette (k-means) or the BIC (Gaussian mixture) over a range first.
"""

EPILOG = """\
examples:
  galexplore cluster runs/maps --method kmeans --k 2
  galexplore cluster runs/maps --method gmm --suggest-k 2-8 --criterion bic
  galexplore cluster runs/maps --method hdbscan --space projection --min-cluster-size 25
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cluster",
        help="k-means / GMM / HDBSCAN clusters of a run, with a summary",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="run directory with embeddings.parquet")
    p.add_argument("--method", choices=METHODS, default="kmeans", help="clustering method (default: kmeans)")
    p.add_argument(
        "--k", type=positive_int, default=3, help="number of clusters for kmeans and gmm (default: 3)"
    )
    p.add_argument(
        "--space",
        choices=SPACES,
        default="embedding",
        help="cluster the full embedding (default) or the 2-D projection (run `project` first)",
    )
    p.add_argument(
        "--min-cluster-size",
        type=positive_int,
        help="HDBSCAN minimum cluster size (default: 2%% of the galaxies)",
    )
    p.add_argument(
        "--min-samples",
        type=positive_int,
        help="HDBSCAN neighbours that make a core point: lower puts fewer galaxies in noise "
        f"(default: {HDBSCAN_MIN_SAMPLES})",
    )
    p.add_argument(
        "--suggest-k", type=int_range, metavar="LOW-HIGH", help="choose k in this range first, e.g. 2-8"
    )
    p.add_argument(
        "--criterion",
        choices=CRITERIA,
        default="silhouette",
        help="how --suggest-k scores k (default: silhouette)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    p.add_argument("--modality", help="which embedding of a multi-modal run")
    p.add_argument("--no-save", action="store_true", help="print the summary without saving the labels")
    add_survey_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.analysis.cluster_store import cluster_run

    k = args.k
    if args.suggest_k is not None:
        k = _suggest(args)
    result = cluster_run(
        args.run,
        args.method,
        k,
        space=args.space,
        modality=args.modality,
        random_state=args.seed,
        min_cluster_size=args.min_cluster_size,
        min_samples=args.min_samples,
        save=not args.no_save,
    )
    survey = run_survey(args.run, args.survey)
    print(_summary_text(result, survey, args))
    where = f"saved {result.path}" if result.path else "not saved"
    print(
        f"{result.params['n_clusters_found']} clusters of {len(result.labels)} galaxies ({where})",
        file=sys.stderr,
    )
    return 0


def _suggest(args: argparse.Namespace) -> int:
    from galexplore.analysis.clustering import suggest_k
    from galexplore.artifacts.runs import read_embeddings, read_projection
    from galexplore.errors import GalexploreError

    if args.method == "hdbscan":
        raise GalexploreError("--suggest-k applies to kmeans and gmm, not hdbscan (it finds its own k)")
    if args.space == "projection":
        X = read_projection(args.run)[0][["x", "y"]].to_numpy()
    else:
        X = read_embeddings(args.run).get(args.modality)
    s = suggest_k(X, args.suggest_k, method=args.criterion, space=args.space, random_state=args.seed)
    scores = ", ".join(f"k={k}: {v:.4g}" for k, v in s.scores.items())
    better = "higher" if s.higher_is_better else "lower"
    print(f"{args.criterion} ({better} is better): {scores} -> k={s.best_k}", file=sys.stderr)
    return s.best_k


def _summary_text(result, survey, args: argparse.Namespace) -> str:
    from galexplore.analysis.clustering import cluster_summary
    from galexplore.artifacts.runs import read_embeddings

    ids = result.labels["galaxy_id"].tolist()
    if survey is None:
        catalog = pd.DataFrame({"galaxy_id": ids})
    else:
        catalog = aligned_catalog(survey, ids)
    X = None
    if args.space == "embedding":
        from galexplore.analysis.search import normalise

        X = normalise(read_embeddings(args.run).get(args.modality))
    summary = cluster_summary(catalog, result.labels["cluster"].to_numpy(), X, n_exemplars=3)
    if "exemplars" in summary:
        summary["exemplars"] = summary["exemplars"].map(" ".join)
    table = summary.T  # one column per cluster reads better than 20 property columns
    table.columns = [f"cluster {c}" if c >= 0 else NOISE_NAME for c in table.columns]
    table = table.map(lambda v: f"{v:.3g}" if isinstance(v, float) else str(v))
    return table.to_string()
