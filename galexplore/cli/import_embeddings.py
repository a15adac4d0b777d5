"""``galexplore import-embeddings``: vectors from any model into RUN/embeddings.parquet."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._common import progress_bar

DESCRIPTION = """\
Import embedding vectors made by any model (AstroCLIP, AION-1, Zoobot, your own) as the
embeddings of RUN for the galaxies of SURVEY, so that project, cluster, search, export and
serve work on them as on a trained run. SURVEY may be catalog-only (galexplore ingest catalog).

FILE may be Parquet (a list or fixed-size-list column per modality, or one column per
dimension such as z0 … z63), CSV, a FITS or ECSV table, HDF5 (2-D datasets of vectors plus
1-D datasets of ids or ra/dec), or NumPy .npy (N, D) with --ids FILE.

Rows are matched by galaxy id (--id-column, default galaxy_id / id / name / objid / targetid),
else by RA/Dec to the nearest galaxy within --match-radius. Rows of galaxies that are not in
the survey are skipped and counted. Several vector columns become several modalities
(emb_<name>: an AstroCLIP file's image and spectrum vectors can then be searched across).
The vectors are kept bit for bit (float32). Nothing is written if any row has a duplicate id,
no vector, a length unlike the others, NaN/inf or only zeros: the error names the id or row.
"""

EPILOG = """\
Examples:
  galexplore import-embeddings astroclip.parquet --survey desi/ --out runs/astroclip --model-name AstroCLIP
  galexplore import-embeddings aion.h5 --survey desi/ --out runs/aion --match-radius 1.5
  galexplore import-embeddings z.npy --ids ids.txt --survey s/ --out runs/mine
  galexplore import-embeddings both.parquet --vector-column image_features=images \\
      --vector-column spectrum_features=spectra --survey desi/ --out runs/clip
"""


def _radius(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of arcsec: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of arcsec, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-embeddings",
        help="write RUN/embeddings.parquet from vectors made by any model",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="Parquet, CSV, FITS, ECSV, HDF5 or .npy file of vectors")
    p.add_argument("--survey", required=True, metavar="SURVEY", help="survey directory the vectors describe")
    p.add_argument(
        "--out", required=True, metavar="RUN", help="run directory to write embeddings.parquet into"
    )
    p.add_argument(
        "--id-column",
        metavar="COL",
        help="column of galaxy ids (default: galaxy_id, id, name, objid, targetid …)",
    )
    p.add_argument(
        "--vector-column",
        action="append",
        default=[],
        metavar="COL[=NAME]",
        help="a vector column to import, optionally renamed to modality NAME; repeat for several "
        "(default: every list column, else every group of ≥ 8 one-per-dimension columns)",
    )
    p.add_argument(
        "--ids",
        metavar="FILE",
        help="ids of a .npy file: one per line (.txt), a .npy, or a table with ids or ra/dec",
    )
    p.add_argument(
        "--match-radius",
        type=_radius,
        default=1.0,
        metavar="ARCSEC",
        help="sky-match radius in arcsec, used when no id matches (default: 1)",
    )
    p.add_argument(
        "--model-name",
        metavar="NAME",
        help="the model that made the vectors, recorded as provenance (e.g. AstroCLIP)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.importing import import_embeddings

    with progress_bar(args, unit="row") as progress:
        result = import_embeddings(
            args.file,
            args.survey,
            args.out,
            id_column=args.id_column,
            vector_columns=args.vector_column,
            ids_file=args.ids,
            match_radius_arcsec=args.match_radius,
            model_name=args.model_name,
            progress=progress,
        )
    print(f"{result.summary()} → {result.path}", file=sys.stderr)
    return 0
