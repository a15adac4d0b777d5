"""``galexplore export``: a selection or clusters of a run to CSV, FITS or VOTable."""

from __future__ import annotations

import argparse
import sys

from galexplore.artifacts.export import FORMATS
from galexplore.cli._analysis import add_survey_option, run_survey

DESCRIPTION = """\
Write chosen galaxies (--galaxies ID ...) or whole clusters of a saved clustering
(--cluster K ..., see `galexplore cluster`) to CSV, FITS or VOTable with astropy: their catalog
columns, projection coordinates and cluster labels. The file carries its provenance: the
encoder and embedding fingerprints, the projection parameters, the survey and how the selection
was made (header cards in FITS, INFO elements in VOTable, the YAML header of the CSV, which is
written as comma-separated ECSV).
"""

EPILOG = """\
examples:
  galexplore export runs/maps --cluster 1 --out retired.fits
  galexplore export runs/maps --cluster 0 2 --clustering gmm_k3_embedding --out sel.vot
  galexplore export runs/maps --galaxies g000042 g000107 --out pair.csv
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="selection or clusters to CSV / FITS / VOTable with provenance",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="run directory with embeddings.parquet")
    p.add_argument("--out", required=True, metavar="FILE", help="output file (.csv, .fits or .vot)")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the suffix of --out)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--galaxies", nargs="+", metavar="ID", help="galaxy ids to export")
    which.add_argument("--cluster", nargs="+", type=int, metavar="K", help="cluster labels to export")
    p.add_argument(
        "--clustering", metavar="NAME", help="saved clustering to take --cluster from (default: the latest)"
    )
    p.add_argument("--selection", metavar="TEXT", help="how the selection was made, for the provenance")
    add_survey_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.artifacts.export import export_selection, read_export

    survey = run_survey(args.run, args.survey)
    path = export_selection(
        args.run,
        args.out,
        galaxies=args.galaxies,
        clusters=args.cluster,
        clustering=args.clustering,
        survey=survey,
        format=args.format,
        selection=args.selection,
    )
    _, prov = read_export(path, args.format)
    print(f"wrote {prov['n_rows']} galaxies to {path} ({prov['selection']})", file=sys.stderr)
    return 0
