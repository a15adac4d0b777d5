"""Helpers shared by the analysis verbs (project, cluster, search, evaluate, export)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from galexplore.errors import GalexploreError

SURVEY_KEYS = ("survey", "survey_path")


def add_survey_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--survey",
        metavar="SURVEY",
        help="survey directory for catalog columns (default: the survey recorded in the run's embeddings)",
    )


def run_survey(run: str | os.PathLike, survey: str | None, *, required: bool = False):
    """The survey of a run: ``--survey`` if given, else the one named in the embeddings' metadata."""
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.data import open_survey

    if survey:
        return open_survey(survey)
    meta = read_embeddings(run).metadata
    for key in SURVEY_KEYS:
        path = meta.get(key)
        if path and Path(path).is_dir():
            return open_survey(path)
    if required:
        raise GalexploreError(f"{run}: the run does not record its survey directory; pass --survey SURVEY")
    return None


def aligned_catalog(survey, galaxy_ids) -> pd.DataFrame:
    """The survey catalog reordered to ``galaxy_ids``; one-line error naming a missing id."""
    survey.positions(list(galaxy_ids))  # raises StoreError naming the first unknown id
    return survey.catalog.set_index("galaxy_id").loc[list(galaxy_ids)].reset_index()


def int_range(text: str) -> range:
    """argparse type: ``"2-8"`` → range(2, 9)."""
    try:
        lo, hi = (int(v) for v in text.split("-", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a range like 2-8, got {text!r}") from None
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"expected 1 ≤ low ≤ high, got {text!r}")
    return range(lo, hi + 1)


def unit_float(text: str) -> float:
    """argparse type: a float in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value
