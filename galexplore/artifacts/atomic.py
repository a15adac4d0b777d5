"""Atomic writes: every artifact is either the old complete one or the new complete one.

Files are written to a temporary sibling, flushed, fsynced and renamed over the target
(``os.replace`` is atomic on POSIX). Directories (Zarr stores, whole surveys) are built in
a temporary sibling and swapped in with two renames; a crash between them leaves the old
directory under ``<name>.old-*``, which :func:`recover_directory` puts back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

TMP_MARK = ".tmp-"
OLD_MARK = ".old-"


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, with one line naming the directory, if ``path`` cannot be written.

    Creates the parent directory if needed. Call it before long work so that a bad
    ``--out`` is reported at once rather than after minutes of computing.
    """
    path = Path(path)
    _check_parent(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise GalexploreError(f"{path}: not writable")
    return path


def _check_parent(path: Path) -> None:
    parent = path.parent
    for p in (parent, *parent.parents):
        if p.exists():
            if not p.is_dir():
                raise GalexploreError(f"{p}: is not a directory, cannot write {path}")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GalexploreError(f"{parent}: cannot create output directory ({exc.strerror})") from exc
    if not os.access(parent, os.W_OK):
        raise GalexploreError(f"{parent}: output directory is not writable")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    On any exception the temporary file is removed and ``path`` is left untouched.

    Examples
    --------
    >>> with atomic_file(out / "catalog.parquet") as tmp:  # doctest: +SKIP
    ...     table.to_parquet(tmp)
    """
    path = Path(path)
    _check_parent(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{path.name}{TMP_MARK}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _swap_in(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise GalexploreError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory; on success it replaces ``path``.

    The old directory, if any, is kept until the new one is in place and then removed.
    On any exception the temporary directory is removed and ``path`` is untouched.
    """
    path = Path(path)
    _check_parent(path)
    recover_directory(path)
    tmp = Path(tempfile.mkdtemp(prefix=f"{path.name}{TMP_MARK}", dir=path.parent))
    try:
        yield tmp
        _fsync_dir(tmp)
        _swap_in(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        _discard(tmp)
        raise GalexploreError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: Path, *, settle: float = 0.05, tries: int = 20) -> None:
    """Remove a failed writer's temporary directory for good.

    Chunked stores (zarr) write chunks concurrently; when one write fails the others may still
    land for a few milliseconds and recreate folders under ``tmp``, so remove until it stays gone.
    """
    for _ in range(tries):
        shutil.rmtree(tmp, ignore_errors=True)
        time.sleep(settle)
        if not tmp.exists():
            return
    log.warning("%s: could not remove a temporary directory; the next write removes it", tmp)


def _swap_in(new: Path, path: Path) -> None:
    """Put ``new`` at ``path``: one atomic rename, or two when a directory (or a file replaced
    by a directory) must move aside first; the old one is removed only once ``new`` is in place."""
    if path.is_dir() or (path.exists() and new.is_dir()):
        old = Path(tempfile.mkdtemp(prefix=f"{path.name}{OLD_MARK}", dir=path.parent))
        old.rmdir()
        os.replace(path, old)
        os.replace(new, path)
        _remove(old)
    else:
        os.replace(new, path)


def recover_directory(path: str | os.PathLike) -> None:
    """Finish or undo an interrupted :func:`atomic_directory` swap for ``path``.

    If ``path`` is missing but ``path.old-*`` exists, the old one is put back. Leftover
    temporary directories from killed writers are removed.
    """
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f"{path.name}{OLD_MARK}*"))
    if olds and not path.exists():
        log.warning("restoring %s from interrupted write %s", path, olds[-1])
        os.replace(olds[-1], path)
        olds = olds[:-1]
    for stale in [*olds, *parent.glob(f"{path.name}{TMP_MARK}*")]:
        _remove(stale)


def _remove(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
