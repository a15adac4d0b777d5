"""Helpers shared by the CLI verbs: argument types and the progress bar."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from galexplore.progress import ProgressCallback, tqdm_progress


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number ≥ 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


@contextlib.contextmanager
def progress_bar(args: argparse.Namespace, unit: str = "it") -> Iterator[ProgressCallback]:
    """A tqdm progress callback on stderr, silenced by ``--quiet``."""
    with tqdm_progress(unit=unit, disable=True if getattr(args, "quiet", False) else None) as cb:
        yield cb
