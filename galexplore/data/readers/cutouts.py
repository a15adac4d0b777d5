"""Multi-band FITS cutouts (e.g. DECaLS g, r, z; HST single-band), with or without WCS.

A cutout is a (B, H, W) cube or a single (H, W) image in the primary HDU or the first image
extension. Band names come from, in order: the ``bands`` argument, ``BAND0 … BANDn`` keys,
a ``BANDS`` string (``'grz'``), ``FILTER`` / ``FILTER1``; otherwise ``band0`` ….

Values stay linear flux per pixel in the file's unit: ``BUNIT`` when present, nanomaggies
for Legacy Survey / DECaLS files (``SURVEY`` key), else ``"unknown"``. Bad pixels become NaN:
non-finite values, sentinels, and pixels that are exactly 0.0 (the Legacy Survey writes 0 where
a band has no exposure; sky-subtracted real data is never exactly zero). The fraction of bad
pixels per band is kept in ``properties["bad_pixel_frac"]``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from galexplore.data.readers import fits_utils as fu
from galexplore.data.readers.native import NativePlanes
from galexplore.data.readers.resample import Frame, Geometry, centre_square, resample, resize
from galexplore.data.synthetic.geometry import Grid
from galexplore.errors import InputFileError

#: Pixel values exactly equal to this are "no data" in Legacy Survey cutouts.
NO_DATA = 0.0


def _image_hdu(hdul, path):
    for hdu in hdul:
        if hdu.data is not None and getattr(hdu.data, "ndim", 0) in (2, 3) and hdu.data.dtype.kind in "fiu":
            return hdu
    raise InputFileError(path, "no 2-D image or 3-D cube in any HDU")


def band_names(header, n: int, bands: list[str] | None = None, path: str | os.PathLike = "") -> list[str]:
    """Names of the ``n`` bands of a cutout (see module doc for the order of sources)."""
    if bands:
        if len(bands) != n:
            raise InputFileError(
                path, f"{n} bands in the file but {len(bands)} names given ({','.join(bands)})"
            )
        return list(bands)
    keyed = fu.plane_labels(header, n, ("BAND",))
    if len(keyed) == n:
        return [keyed[i].strip() for i in range(n)]
    packed = str(header.get("BANDS", "")).strip()
    if len(packed) == n:
        return list(packed)
    for key in ("FILTER", "FILTER1", "FILTNAM1"):
        if n == 1 and str(header.get(key, "")).strip():
            return [str(header[key]).strip()]
    return [f"band{i}" for i in range(n)]


def flux_unit(header) -> str:
    """The pixel unit of a cutout (see module doc)."""
    bunit = str(header.get("BUNIT", "")).strip()
    if bunit:
        return bunit
    survey = str(header.get("SURVEY", "")).upper()
    if "DECALS" in survey or "LEGACY" in survey or survey == "DES":
        return "nanomaggy"
    return "unknown"


def read_cutout(path: str | os.PathLike, *, bands: list[str] | None = None) -> NativePlanes:
    """Read one FITS cutout as (B, H, W) linear flux per pixel, bad pixels NaN.

    Raises
    ------
    InputFileError
        For a truncated, corrupt or empty file, or a band-count mismatch; names the file.
    """
    path = Path(path)
    with fu.open_fits(path) as hdul:
        hdu = _image_hdu(hdul, path)
        header = hdu.header
        cube = np.asarray(hdu.data, dtype=np.float64)
        if cube.ndim == 2:
            cube = cube[None]
        names = band_names(header, cube.shape[0], bands, path)
        wcs = fu.celestial_wcs(header, path)
        data = fu.clean(cube, zero_is_missing=True)
    bad = np.isnan(data).mean(axis=(1, 2))
    h, w = data.shape[1:]
    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    props: dict = {"bad_pixel_frac": float(bad.mean())}
    if wcs is not None:
        ra, dec = (float(v) for v in wcs.all_pix2world(centre[0], centre[1], 0))
        props.update(ra=ra, dec=dec, image_pixel_arcsec=fu.pixel_scale_arcsec(wcs))
    notes = {"wcs": wcs is not None, "bad_pixel_frac": {b: float(f) for b, f in zip(names, bad, strict=True)}}
    if bad.max() >= 1.0:
        notes["empty_bands"] = [b for b, f in zip(names, bad, strict=True) if f >= 1.0]
    frame = Frame(centre, props.get("image_pixel_arcsec", 1.0), wcs)
    unit = flux_unit(header)
    return NativePlanes(
        path.name.split(".")[0], data, names, [unit] * len(names), frame, str(path), props, notes
    )


def to_common(
    cut: NativePlanes, *, size: int | None = None, pixel_arcsec: float | None = None, crop: float = 1.0
) -> tuple[np.ndarray, float | None]:
    """A cutout on a common grid; flux per pixel is rescaled by the pixel-area ratio.

    ``pixel_arcsec`` and ``size``: a ``size``×``size`` grid of that pixel scale around the
    centre (needs a WCS). ``size`` alone: centre-crop to a square (keeping the central ``crop``
    fraction of its side, see :func:`~galexplore.data.readers.resample.centre_square`) and
    resize. Neither: as is. Returns the planes and the output pixel scale (None when unknown).
    """
    native_pix = cut.properties.get("image_pixel_arcsec")
    if pixel_arcsec is not None:
        if cut.frame.wcs is None:
            raise InputFileError(cut.source, "has no WCS, so it cannot be resampled to a pixel scale")
        n = size or int(round(min(cut.data.shape[1:]) * native_pix / pixel_arcsec))
        out, _ = resample(
            cut.data,
            cut.frame,
            grid=Grid(n, n * pixel_arcsec / 2, 0),
            geometry=Geometry(),
            extent_arcsec=n * pixel_arcsec / 2,
        )
        return out * (pixel_arcsec / native_pix) ** 2, pixel_arcsec
    if size is not None:
        square = centre_square(cut.data, crop)
        scale = square.shape[-1] / size
        out = resize(square, size) * scale**2
        return out, native_pix * scale if native_pix else None
    return cut.data.astype(np.float32), native_pix


__all__ = ["band_names", "flux_unit", "read_cutout", "to_common"]
