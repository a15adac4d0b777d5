"""User tags of a run: named sets of galaxies ("ring candidates") in ``RUN/tags.parquet``.

::

    RUN/tags.parquet        tag (str), galaxy_id (str), created (timestamp, UTC): one row per
                            (tag, galaxy); a galaxy may carry several tags
    RUN/tags.parquet.lock   held (``fcntl.flock``) while a writer reads, changes and replaces it

Every change is a read-modify-write under an exclusive lock on the lock file, and the new
table replaces the old one atomically (:func:`~galexplore.artifacts.atomic.atomic_file`). So
readers (who take no lock, and read the file through one open handle) always see a complete
table, and two sessions, threads or processes adding tags at the same time never lose each
other's: the second writer waits for the first and then merges into what the first wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import RunPaths
from galexplore.errors import GalexploreError, StoreError

log = logging.getLogger(__name__)

#: Longest tag name, in characters.
MAX_TAG_LENGTH = 64
COLUMNS = ("tag", "galaxy_id", "created")
#: What :meth:`TagStore.as_column` gives an untagged galaxy; not a valid tag name.
UNTAGGED = ""


def check_tag_name(name: object) -> str:
    """The tag name with surrounding blanks removed; raises :class:`GalexploreError` unless it
    is a non-empty string of at most :data:`MAX_TAG_LENGTH` printable characters."""
    if not isinstance(name, str):
        raise GalexploreError(f"a tag name must be text, not {type(name).__name__}")
    clean = name.strip()
    if not clean:
        raise GalexploreError("a tag name cannot be empty")
    if len(clean) > MAX_TAG_LENGTH:
        raise GalexploreError(
            f"tag name {clean[:20]!r}… is {len(clean)} characters long (at most {MAX_TAG_LENGTH})"
        )
    if not clean.isprintable():
        raise GalexploreError(f"tag name {clean!r} contains non-printable characters")
    return clean


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tag": pd.Series([], dtype=object),
            "galaxy_id": pd.Series([], dtype=object),
            "created": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )


class TagStore:
    """The tags of one run, read from and written to ``RUN/tags.parquet``.

    Every call reads the file afresh (tags written by other sessions are always seen); the
    writes (:meth:`add`, :meth:`remove`) are merged under a file lock, so none is lost.

    Parameters
    ----------
    run : path-like
        The run directory.
    """

    def __init__(self, run: str | os.PathLike) -> None:
        self.run = Path(run)
        self.path = RunPaths.of(run).tags
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    # -- reading ----------------------------------------------------------------------------------
    def read(self) -> pd.DataFrame:
        """All tags: ``tag``, ``galaxy_id`` (str) and ``created`` (UTC), in the order they were added."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:  # one open, read whole: a writer replacing the file meanwhile cannot mix two versions
            with open(self.path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return _empty()
        try:
            frame = pq.read_table(pa.BufferReader(raw)).to_pandas()
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise StoreError(f"{self.path}: cannot read ({type(exc).__name__}: {exc})") from exc
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(f"{self.path}: missing column(s) {', '.join(missing)}")
        return frame[list(COLUMNS)].reset_index(drop=True)

    def version(self) -> int:
        """Changes whenever the tags change (the file's modification time in ns; 0 if none)."""
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def names(self) -> list[str]:
        """Tag names, oldest first."""
        return list(dict.fromkeys(self.read()["tag"].astype(str)))

    def ids(self, name: str) -> list[str]:
        """``galaxy_id`` of every galaxy carrying tag ``name`` (in the order they were added);
        raises :class:`GalexploreError` for an unknown tag."""
        frame = self.read()
        name = check_tag_name(name)
        ids = frame.loc[frame["tag"] == name, "galaxy_id"].astype(str).tolist()
        if not ids:
            raise GalexploreError(f"no tag named {name!r} in {self.path}")
        return ids

    def counts(self) -> dict[str, int]:
        """Tag name → number of galaxies, oldest tag first."""
        frame = self.read()
        return {str(k): int(v) for k, v in frame.groupby("tag", sort=False).size().items()}

    def as_column(self, galaxy_ids: Iterable[str], *, separator: str = " + ") -> np.ndarray:
        """The tags of each galaxy as one string (N,) object: its tag names in the order the tags
        were made, joined by ``separator``; :data:`UNTAGGED` (``""``) for an untagged galaxy."""
        ids = pd.Index(
            np.asarray(list(galaxy_ids) if not isinstance(galaxy_ids, np.ndarray) else galaxy_ids).astype(str)
        )
        out = np.full(len(ids), UNTAGGED, dtype=object)
        frame = self.read()
        if frame.empty:
            return out
        order = {name: i for i, name in enumerate(dict.fromkeys(frame["tag"]))}
        frame = frame.assign(_order=frame["tag"].map(order)).sort_values("_order", kind="stable")
        joined = frame.groupby("galaxy_id", sort=False)["tag"].agg(separator.join)
        pos = ids.get_indexer(joined.index.astype(str))
        ok = pos >= 0
        out[pos[ok]] = joined.to_numpy()[ok]
        return out

    # -- writing ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive lock on ``tags.parquet.lock`` (waits for other writers)."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise GalexploreError(f"{self.lock_path}: cannot lock the tags ({exc.strerror})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _write(self, frame: pd.DataFrame) -> None:
        with atomic_file(self.path) as tmp:
            frame.reset_index(drop=True).to_parquet(tmp, index=False)

    def add(self, name: str, galaxy_ids: Iterable[str]) -> int:
        """Tag galaxies ``galaxy_ids`` with ``name`` (created if new; galaxies already carrying it
        are left as they are). Returns how many galaxies carry the tag afterwards.

        Raises
        ------
        GalexploreError
            For a bad name (empty, longer than :data:`MAX_TAG_LENGTH`, non-printable) or no galaxies.
        """
        name = check_tag_name(name)
        ids = list(dict.fromkeys(str(g) for g in galaxy_ids))
        if not ids:
            raise GalexploreError(f"nothing to tag as {name!r}: the selection is empty")
        with self._locked():
            frame = self.read()
            have = set(frame.loc[frame["tag"] == name, "galaxy_id"].astype(str))
            new = [g for g in ids if g not in have]
            if new:
                now = pd.Timestamp(datetime.now(UTC))
                rows = pd.DataFrame({"tag": name, "galaxy_id": new, "created": now})
                rows["created"] = rows["created"].astype("datetime64[ns, UTC]")
                self._write(pd.concat([frame, rows], ignore_index=True) if len(frame) else rows)
            log.info("tag %r: %d galaxies (+%d) in %s", name, len(have) + len(new), len(new), self.path)
            return len(have) + len(new)

    def remove(self, name: str) -> int:
        """Delete tag ``name``; returns how many galaxies carried it (0 if there was no such tag)."""
        name = check_tag_name(name)
        with self._locked():
            frame = self.read()
            drop = frame["tag"] == name
            if drop.any():
                self._write(frame.loc[~drop])
            return int(drop.sum())
