"""Safe FITS access: open, find extensions by EXTNAME and planes by header text, clean sentinels.

Real survey files are often truncated, gzip-corrupt or laid out differently between pipeline
versions. Every function here turns such problems into :class:`~galexplore.errors.InputFileError`
naming the file, never a traceback, and never relies on the position of an extension or a plane.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from galexplore.errors import InputFileError

#: Magnitude above which a float is a "missing" sentinel (Pipe3D writes -1.797e308 = -DBL_MAX).
SENTINEL_ABS = 1e300

_READ_ERRORS = (OSError, EOFError, ValueError, TypeError, IndexError, KeyError, zlib.error, MemoryError)


@contextlib.contextmanager
def open_fits(path: str | os.PathLike) -> Iterator:
    """Open a FITS file fully into memory, or raise :class:`InputFileError` naming it.

    All HDUs and their data are read eagerly, so a truncated file (astropy only warns about
    it when opening, then fails when the data is touched) is detected here, at once.

    Yields
    ------
    astropy.io.fits.HDUList
    """
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    if path.stat().st_size == 0:
        raise InputFileError(path, "empty file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
        truncated = [w for w in caught if "truncated" in str(w.message).lower()]
        if truncated:
            hdul.close()
            detail = re.sub(
                r"^file may have been truncated:?\s*", "", str(truncated[0].message), flags=re.IGNORECASE
            )
            raise InputFileError(path, f"truncated FITS file: {_short(detail)}")
        for hdu in hdul:  # touch every data unit: corrupt or short data fails here
            _ = hdu.data
    except InputFileError:
        raise
    except _READ_ERRORS as exc:
        raise InputFileError(path, f"not a readable FITS file ({type(exc).__name__}: {_short(exc)})") from exc
    try:
        yield hdul
    finally:
        hdul.close()


def _short(msg: object, n: int = 160) -> str:
    text = " ".join(str(msg).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def extnames(hdul) -> list[str]:
    """Upper-case EXTNAME of each HDU ('' where absent)."""
    return [str(h.header.get("EXTNAME", "")).strip().upper() for h in hdul]


def find_hdu(hdul, *names: str, path: str | os.PathLike = "", required: bool = True):
    """The first HDU whose EXTNAME is one of ``names`` (case-insensitive), by name not position.

    Raises :class:`InputFileError` listing the extensions present if none matches and
    ``required``; returns None otherwise.
    """
    have = extnames(hdul)
    for name in names:
        if name.upper() in have:
            return hdul[have.index(name.upper())]
    if required:
        listed = ", ".join(n for n in have if n) or "none"
        raise InputFileError(path or "<fits>", f"no {'/'.join(names)} extension (extensions: {listed})")
    return None


_KEY = re.compile(r"^(?P<prefix>[A-Z_]+?)_?(?P<num>\d+)$")


def plane_labels(
    header: Mapping, n_planes: int, prefixes: Iterable[str] = ("DESC_", "NAME_", "NAME", "C")
) -> dict[int, str]:
    """Map 0-based plane index → label text from numbered header keys, in any key order.

    Pipe3D writes ``DESC_0 … DESC_19`` (0-based) or ``NAME0 …``; the MaNGA DAP writes
    ``C01 … C22`` (1-based). The base is inferred: keys running 1…n for n planes are 1-based.
    The first prefix that labels any plane wins.
    """
    for prefix in prefixes:
        found: dict[int, str] = {}
        for key in header:
            key = str(key)
            if key.startswith(prefix) and key[len(prefix) :].isdigit():
                found[int(key[len(prefix) :])] = str(header[key]).strip()
        if not found:
            continue
        lo, hi = min(found), max(found)
        base = 1 if (lo == 1 and hi == n_planes) else 0
        return {k - base: v for k, v in found.items() if 0 <= k - base < n_planes}
    return {}


def find_plane(
    labels: Mapping[int, str],
    include: str,
    exclude: str | None = None,
    *,
    path: str | os.PathLike = "",
    what: str = "",
) -> int:
    """Index of the plane whose label matches regex ``include`` and not ``exclude`` (case-insensitive).

    If several match, the lowest index wins (Pipe3D lists values before their errors).
    Raises :class:`InputFileError` naming the file and the wanted quantity if none matches.
    """
    inc = re.compile(include, re.IGNORECASE)
    exc = re.compile(exclude, re.IGNORECASE) if exclude else None
    hits = sorted(i for i, text in labels.items() if inc.search(text) and not (exc and exc.search(text)))
    if not hits:
        raise InputFileError(path or "<fits>", f"no plane labelled like {what or include!r} in the header")
    return hits[0]


def clean(values: np.ndarray, *, zero_is_missing: bool = False) -> np.ndarray:
    """float64 copy with sentinels (±1.797e308, ±inf, NaN, optionally exact 0) set to NaN."""
    out = np.array(values, dtype=np.float64, copy=True)
    bad = ~np.isfinite(out) | (np.abs(out) >= SENTINEL_ABS)
    if zero_is_missing:
        bad |= out == 0
    out[bad] = np.nan
    return out


def celestial_wcs(header, path: str | os.PathLike = ""):
    """The celestial WCS of a header, or None when it has none (no CTYPE RA/DEC)."""
    from astropy.wcs import WCS, FITSFixedWarning

    ctypes = [str(header.get(f"CTYPE{i}", "")).upper() for i in (1, 2)]
    if not (ctypes[0].startswith("RA") and ctypes[1].startswith("DEC")):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header, naxis=2)
    except Exception as exc:  # astropy raises many types for broken WCS
        raise InputFileError(
            path or "<fits>", f"unreadable WCS ({type(exc).__name__}: {_short(exc)})"
        ) from exc
    return wcs.celestial if wcs.has_celestial else None


def pixel_scale_arcsec(wcs) -> float:
    """Mean pixel side in arcsec of a celestial WCS."""
    from astropy.wcs.utils import proj_plane_pixel_scales

    return float(np.mean(proj_plane_pixel_scales(wcs)) * 3600.0)


def header_float(header: Mapping, *keys: str) -> float | None:
    """The first of ``keys`` present in the header with a finite numeric value, else None."""
    for key in keys:
        if key in header:
            try:
                value = float(header[key])
            except (TypeError, ValueError):
                continue
            if np.isfinite(value) and abs(value) < SENTINEL_ABS:
                return value
    return None


__all__ = [
    "SENTINEL_ABS",
    "celestial_wcs",
    "clean",
    "extnames",
    "find_hdu",
    "find_plane",
    "header_float",
    "open_fits",
    "pixel_scale_arcsec",
    "plane_labels",
]
