"""``galexplore project``: the 2-D map (UMAP or PCA) of a run's embeddings."""

from __future__ import annotations

import argparse
import sys

from galexplore.analysis.projection import METHODS
from galexplore.cli._analysis import unit_float
from galexplore.cli._common import non_negative_int, positive_int, progress_bar

DESCRIPTION = """\
Project a run's embeddings to 2-D and write RUN/projection.parquet (galaxy_id, x, y) with the
parameters in the file metadata. UMAP (umap-learn) with the cosine metric is the default; PCA
is a fast linear alternative. Above --max-fit-samples galaxies UMAP is fitted on a random
subsample and the rest are placed with transform, in batches. Results are cached in
RUN/cache/projection/ by the embeddings' fingerprint and the parameters, so repeating a
projection is immediate.
"""

EPILOG = """\
examples:
  galexplore project runs/maps
  galexplore project runs/maps --n-neighbors 30 --min-dist 0.05 --seed 1
  galexplore project runs/clip --modality images --method pca
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "project",
        help="2-D UMAP or PCA map of a run's embeddings",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="run directory with embeddings.parquet")
    p.add_argument("--method", choices=METHODS, default="umap", help="projection method (default: umap)")
    p.add_argument(
        "--n-neighbors", type=positive_int, default=15, help="UMAP neighbourhood size (default: 15)"
    )
    p.add_argument(
        "--min-dist", type=unit_float, default=0.1, help="UMAP minimum distance in [0, 1] (default: 0.1)"
    )
    p.add_argument("--metric", default="cosine", help="distance between embeddings (default: cosine)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    p.add_argument("--modality", help="which embedding of a multi-modal run (e.g. images, spectra)")
    p.add_argument(
        "--max-fit-samples",
        type=positive_int,
        default=100_000,
        help="fit UMAP on at most this many galaxies, transform the rest (default: 100000)",
    )
    p.add_argument("--no-cache", action="store_true", help="recompute even if a cached projection exists")
    p.add_argument(
        "--dask",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="UMAP only: fit on the subsample here, transform the other galaxies over a Dask cluster "
        "(a scheduler address, or no value for a local cluster); writes RUN/projection.parquet/part-*.parquet "
        "aligned with partitioned embeddings (from embed --dask). Same coordinates as without --dask",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="workers of the local Dask cluster (default: one per core)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.analysis.projection import project_run
    from galexplore.artifacts.runs import read_projection

    if args.dask:
        return _run_dask(args)
    with progress_bar(args, unit="gal") as progress:
        path = project_run(
            args.run,
            args.method,
            modality=args.modality,
            n_neighbors=args.n_neighbors,
            min_dist=args.min_dist,
            metric=args.metric,
            random_state=args.seed,
            max_fit_samples=args.max_fit_samples,
            use_cache=not args.no_cache,
            progress=progress,
        )
    df, meta = read_projection(args.run)
    how = "cached" if meta.get("cached") else f"{meta.get('seconds', 0):.1f} s"
    extra = (
        f", n_neighbors={meta['n_neighbors']}, min_dist={meta['min_dist']}"
        if meta["method"] == "umap"
        else ""
    )
    print(f"wrote {path} ({meta['method']}{extra}, {len(df)} galaxies, {how})", file=sys.stderr)
    return 0


def _run_dask(args: argparse.Namespace) -> int:
    from galexplore.errors import GalexploreError
    from galexplore.scale.dask_embed import dask_client
    from galexplore.scale.dask_project import project_with_dask

    if args.method != "umap":
        raise GalexploreError("--dask distributes the UMAP transform; PCA needs no cluster (drop --dask)")
    with (
        progress_bar(args, unit="gal") as progress,
        dask_client(None if args.dask == "local" else args.dask, n_workers=args.workers) as client,
    ):
        path = project_with_dask(
            args.run,
            client,
            modality=args.modality,
            n_neighbors=args.n_neighbors,
            min_dist=args.min_dist,
            metric=args.metric,
            random_state=args.seed,
            max_fit_samples=args.max_fit_samples,
            progress=progress,
        )
    print(f"wrote {path} (umap over Dask)", file=sys.stderr)
    return 0
