"""``galexplore embed``: embed a survey with a trained encoder."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._common import non_negative_int, positive_int, progress_bar

DESCRIPTION = """\
Embed every galaxy of SURVEY with the encoder in RUN/encoder.pt and write
RUN/embeddings.parquet (galaxy_id + one vector column per modality: emb_maps, or emb_images
and emb_spectra for a cross-modal run). SURVEY may be another survey than the one the
encoder was trained on if its channels / bands and shapes match. --views N takes the
median over N augmented views of each galaxy (eCALIFA).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed", help="write RUN/embeddings.parquet", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("survey", metavar="SURVEY", help="survey directory")
    p.add_argument("run", metavar="RUN", help="run directory with encoder.pt")
    p.add_argument("--views", type=positive_int, default=1, help="median over N augmented views (default: 1, no augmentation)")
    p.add_argument("--batch-size", type=positive_int, default=256, help="galaxies per batch (default: 256)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the augmented views (default: 0)")
    p.add_argument(
        "--dask", nargs="?", const="local", metavar="ADDRESS",
        help="embed partitioned over a Dask cluster: a scheduler address (tcp://host:8786), or no value "
        "for a local cluster of processes; writes RUN/embeddings.parquet/part-*.parquet",
    )  # fmt: skip
    p.add_argument("--workers", type=positive_int, default=None, help="workers of the local Dask cluster (default: one per core)")
    p.add_argument("--partition-rows", type=positive_int, default=8192, help="galaxies per Dask task (default: 8192)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.embed import embed
    from galexplore.artifacts.runs import read_embeddings

    with progress_bar(args, unit="gal") as progress:
        if args.dask:
            from galexplore.scale.dask_embed import dask_client, embed_with_dask

            address = None if args.dask == "local" else args.dask
            with dask_client(address, n_workers=args.workers) as client:
                path = embed_with_dask(args.survey, args.run, client, rows_per_partition=args.partition_rows,
                                       views=args.views, batch_size=args.batch_size, seed=args.seed, progress=progress)  # fmt: skip
        else:
            path = embed(args.survey, args.run, views=args.views, batch_size=args.batch_size, device=args.device, seed=args.seed, progress=progress)
    emb = read_embeddings(args.run)
    dims = ", ".join(f"emb_{m} {v.shape[1]}-d" for m, v in emb.vectors.items())
    print(f"embedded {len(emb.galaxy_ids)} galaxies ({dims}) → {path}", file=sys.stderr)
    return 0
