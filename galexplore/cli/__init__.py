"""The ``galexplore`` command line: one thin verb per library stage (DESIGN §3).

Each verb lives in its own module with ``register(subparsers)``; only verbs that work are
listed in :data:`VERBS`. Errors in the user's input are printed as one line naming the file
or value at fault, with a non-zero exit and no traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from galexplore import __version__
from galexplore.errors import GalexploreError

#: Verb modules under ``galexplore.cli``, in the order ``--help`` lists them.
VERBS: tuple[str, ...] = (
    "synth",
    "ingest",
    "train",
    "embed",
    "import-embeddings",
    "project",
    "cluster",
    "search",
    "evaluate",
    "export",
    "serve",
    "demo",
)

EPILOG = """\
Typical session:
  galexplore synth --n 2000 --out survey/          # built-in eCALIFA-like survey
  galexplore train survey/ --out run/              # contrastive encoder (maps by default)
  galexplore embed survey/ run/                    # run/embeddings.parquet
  galexplore import-embeddings vecs.parquet --survey survey/ --out run2/   # any model's vectors
  galexplore project run/                          # run/projection.parquet (UMAP)
  galexplore cluster run/ --method kmeans --k 2    # run/clusters/, with a summary
  galexplore search run/ --galaxy ID --k 10        # the most similar galaxies
  galexplore evaluate survey/ run/                 # run/metrics.json and run/report/
  galexplore export run/ --cluster 1 --out c1.fits # a selection, with provenance
  galexplore serve survey/ run/                    # the dashboard at http://127.0.0.1:5006/explorer
  galexplore demo                                  # all of the above on the built-in survey, then serve
  galexplore --help / galexplore <verb> --help     # what each verb does

Add --debug before the verb to see full tracebacks.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="galexplore",
        description="Explore galaxy surveys through contrastive-learning embeddings.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"galexplore {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="verb", metavar="<verb>", title="verbs")
    for name in VERBS:
        importlib.import_module(f"galexplore.cli.{name.replace('-', '_')}").register(sub)
    return parser


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.captureWarnings(True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    _configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("galexplore: interrupted", file=sys.stderr)
        return 130
    except GalexploreError as exc:
        if args.debug:
            raise
        print(f"galexplore: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (OSError, ValueError, MemoryError) as exc:
        if args.debug:
            raise
        print(f"galexplore: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, and the way to get the traceback
        if args.debug:
            raise
        print(
            f"galexplore: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1
