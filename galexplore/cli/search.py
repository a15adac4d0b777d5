"""``galexplore search``: the galaxies most like one (or several), by cosine similarity."""

from __future__ import annotations

import argparse

import pandas as pd

from galexplore.cli._analysis import add_survey_option, aligned_catalog, run_survey
from galexplore.cli._common import positive_int

DESCRIPTION = """\
Find the galaxies whose embeddings are most cosine-similar to a galaxy, or to the mean
direction of several (--galaxy A B C), optionally steering away from negative examples
(--negative X Y). The query galaxy itself is listed first (similarity 1) unless
--exclude-query is given. For a cross-modal run, --modality picks the embedding that defines
the query and --target-modality the one searched (e.g. images -> spectra).
"""

EPILOG = """\
examples:
  galexplore search runs/maps --galaxy g000042 --k 20
  galexplore search runs/maps --galaxy g000042 g000107 --negative g000003 --exclude-query
  galexplore search runs/clip --galaxy g000042 --modality images --target-modality spectra
"""

SHOWN = ("sf_class", "morph_type", "log_mstar", "log_ssfr", "ew_ha")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="cosine similarity search from one or more galaxies",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="run directory with embeddings.parquet")
    p.add_argument("--galaxy", nargs="+", required=True, metavar="ID", help="query galaxy id(s)")
    p.add_argument("--k", type=positive_int, default=10, help="number of results (default: 10)")
    p.add_argument("--negative", nargs="+", default=[], metavar="ID", help="galaxies to steer away from")
    p.add_argument(
        "--exclude-query",
        action="store_true",
        help="leave the query (and negative) galaxies out of the results",
    )
    p.add_argument("--modality", help="embedding that defines the query (required for a multi-modal run)")
    p.add_argument("--target-modality", help="embedding searched (default: the same as --modality)")
    p.add_argument("--csv", action="store_true", help="print CSV instead of an aligned table")
    add_survey_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.analysis.search import run_search

    res = run_search(
        args.run,
        args.galaxy,
        args.k,
        args.negative,
        modality=args.modality,
        target_modality=args.target_modality,
        exclude_examples=args.exclude_query,
    )
    survey = run_survey(args.run, args.survey)
    if survey is not None:
        cat = aligned_catalog(survey, res["galaxy_id"])
        res = res.join(cat[[c for c in SHOWN if c in cat]])
    res = res[
        [
            "rank",
            "galaxy_id",
            "similarity",
            *[c for c in res.columns if c not in ("rank", "galaxy_id", "similarity")],
        ]
    ]
    if args.csv:
        print(res.to_csv(index=False), end="")
    else:
        with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
            print(res.to_string(index=False))
    return 0
