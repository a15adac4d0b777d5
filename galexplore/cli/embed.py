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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.embed import embed
    from galexplore.runs import read_embeddings

    with progress_bar(args, unit="gal") as progress:
        path = embed(args.survey, args.run, views=args.views, batch_size=args.batch_size, device=args.device, seed=args.seed, progress=progress)
    emb = read_embeddings(args.run)
    dims = ", ".join(f"emb_{m} {v.shape[1]}-d" for m, v in emb.vectors.items())
    print(f"embedded {len(emb.galaxy_ids)} galaxies ({dims}) → {path}", file=sys.stderr)
    return 0
