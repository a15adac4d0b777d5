"""User-facing errors.

Every problem with a user's input (a file, an argument, a store) raises a subclass of
:class:`GalexploreError` whose message is one line and names the file or value at fault.
The command line prints that line without a traceback; anything else is a bug.
"""

from __future__ import annotations

from os import PathLike


class GalexploreError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class StoreError(GalexploreError):
    """A survey or run directory is missing, incomplete or inconsistent."""


class InputFileError(GalexploreError):
    """An input file cannot be read or does not hold what its reader expects.

    Parameters
    ----------
    path : path-like
        The file at fault; it is always named first in the message.
    reason : str
        What is wrong with it, in one line.
    """

    def __init__(self, path: str | PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")
