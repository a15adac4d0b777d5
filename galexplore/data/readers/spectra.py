"""1-D spectra: DESI coadds (+ redrock), SDSS spec-lite and MaNGA spectra, onto one grid.

Every reader returns :class:`Spectrum` objects with the observed-frame wavelength [Å], flux
[10⁻¹⁷ erg s⁻¹ cm⁻² Å⁻¹] and inverse variance; pixels with IVAR ≤ 0 or a non-zero MASK are
NaN in ``flux``. :func:`common_grid` then puts a batch on one wavelength grid.

* **DESI coadd** (``coadd-*.fits``): each arm's ``<ARM>_WAVELENGTH``, ``_FLUX``, ``_IVAR``,
  ``_MASK`` extension, found by EXTNAME (arms b, r, z, or any others). The arms are merged onto
  one grid spanning them all, with the DESI step; where arms overlap the flux is the
  inverse-variance weighted mean. The redshift comes from the redrock file (``REDSHIFTS``
  table, matched on ``TARGETID``): passed explicitly, or found beside the coadd by replacing
  ``coadd-`` with ``redrock-`` (or ``zbest-``). Positions from ``FIBERMAP``.
* **SDSS spec-lite** (``spec-PLATE-MJD-FIBER.fits``): ``COADD`` table (``loglam``, ``flux``,
  ``ivar``, ``and_mask``) and the ``SPALL``/``SPECOBJ`` row for ``Z``, ``PLUG_RA``, ``PLUG_DEC``.
* **MaNGA spectra**: ``WAVE``, ``FLUX``, ``IVAR``, ``MASK`` (rows are spectra) and ``Z``;
  flux per spaxel.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from galexplore.data.readers import fits_utils as fu
from galexplore.errors import InputFileError

FLUX_UNIT = "1e-17 erg s-1 cm-2 Angstrom-1"


@dataclass
class Spectrum:
    """One spectrum on its own grid: wavelength (L,) Å, flux (L,) (NaN where bad), ivar (L,)."""

    galaxy_id: str
    wave: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray
    source: str
    unit: str = FLUX_UNIT
    properties: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


def _good(flux, ivar, mask=None) -> tuple[np.ndarray, np.ndarray]:
    flux = fu.clean(flux)
    ivar = np.where(np.isfinite(ivar), np.asarray(ivar, dtype=np.float64), 0.0)
    bad = (ivar <= 0) | ~np.isfinite(flux)
    if mask is not None:
        bad |= np.asarray(mask) != 0
    ivar = np.where(bad, 0.0, ivar)
    return np.where(bad, np.nan, flux), ivar


def merge_arms(
    arms: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge arms (wave, flux, ivar) onto one grid with the finest step; overlaps ivar-weighted.

    Returns (wave, flux, ivar); flux is NaN where no arm has a good pixel.
    """
    step = min(float(np.median(np.diff(w))) for w, _, _ in arms)
    lo = min(float(w[0]) for w, _, _ in arms)
    hi = max(float(w[-1]) for w, _, _ in arms)
    wave = lo + step * np.arange(int(round((hi - lo) / step)) + 1)
    num = np.zeros_like(wave)
    den = np.zeros_like(wave)
    for w, f, iv in arms:
        idx = np.rint((w - lo) / step).astype(int)
        if np.max(np.abs(wave[np.clip(idx, 0, len(wave) - 1)] - w)) < 1e-3 * step:
            fi, ivi = np.zeros_like(wave), np.zeros_like(wave)
            fi[idx], ivi[idx] = np.nan_to_num(f), iv
        else:  # arms on another grid: interpolate the flux, take the nearest ivar
            inside = (wave >= w[0]) & (wave <= w[-1])
            fi = np.where(inside, np.interp(wave, w, np.nan_to_num(f)), 0.0)
            near = np.clip(np.searchsorted(w, wave), 0, len(w) - 1)
            ivi = np.where(inside, iv[near], 0.0)
        num += fi * ivi
        den += ivi
    with np.errstate(invalid="ignore", divide="ignore"):
        flux = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return wave, flux, den


def redrock_companion(coadd: str | os.PathLike) -> Path | None:
    """The redrock (or zbest) file beside a DESI coadd, if there is one."""
    p = Path(coadd)
    for prefix in ("redrock-", "zbest-"):
        cand = p.with_name(re.sub(r"^coadd-", prefix, p.name))
        if cand != p and cand.is_file():
            return cand
    return None


def read_redrock(path: str | os.PathLike) -> dict[int, dict[str, Any]]:
    """TARGETID → {z, zerr, zwarn, spectype, deltachi2} from a redrock/zbest file."""
    from astropy.table import Table

    with fu.open_fits(path) as hdul:
        hdu = fu.find_hdu(hdul, "REDSHIFTS", "ZBEST", path=path)
        t = Table.read(hdu)
    out = {}
    for row in t:
        out[int(row["TARGETID"])] = {
            "z": float(row["Z"]),
            "zerr": float(row["ZERR"]) if "ZERR" in t.colnames else np.nan,
            "zwarn": int(row["ZWARN"]) if "ZWARN" in t.colnames else 0,
            "spectype": str(row["SPECTYPE"]).strip() if "SPECTYPE" in t.colnames else "",
            "deltachi2": float(row["DELTACHI2"]) if "DELTACHI2" in t.colnames else np.nan,
        }
    return out


def read_desi_coadd(path: str | os.PathLike, *, redrock: str | os.PathLike | None = None) -> list[Spectrum]:
    """One merged spectrum per target of a DESI coadd, with its redrock redshift."""
    from astropy.table import Table

    path = Path(path)
    with fu.open_fits(path) as hdul:
        names = fu.extnames(hdul)
        arms = sorted(n[: -len("_WAVELENGTH")] for n in names if n.endswith("_WAVELENGTH"))
        if not arms:
            raise InputFileError(path, "no <ARM>_WAVELENGTH extensions: not a DESI coadd")
        per_arm = {}
        for arm in arms:
            w = np.asarray(fu.find_hdu(hdul, f"{arm}_WAVELENGTH", path=path).data, dtype=np.float64)
            f = np.atleast_2d(fu.find_hdu(hdul, f"{arm}_FLUX", path=path).data)
            iv = np.atleast_2d(fu.find_hdu(hdul, f"{arm}_IVAR", path=path).data)
            m = fu.find_hdu(hdul, f"{arm}_MASK", required=False)
            per_arm[arm] = (w, f, iv, np.atleast_2d(m.data) if m is not None else None)
        fibermap = Table.read(fu.find_hdu(hdul, "FIBERMAP", path=path))
    rr_path = Path(redrock) if redrock else redrock_companion(path)
    zs = read_redrock(rr_path) if rr_path else {}
    out = []
    for i, row in enumerate(fibermap):
        tid = int(row["TARGETID"])
        arm_list = []
        for w, f, iv, m in per_arm.values():
            flux, ivar = _good(f[i], iv[i], None if m is None else m[i])
            arm_list.append((w, flux, ivar))
        wave, flux, ivar = merge_arms(arm_list)
        rr = zs.get(tid, {})
        props = {
            "ra": float(row["TARGET_RA"]),
            "dec": float(row["TARGET_DEC"]),
            "z": rr.get("z", np.nan),
            **{k: v for k, v in rr.items() if k != "z"},
            "targetid": tid,
        }
        notes = {
            "layout": "DESI coadd",
            "arms": [a.lower() for a in arms],
            "redshift": f"redrock {rr_path.name}" if rr else "none (no redrock file or TARGETID not in it)",
        }
        out.append(Spectrum(str(tid), wave, flux, ivar, str(path), FLUX_UNIT, props, notes))
    return out


def read_sdss_speclite(path: str | os.PathLike) -> list[Spectrum]:
    """The spectrum of an SDSS ``spec-PLATE-MJD-FIBER.fits`` (lite) file."""
    from astropy.table import Table

    path = Path(path)
    with fu.open_fits(path) as hdul:
        coadd = Table.read(fu.find_hdu(hdul, "COADD", path=path))
        info_hdu = fu.find_hdu(hdul, "SPALL", "SPECOBJ", required=False)
        info = Table.read(info_hdu)[0] if info_hdu is not None else None
    cols = {c.lower(): c for c in coadd.colnames}
    for need in ("loglam", "flux", "ivar"):
        if need not in cols:
            raise InputFileError(path, f"COADD table has no {need!r} column")
    mask = coadd[cols["and_mask"]] if "and_mask" in cols else None
    flux, ivar = _good(coadd[cols["flux"]], coadd[cols["ivar"]], mask)
    wave = 10.0 ** np.asarray(coadd[cols["loglam"]], dtype=np.float64)
    props: dict[str, Any] = {}
    gid = path.name.split(".")[0].removeprefix("spec-")
    if info is not None:
        icols = {c.upper(): c for c in info.colnames}
        for key, name in (("z", "Z"), ("ra", "PLUG_RA"), ("dec", "PLUG_DEC")):
            if name in icols:
                props[key] = float(info[icols[name]])
        if {"PLATE", "MJD", "FIBERID"} <= set(icols):
            gid = (
                f"{int(info[icols['PLATE']]):04d}-{int(info[icols['MJD']])}-{int(info[icols['FIBERID']]):04d}"
            )
    return [Spectrum(gid, wave, flux, ivar, str(path), FLUX_UNIT, props, {"layout": "SDSS spec-lite"})]


def read_manga_spectra(path: str | os.PathLike) -> list[Spectrum]:
    """Each row of a MaNGA spectra file (``WAVE``, ``FLUX``, ``IVAR``, ``MASK``, ``Z``)."""
    path = Path(path)
    with fu.open_fits(path) as hdul:
        wave = np.asarray(fu.find_hdu(hdul, "WAVE", path=path).data, dtype=np.float64)
        flux = np.atleast_2d(fu.find_hdu(hdul, "FLUX", path=path).data)
        ivar = np.atleast_2d(fu.find_hdu(hdul, "IVAR", path=path).data)
        m = fu.find_hdu(hdul, "MASK", required=False)
        mask = np.atleast_2d(m.data) if m is not None else np.zeros(flux.shape, dtype=int)
        zh = fu.find_hdu(hdul, "Z", required=False)
        z = np.atleast_1d(zh.data).astype(float) if zh is not None else np.full(len(flux), np.nan)
    if flux.shape[-1] != wave.size:
        raise InputFileError(path, f"FLUX has {flux.shape[-1]} pixels but WAVE has {wave.size}")
    base = path.name.split(".")[0]
    out = []
    for i in range(flux.shape[0]):
        f, iv = _good(flux[i], ivar[i], mask[i])
        out.append(
            Spectrum(
                f"{base}-{i}",
                wave,
                f,
                iv,
                str(path),
                FLUX_UNIT + " spaxel-1",
                {"z": float(z[i])},
                {"layout": "MaNGA spectra", "row": i},
            )
        )
    return out


def is_redrock(path: str | os.PathLike) -> bool:
    """True for a redrock/zbest file (a companion of a coadd, not spectra itself)."""
    name = Path(path).name.lower()
    return name.startswith(("redrock-", "zbest-"))


def read_spectra(path: str | os.PathLike, *, redrock: str | os.PathLike | None = None) -> list[Spectrum]:
    """Read any supported spectra file, recognised by its extensions (see module doc)."""
    path = Path(path)
    with fu.open_fits(path) as hdul:
        names = set(fu.extnames(hdul))
    if any(n.endswith("_WAVELENGTH") for n in names):
        return read_desi_coadd(path, redrock=redrock)
    if "COADD" in names:
        return read_sdss_speclite(path)
    if {"WAVE", "FLUX"} <= names:
        return read_manga_spectra(path)
    if names & {"REDSHIFTS", "ZBEST"}:
        raise InputFileError(path, "is a redrock redshift file; give it together with its coadd")
    raise InputFileError(
        path,
        f"not a recognised spectra file (extensions: {', '.join(sorted(n for n in names if n)) or 'none'})",
    )


def common_grid(spectra: list[Spectrum], wave: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Put spectra on one wavelength grid: (wave (L,), flux (N, L) float32, NaN outside/bad).

    The default grid is the first spectrum's; spectra on another grid are linearly
    interpolated (bad pixels stay NaN, nothing is extrapolated).
    """
    if wave is None:
        wave = spectra[0].wave
    out = np.full((len(spectra), wave.size), np.nan, dtype=np.float32)
    for i, s in enumerate(spectra):
        if s.wave.shape == wave.shape and np.allclose(s.wave, wave):
            out[i] = s.flux
            continue
        good = np.isfinite(s.flux)
        f = np.interp(wave, s.wave, np.where(good, s.flux, 0.0), left=np.nan, right=np.nan)
        g = np.interp(wave, s.wave, good.astype(float), left=0.0, right=0.0)
        out[i] = np.where(g > 0.999, f, np.nan)
    return np.asarray(wave, dtype=np.float64), out


__all__ = [
    "FLUX_UNIT",
    "Spectrum",
    "common_grid",
    "is_redrock",
    "merge_arms",
    "read_desi_coadd",
    "read_manga_spectra",
    "read_redrock",
    "read_sdss_speclite",
    "read_spectra",
    "redrock_companion",
]
