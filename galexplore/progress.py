"""Progress reporting without printing.

Long-running library functions take ``progress: ProgressCallback | None``. They call it as
``progress(done, total, stage)``; the CLI connects it to tqdm (:func:`tqdm_progress`) and the
dashboard to a Panel indicator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol


class ProgressCallback(Protocol):
    """Called with the units done so far, the total (or None if unknown) and a stage name."""

    def __call__(self, done: int, total: int | None, stage: str) -> None: ...


def report(progress: ProgressCallback | None, done: int, total: int | None, stage: str) -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(done, total, stage)


@contextlib.contextmanager
def tqdm_progress(*, unit: str = "it", disable: bool | None = None) -> Iterator[ProgressCallback]:
    """A :class:`ProgressCallback` that draws one tqdm bar per stage on stderr.

    ``disable=None`` hides the bars when stderr is not a terminal (CI logs stay short).
    """
    from tqdm.auto import tqdm

    bars: dict[str, tqdm] = {}

    def callback(done: int, total: int | None, stage: str) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit=unit, disable=disable, leave=True)
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield callback
    finally:
        for bar in bars.values():
            bar.close()
