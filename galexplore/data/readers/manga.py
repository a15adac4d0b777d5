"""MaNGA DAP ``MAPS`` files: EW(Hα), Hα flux, stellar velocity and dispersion, D4000.

Extensions are found by EXTNAME and channels by the ``Cnn`` names in each header (Hα is
``Ha-6564``, channel 18 counting from 0 in DR15–DR17, but found by name here). Each map's
``_IVAR`` and ``_MASK`` extensions are applied: a spaxel is NaN where IVAR ≤ 0, where any of
the :data:`MASK_BITS` is set in its MASK, or (with ``min_snr``) where value·√IVAR < min_snr.

The channel set (:data:`CHANNELS`) differs from Pipe3D's: the DAP has no age, metallicity
or mass maps. Conversions:

``log_ew_ha``      log10 EW(Hα) [log Å] from ``EMLINE_GEW`` (the DAP's EW is positive for
                   emission; EW ≤ 0 becomes NaN);
``log_flux_ha``    log10 Gaussian Hα flux per arcsec² [log 10⁻¹⁷ erg s⁻¹ cm⁻² arcsec⁻²]:
                   ``EMLINE_GFLUX`` (per spaxel) / spaxel area;
``stellar_vel``    ``STELLAR_VEL`` [km s⁻¹], relative to the input redshift;
``stellar_sigma``  √(σ² − σ_corr²) [km s⁻¹], ``STELLAR_SIGMA`` corrected for the instrumental
                   resolution with ``STELLAR_SIGMACORR`` as the DAP recommends (NaN where σ < σ_corr);
``d4000``          ``SPECINDEX`` channel ``D4000`` (dimensionless).

The file's own geometry (``REFF`` [arcsec], ``ECOOPA`` [deg], ``ECOOELL`` = 1 − b/a) and the
object position (``OBJRA``, ``OBJDEC``) are used unless a catalog gives them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from galexplore.data.readers import fits_utils as fu
from galexplore.data.readers.native import C_KMS, NativePlanes
from galexplore.data.readers.resample import Frame
from galexplore.errors import InputFileError

CHANNELS = ["log_ew_ha", "log_flux_ha", "stellar_vel", "stellar_sigma", "d4000"]
UNITS = ["log Å", "log 10⁻¹⁷ erg s⁻¹ cm⁻² arcsec⁻²", "km s⁻¹", "km s⁻¹", ""]

#: MANGA_DAPPIXMASK bits that make a value unusable: DONOTUSE (30) and UNRELIABLE (5).
MASK_BITS = {"DONOTUSE": 30, "UNRELIABLE": 5}


def _masked(hdul, name: str, path, channel: int | None, min_snr: float) -> np.ndarray:
    """Values of one map (one channel of a multi-channel map) with IVAR and MASK applied."""
    data = fu.find_hdu(hdul, name, path=path).data
    ivar = fu.find_hdu(hdul, f"{name}_IVAR", path=path).data
    mask = fu.find_hdu(hdul, f"{name}_MASK", path=path).data
    if channel is not None:
        data, ivar, mask = data[channel], ivar[channel], mask[channel]
    values = fu.clean(data)
    bits = sum(1 << b for b in MASK_BITS.values())
    bad = (np.asarray(ivar) <= 0) | ((np.asarray(mask).astype(np.int64) & bits) != 0)
    if min_snr > 0:
        with np.errstate(invalid="ignore"):
            bad |= np.abs(values) * np.sqrt(np.clip(ivar, 0, None)) < min_snr
    values[bad] = np.nan
    return values


def _channel(hdul, name: str, label_regex: str, path) -> tuple[int, str]:
    hdu = fu.find_hdu(hdul, name, path=path)
    labels = fu.plane_labels(hdu.header, hdu.data.shape[0], ("C",))
    i = fu.find_plane(labels, label_regex, path=path, what=f"{name} {label_regex}")
    return i, labels[i]


def read_manga_maps(path: str | os.PathLike, *, min_snr: float = 0.0) -> NativePlanes:
    """Read one MaNGA DAP MAPS file as :data:`CHANNELS` on its own 0.5″ spaxel grid.

    Parameters
    ----------
    path : path-like
        A ``manga-PLATE-IFU-MAPS-*.fits[.gz]`` file.
    min_snr : float
        Also blank values with S/N = |value|·√IVAR below this (0: IVAR > 0 only).

    Raises
    ------
    InputFileError
        If the file is unreadable or lacks an extension or channel; the message names it.
    """
    path = Path(path)
    with fu.open_fits(path) as hdul:
        primary = hdul[0].header
        ha, ha_label = _channel(hdul, "EMLINE_GEW", r"^H(a|alpha)-?65(6[2-5])", path)
        ha_f, _ = _channel(hdul, "EMLINE_GFLUX", r"^H(a|alpha)-?65(6[2-5])", path)
        d4000, d_label = _channel(hdul, "SPECINDEX", r"^D4000$", path)
        ew = _masked(hdul, "EMLINE_GEW", path, ha, min_snr)
        flux = _masked(hdul, "EMLINE_GFLUX", path, ha_f, min_snr)
        vel = _masked(hdul, "STELLAR_VEL", path, None, 0.0)
        sigma = _masked(hdul, "STELLAR_SIGMA", path, None, 0.0)
        corr = fu.find_hdu(hdul, "STELLAR_SIGMACORR", required=False)
        d4 = _masked(hdul, "SPECINDEX", path, d4000, min_snr)
        ref = fu.find_hdu(hdul, "EMLINE_GFLUX", path=path).header
        wcs = fu.celestial_wcs(ref, path)
        if wcs is None:
            raise InputFileError(path, "EMLINE_GFLUX has no celestial WCS")
        sig_corr = fu.clean(corr.data) if corr is not None else np.zeros_like(sigma)
    pix = fu.pixel_scale_arcsec(wcs)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = sigma**2 - np.nan_to_num(sig_corr) ** 2
        sigma_c = np.where(s2 > 0, np.sqrt(np.where(s2 > 0, s2, 0)), np.nan)
        sigma_c[~np.isfinite(sigma)] = np.nan
        log_ew = np.where(ew > 0, np.log10(np.where(ew > 0, ew, 1)), np.nan)
        log_f = np.where(flux > 0, np.log10(np.where(flux > 0, flux, 1) / pix**2), np.nan)
    ra = fu.header_float(primary, "OBJRA", "IFURA")
    dec = fu.header_float(primary, "OBJDEC", "IFUDEC")
    col, row = (
        (float(v) for v in wcs.all_world2pix(ra, dec, 0))
        if ra is not None
        else ((ew.shape[1] - 1) / 2, (ew.shape[0] - 1) / 2)
    )
    ell = fu.header_float(primary, "ECOOELL")
    vel_in = fu.header_float(primary, "SCINPVEL")
    props = {
        "ra": ra,
        "dec": dec,
        "z": vel_in / C_KMS if vel_in is not None else None,
        "re_arcsec": fu.header_float(primary, "REFF"),
        "pa_deg": fu.header_float(primary, "ECOOPA"),
        "axis_ratio": 1.0 - ell if ell is not None else None,
        "map_pixel_arcsec": pix,
        "mangaid": str(primary.get("MANGAID", "")).strip() or None,
    }
    notes = {
        "layout": "MaNGA DAP MAPS",
        "dap_type": str(primary.get("DAPTYPE", "")),
        "dap_version": str(primary.get("VERSDAP", "")),
        "halpha_channel": f"{ha}: {ha_label}",
        "d4000_channel": f"{d4000}: {d_label}",
        "mask_bits": MASK_BITS,
        "min_snr": min_snr,
        "sigma_correction": "sqrt(STELLAR_SIGMA^2 - STELLAR_SIGMACORR^2)"
        if corr is not None
        else "none (no STELLAR_SIGMACORR)",
        "redshift": "SCINPVEL / c",
    }
    gid = str(primary.get("PLATEIFU", "")).strip() or path.name.split(".")[0]
    data = np.stack([log_ew, log_f, vel, sigma_c, d4])
    return NativePlanes(
        gid, data, list(CHANNELS), list(UNITS), Frame((col, row), pix, wcs), str(path), props, notes
    )


__all__ = ["CHANNELS", "MASK_BITS", "UNITS", "read_manga_maps"]
