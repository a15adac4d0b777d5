"""``galexplore embed``: embed a survey with a trained encoder."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._common import non_negative_int, positive_int, progress_bar
from galexplore.errors import GalexploreError

DESCRIPTION = """\
Embed every galaxy of SURVEY with the encoder in RUN/encoder.pt and write
RUN/embeddings.parquet (galaxy_id + one vector column per modality: emb_maps, or emb_images
and emb_spectra for a cross-modal run). SURVEY may be another survey than the one the
encoder was trained on if its channels / bands and shapes match. --views N takes the
median over N augmented views of each galaxy (eCALIFA).

--pretrained NAME embeds with a pretrained encoder of the field instead (no RUN/encoder.pt
needed; RUN is created): timm:<arch> (any timm backbone, e.g. timm:resnet50),
zoobot:<name> (Zoobot 2, e.g. zoobot:convnext_nano), astropt:<size> (e.g. astropt:095M) or
aion:<size> (AION-1, e.g. aion:base), each with its own documented preprocessing. Weights
come from --weights (a file or folder) or the Hugging Face cache; without either and without
network, the error says what to download and where to put it. Needs the optional extra:
pip install "galexplore[pretrained]".
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help="write RUN/embeddings.parquet",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("survey", metavar="SURVEY", help="survey directory")
    p.add_argument("run", metavar="RUN", help="run directory with encoder.pt")
    p.add_argument(
        "--views",
        type=positive_int,
        default=1,
        help="median over N augmented views (default: 1, no augmentation)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="galaxies per batch (default: 256; 32 with --pretrained)",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto")
    p.add_argument(
        "--pretrained",
        metavar="NAME",
        help="a pretrained encoder instead of RUN/encoder.pt: timm:<arch>, "
        "zoobot:<name>, astropt:<size>, aion:<size>",
    )
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="weights file or folder of --pretrained (default: the Hugging Face cache)",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the augmented views (default: 0)"
    )
    p.add_argument(
        "--dask",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="embed partitioned over a Dask cluster: a scheduler address (tcp://host:8786), or no value "
        "for a local cluster of processes; writes RUN/embeddings.parquet/part-*.parquet",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="workers of the local Dask cluster (default: one per core)",
    )
    p.add_argument(
        "--partition-rows", type=positive_int, default=8192, help="galaxies per Dask task (default: 8192)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.embed import embed

    if args.pretrained is None and args.weights is not None:
        raise GalexploreError("--weights goes with --pretrained NAME")
    if args.pretrained is not None and (args.dask or args.views > 1):
        raise GalexploreError("--pretrained embeds each galaxy once, in this process: drop --dask / --views")
    with progress_bar(args, unit="gal") as progress:
        if args.pretrained is not None:
            from galexplore.embed import embed_pretrained

            path = embed_pretrained(
                args.survey,
                args.run,
                args.pretrained,
                weights=args.weights,
                batch_size=args.batch_size or 32,
                device=args.device,
                progress=progress,
            )
        elif args.dask:
            from galexplore.scale.dask_embed import dask_client, embed_with_dask

            address = None if args.dask == "local" else args.dask
            with dask_client(address, n_workers=args.workers) as client:
                path = embed_with_dask(
                    args.survey,
                    args.run,
                    client,
                    rows_per_partition=args.partition_rows,
                    views=args.views,
                    batch_size=args.batch_size or 256,
                    seed=args.seed,
                    progress=progress,
                )
        else:
            path = embed(
                args.survey,
                args.run,
                views=args.views,
                batch_size=args.batch_size or 256,
                device=args.device,
                seed=args.seed,
                progress=progress,
            )
    emb = read_embeddings(args.run)
    dims = ", ".join(f"emb_{m} {v.shape[1]}-d" for m, v in emb.vectors.items())
    print(f"embedded {len(emb.galaxy_ids)} galaxies ({dims}) → {path}", file=sys.stderr)
    return 0
