"""A folder of PNG / JPEG / FITS images plus a CSV catalog (``galaxy_id``, ``file``, …).

Files are matched on their stem, so ``file`` may name ``NGC1.png`` while the folder holds
``NGC1.fits`` (or ``NGC1.fits.gz``). Images are centre-cropped to a square and resized to a
common size; ``crop`` keeps only the central fraction of the square first (the galaxy
fills the middle of most survey cutouts). FITS images keep linear flux per pixel (rescaled by the pixel-area ratio, see
:func:`galexplore.data.readers.cutouts.to_common`); PNG/JPEG are display renderings, stored
as values 0–1 per colour channel (bands ``red``, ``green``, ``blue`` or ``gray``), which are
not linear flux: ``survey.json`` records that unit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.data.readers.cutouts import read_cutout, to_common
from galexplore.errors import GalexploreError, InputFileError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".fits", ".fit", ".fits.gz", ".fit.gz", ".fts")
DISPLAY_UNIT = "display value (0-1, not linear flux)"


def stem(name: str | os.PathLike) -> str:
    """File name without its image suffix (``a.fits.gz`` → ``a``); case kept."""
    base = Path(name).name
    low = base.lower()
    for suffix in sorted(IMAGE_SUFFIXES, key=len, reverse=True):
        if low.endswith(suffix):
            return base[: -len(suffix)]
    return Path(base).stem


def read_image_catalog(path: str | os.PathLike) -> pd.DataFrame:
    """The CSV catalog of an image folder; needs ``galaxy_id`` and ``file`` columns."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"galaxy_id": str, "file": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(path, f"not a readable CSV file ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in ("galaxy_id", "file") if c not in df.columns]
    if missing:
        raise InputFileError(
            path, f"CSV lacks column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})"
        )
    return df


def match_files(folder: str | os.PathLike, files: pd.Series) -> list[Path | None]:
    """For each entry of ``files``, the image in ``folder`` with the same stem (or None).

    An exact name wins; otherwise any image whose stem matches. Raises
    :class:`GalexploreError` if ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise GalexploreError(f"{folder}: not a directory")
    by_stem: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES):
            by_stem.setdefault(stem(p), []).append(p)
    out: list[Path | None] = []
    for name in files.astype(str):
        exact = folder / name
        if exact.is_file():
            out.append(exact)
            continue
        hits = by_stem.get(stem(name), [])
        out.append(hits[0] if hits else None)
    return out


def read_image(path: str | os.PathLike, *, size: int, crop: float = 1.0) -> tuple[np.ndarray, list[str], str]:
    """One image, centre-cropped and resized: (B, size, size) float32, band names, unit.

    ``crop`` (0 < f ≤ 1) is the fraction of the central square's side that is kept before
    resizing (1: the whole square).
    """
    path = Path(path)
    if path.name.lower().endswith((".fits", ".fit", ".fits.gz", ".fit.gz", ".fts")):
        cut = read_cutout(path)
        data, _ = to_common(cut, size=size, crop=crop)
        return data.astype(np.float32), cut.channels, cut.units[0]
    from PIL import Image, UnidentifiedImageError

    from galexplore.data.readers.resample import centre_square, resize

    try:
        with Image.open(path) as im:
            im.load()
            mode = "L" if im.mode in ("L", "LA", "I", "I;16", "F") else "RGB"
            arr = np.asarray(im.convert(mode), dtype=np.float64) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise InputFileError(path, f"not a readable image ({type(exc).__name__}: {exc})") from exc
    planes = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    bands = ["gray"] if mode == "L" else ["red", "green", "blue"]
    return resize(centre_square(planes, crop), size).astype(np.float32), bands, DISPLAY_UNIT


__all__ = ["DISPLAY_UNIT", "IMAGE_SUFFIXES", "match_files", "read_image", "read_image_catalog", "stem"]
