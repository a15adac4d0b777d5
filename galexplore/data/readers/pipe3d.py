"""Pipe3D maps in their three layouts, converted to the standard map channels.

Layouts
-------
* packed ``*.Pipe3D.cube.fits.gz`` (eCALIFA / MaNGA Pipe3D): extensions found by EXTNAME
  (``SSP``, ``FLUX_ELINES`` …), planes by their ``DESC_i`` / ``NAME_i`` text;
* classic split files: ``NAME.SSP.cube.fits.gz`` plus ``flux_elines.NAME.cube.fits.gz``
  beside it (optional: without it EW(Hα) is NaN);
* per-spaxel HDF5 (``*_allpix.pipe3d.hdf5``, edge_pydb): one table per product (``SSP``,
  ``flux_elines`` …) with one row per spaxel at (``ix``, ``iy``) and units in
  ``<group>.__table_column_meta__``.

Standard channels and conversions (:data:`galexplore.data.MAP_CHANNELS`)
-----------------------------------------------------------------------
``log_sigma_star``  log Σ* [M☉ pc⁻²] = log M_spaxel − 2 log10(s), with M_spaxel Pipe3D's
                    stellar mass per spaxel (not dust-corrected) and s the spaxel side in pc,
                    s = D_A · θ_pix; D_A = D_L / (1 + z)² (:mod:`~galexplore.data.readers.distances`).
``log_age_lw``      Pipe3D's luminosity-weighted log age [log yr], unchanged.
``zh_lw``           Pipe3D's luminosity-weighted [Z/H] [dex], unchanged (Pipe3D uses Z☉ = 0.02).
``log_ew_ha``       log10 |EW(Hα)| [log Å]; Pipe3D stores emission EWs as negative numbers.
``log_flux``        log10 of the median continuum intensity [10⁻¹⁶ erg s⁻¹ cm⁻² Å⁻¹] per spaxel
                    divided by the spaxel area in arcsec².

Sentinels (±1.797e308, NaN) and Pipe3D's 0 for "not fitted" become NaN.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from galexplore.data.columns import MAP_CHANNELS
from galexplore.data.readers import fits_utils as fu
from galexplore.data.readers.distances import distance_scale, spaxel_pc
from galexplore.data.readers.native import C_KMS, NativePlanes, peak_centre
from galexplore.data.readers.resample import Frame
from galexplore.errors import InputFileError

log = logging.getLogger(__name__)

CHANNELS = list(MAP_CHANNELS)
UNITS = list(MAP_CHANNELS.values())

#: CALIFA spaxel side [arcsec], assumed for FITS maps without WCS or pixel-scale keys.
DEFAULT_PIXEL_ARCSEC = 1.0

# (include, exclude) regexes on the plane labels of each SSP quantity.
SSP_PLANES = {
    "age": (r"luminosity[ -]?weighted (log(10)? )?age", r"error|mass[ -]weighted"),
    "zh": (r"luminosity[ -]?weighted metal", r"error|mass[ -]weighted"),
    # not the dust-corrected one, however it is worded ("… density dust corrected",
    # "… per pixel with dust correction"); "… without dust correction" is the one wanted
    "mass": (r"stellar mass density", r"error|\bwith dust|density dust"),
    "flux": (r"median intensity flux", r"stddev|error"),
    "vel": (r"velocity of the stellar population", r"error|dispersion"),
}
EW_HA = (r"^EW[ _]+(Ha|Halpha|H-alpha)\b|^EW[ _].*656[2-5]", r"^e_")


def _log_positive(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), np.nan)


def standard_planes(
    *,
    log_mass_spaxel: np.ndarray,
    log_age: np.ndarray,
    zh: np.ndarray,
    ew_ha: np.ndarray,
    cont_flux: np.ndarray,
    pixel_arcsec: float,
    d_a_mpc: float,
) -> np.ndarray:
    """Stack the standard channels (5, H, W) from Pipe3D quantities (see module doc)."""
    s_pc = spaxel_pc(d_a_mpc, pixel_arcsec)
    ew = np.abs(ew_ha)
    ew[ew == 0] = np.nan
    return np.stack(
        [
            log_mass_spaxel - 2.0 * np.log10(s_pc),
            log_age,
            zh,
            _log_positive(ew),
            _log_positive(cont_flux / pixel_arcsec**2),
        ]
    ).astype(np.float64)


def _systemic_z(vel: np.ndarray) -> float | None:
    v = vel[np.isfinite(vel) & (vel != 0)]
    return float(np.median(v) / C_KMS) if v.size else None


def _finish(gid, planes, frame, source, props, notes, *, distance_mpc, z, vel) -> NativePlanes:
    if z is None:
        z = _systemic_z(vel)
        if z is not None:
            notes["redshift"] = "median stellar velocity / c (no catalog redshift)"
    d_a, how = distance_scale(distance_mpc=distance_mpc, z=z)
    notes["distance"] = how
    notes["spaxel_pc"] = spaxel_pc(d_a, frame.pixel_arcsec)
    data = standard_planes(pixel_arcsec=frame.pixel_arcsec, d_a_mpc=d_a, **planes)
    props = {**props, "z": z, "distance_mpc_da": d_a, "map_pixel_arcsec": frame.pixel_arcsec}
    return NativePlanes(gid, data, CHANNELS, UNITS, frame, source, props, notes)


# -- FITS layouts --------------------------------------------------------------------------


def _ssp_planes(hdu, path) -> tuple[dict[str, np.ndarray], dict]:
    cube = np.asarray(hdu.data, dtype=np.float64)
    if cube.ndim != 3:
        raise InputFileError(path, f"SSP data has shape {cube.shape}, expected (planes, y, x)")
    labels = fu.plane_labels(hdu.header, cube.shape[0], ("DESC_", "NAME_", "NAME"))
    if not labels:
        raise InputFileError(path, "SSP cube has no DESC_i / NAME_i plane labels")
    idx = {
        k: fu.find_plane(labels, inc, exc, path=path, what=k)
        for k, (inc, exc) in SSP_PLANES.items()
        if k != "vel"
    }
    try:
        idx["vel"] = fu.find_plane(labels, *SSP_PLANES["vel"], path=path)
    except InputFileError:
        pass
    age = fu.clean(cube[idx["age"]])
    valid = np.isfinite(age) & (age != 0)  # Pipe3D writes 0 where no spectrum was fitted
    out = {k: np.where(valid, fu.clean(cube[i]), np.nan) for k, i in idx.items()}
    return out, {"planes": {k: f"{i}: {labels[i]}" for k, i in idx.items()}}


def _ew_plane(hdu, path, shape) -> tuple[np.ndarray, str]:
    cube = np.asarray(hdu.data, dtype=np.float64)
    labels = fu.plane_labels(hdu.header, cube.shape[0], ("NAME_", "NAME", "DESC_"))
    i = fu.find_plane(labels, *EW_HA, path=path, what="EW Ha")
    if cube.shape[1:] != shape:
        raise InputFileError(path, f"flux_elines planes {cube.shape[1:]} do not match the SSP planes {shape}")
    return fu.clean(cube[i], zero_is_missing=True), f"{i}: {labels[i]}"


def _fits_frame(header, shape, flux, path, pixel_arcsec) -> tuple[Frame, dict, dict]:
    wcs = fu.celestial_wcs(header, path)
    props: dict = {}
    notes: dict = {}
    if wcs is not None:
        pix = fu.pixel_scale_arcsec(wcs)
        ra, dec = fu.header_float(header, "OBJRA", "RA"), fu.header_float(header, "OBJDEC", "DEC")
        if ra is not None and dec is not None:
            col, row = (float(v) for v in wcs.all_world2pix(ra, dec, 0))
            notes["centre"] = "object position from the header"
        else:
            col, row = peak_centre(flux)
            ra, dec = (float(v) for v in wcs.all_pix2world(col, row, 0))
            notes["centre"] = "continuum peak"
        props.update(ra=ra, dec=dec)
        notes["wcs"] = True
    else:
        pix = pixel_arcsec or fu.header_float(header, "PIXSCALE", "SPAXSIZE") or DEFAULT_PIXEL_ARCSEC
        col, row = peak_centre(flux)
        notes.update(
            wcs=False, centre="continuum peak (no WCS)", orientation="assumed north up, east left (no WCS)"
        )
        if not pixel_arcsec and fu.header_float(header, "PIXSCALE", "SPAXSIZE") is None:
            notes["pixel_scale"] = (
                f"assumed {DEFAULT_PIXEL_ARCSEC} arcsec (no WCS); pass pixel_arcsec to override"
            )
    return Frame((col, row), pix, wcs), props, notes


def flux_elines_companion(ssp_path: str | os.PathLike) -> Path | None:
    """``flux_elines.NAME.cube.fits[.gz]`` beside ``NAME.SSP.cube.fits[.gz]``, if it exists."""
    p = Path(ssp_path)
    m = re.match(r"^(?P<name>.+)\.SSP\.cube\.fits(?P<gz>\.gz)?$", p.name, re.IGNORECASE)
    if not m:
        return None
    for suffix in (".cube.fits.gz", ".cube.fits"):
        cand = p.with_name(f"flux_elines.{m['name']}{suffix}")
        if cand.is_file():
            return cand
    return None


def _read_fits(path: Path, *, elines, distance_mpc, z, pixel_arcsec) -> NativePlanes:
    with fu.open_fits(path) as hdul:
        ssp = fu.find_hdu(hdul, "SSP", required=False)
        packed = ssp is not None
        if not packed:
            ssp = hdul[0]
        planes, notes = _ssp_planes(ssp, path)
        notes["layout"] = "packed Pipe3D cube" if packed else "classic SSP cube"
        hdr = ssp.header
        if packed:
            org = fu.find_hdu(hdul, "ORG_HDR", required=False)
            if org is not None and fu.celestial_wcs(ssp.header, path) is None:
                hdr = org.header
            fe = fu.find_hdu(hdul, "FLUX_ELINES", "FLUX_ELINES_LONG", required=False)
            if fe is not None:
                planes["ew_ha"], notes["ew_plane"] = _ew_plane(fe, path, planes["age"].shape)
        gid = str(hdr.get("OBJECT", "") or ssp.header.get("OBJECT", "")).strip() or _stem(path)
        if z is None:
            z = fu.header_float(hdr, "REDSHIFT", "Z", "MED_VEL_Z")
        frame, props, fnotes = _fits_frame(hdr, planes["age"].shape, planes["flux"], path, pixel_arcsec)
    notes.update(fnotes)
    if "ew_ha" not in planes:
        elines = Path(elines) if elines else flux_elines_companion(path)
        if elines is not None:
            with fu.open_fits(elines) as eh:
                planes["ew_ha"], notes["ew_plane"] = _ew_plane(eh[0], elines, planes["age"].shape)
            notes["flux_elines_file"] = str(elines)
        else:
            planes["ew_ha"] = np.full(planes["age"].shape, np.nan)
            notes["ew_plane"] = "none: no flux_elines product found, log_ew_ha is NaN"
    vel = planes.pop("vel", np.full(planes["age"].shape, np.nan))
    stack = {
        "log_mass_spaxel": planes["mass"],
        "log_age": planes["age"],
        "zh": planes["zh"],
        "ew_ha": planes["ew_ha"],
        "cont_flux": planes["flux"],
    }
    return _finish(gid, stack, frame, str(path), props, notes, distance_mpc=distance_mpc, z=z, vel=vel)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".fits", ".cube", ".SSP", ".Pipe3D", ".hdf5", ".h5", ".pipe3d", "_allpix"):
        if name.lower().endswith(suffix.lower()):
            name = name[: -len(suffix)]
    return name


# -- HDF5 layout ---------------------------------------------------------------------------


def _hdf5_units(f, group: str) -> dict[str, str]:
    from astropy.io.misc import yaml

    key = f"{group}.__table_column_meta__"
    if key not in f:
        return {}
    text = "\n".join(x.decode() if isinstance(x, bytes) else str(x) for x in f[key][()])
    try:
        meta = yaml.load(text)
    except Exception:  # an unreadable header only loses the unit check
        return {}
    return {d["name"]: str(d.get("unit", "")) for d in meta.get("datatype", []) if "name" in d}


def _expect_unit(units: dict[str, str], col: str, allowed: tuple[str, ...], path) -> None:
    unit = units.get(col)
    if unit is not None and unit.replace(" ", "") not in {a.replace(" ", "") for a in allowed}:
        raise InputFileError(path, f"column {col} has unit {unit!r}, expected {allowed[0]!r}")


def _grid_from_offsets(ix, iy, ra_off, dec_off, dec) -> tuple[float, tuple[float, float]]:
    """Spaxel size [arcsec] and centre (col, row) where the offsets vanish, by least squares."""
    a_dec = np.polyfit(iy, dec_off * 3600.0, 1)
    a_ra = np.polyfit(ix, ra_off * 3600.0 * np.cos(np.deg2rad(dec)), 1)
    pix = float(abs(a_dec[0]))
    return pix, (float(-a_ra[1] / a_ra[0]), float(-a_dec[1] / a_dec[0]))


def _read_hdf5(path: Path, *, distance_mpc, z) -> NativePlanes:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            for g in ("SSP", "flux_elines"):
                if g not in f:
                    raise InputFileError(path, f"no {g!r} table in the HDF5 file (has {sorted(f.keys())})")
            ssp, fe = f["SSP"][()], f["flux_elines"][()]
            units = {**_hdf5_units(f, "SSP"), **_hdf5_units(f, "flux_elines")}
    except InputFileError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise InputFileError(path, f"not a readable Pipe3D HDF5 file ({type(exc).__name__}: {exc})") from exc
    need = {
        "ix",
        "iy",
        "ra_abs",
        "dec_abs",
        "ra_off",
        "dec_off",
        "age_lwt",
        "ZH_lwt",
        "mass_ssp",
        "medflx_ssp",
    }
    missing = need - set(ssp.dtype.names or ())
    if missing or "EW_Halpha" not in (fe.dtype.names or ()):
        raise InputFileError(
            path,
            f"Pipe3D HDF5 tables lack columns {sorted(missing | ({'EW_Halpha'} - set(fe.dtype.names or ())))}",
        )
    for col, allowed in {
        "age_lwt": ("dex(yr)",),
        "ZH_lwt": ("dex",),
        "mass_ssp": ("dex(solMass / pix2)",),
        "medflx_ssp": ("1e-16 erg / (Angstrom s cm2)",),
        "EW_Halpha": ("Angstrom",),
    }.items():
        _expect_unit(units, col, allowed, path)
    ix, iy = ssp["ix"].astype(int), ssp["iy"].astype(int)
    shape = (int(iy.max()) + 1, int(ix.max()) + 1)

    def grid(table, col) -> np.ndarray:
        out = np.full(shape, np.nan)
        out[table["iy"].astype(int), table["ix"].astype(int)] = fu.clean(table[col])
        return out

    pix, centre = _grid_from_offsets(ix, iy, ssp["ra_off"], ssp["dec_off"], ssp["dec_abs"])
    k = int(np.argmin(np.hypot(ix - centre[0], iy - centre[1])))
    props = {
        "ra": float(ssp["ra_abs"][k] - ssp["ra_off"][k]),
        "dec": float(ssp["dec_abs"][k] - ssp["dec_off"][k]),
    }
    name = ssp["Name"][0] if "Name" in ssp.dtype.names else b""
    gid = (name.decode() if isinstance(name, bytes) else str(name)).strip() or _stem(path)
    notes = {
        "layout": "per-spaxel HDF5",
        "columns": "SSP: age_lwt, ZH_lwt, mass_ssp, medflx_ssp; flux_elines: EW_Halpha",
        "pixel_scale": f"{pix:.4f} arcsec from the dec_off column",
        "centre": "where ra_off = dec_off = 0",
        "orientation": "ix increases to the west, iy to the north (from ra_off, dec_off)",
    }
    stack = {
        "log_mass_spaxel": grid(ssp, "mass_ssp"),
        "log_age": grid(ssp, "age_lwt"),
        "zh": grid(ssp, "ZH_lwt"),
        "ew_ha": grid(fe, "EW_Halpha"),
        "cont_flux": grid(ssp, "medflx_ssp"),
    }
    vel = grid(ssp, "vel_ssp") if "vel_ssp" in ssp.dtype.names else np.full(shape, np.nan)
    return _finish(
        gid, stack, Frame(centre, pix, None), str(path), props, notes, distance_mpc=distance_mpc, z=z, vel=vel
    )


# -- entry point ---------------------------------------------------------------------------


def is_flux_elines(path: str | os.PathLike) -> bool:
    """True for a classic ``flux_elines.NAME.cube.fits[.gz]`` companion file."""
    return Path(path).name.lower().startswith("flux_elines.")


def read_pipe3d(
    path: str | os.PathLike,
    *,
    elines: str | os.PathLike | None = None,
    distance_mpc: float | None = None,
    z: float | None = None,
    pixel_arcsec: float | None = None,
) -> NativePlanes:
    """Read one galaxy's Pipe3D maps, in any of the three layouts, as the standard channels.

    Parameters
    ----------
    path : path-like
        A packed ``*.Pipe3D.cube.fits.gz``, a classic ``*.SSP.cube.fits.gz`` or a per-spaxel
        ``*.pipe3d.hdf5``.
    elines : path-like, optional
        The ``flux_elines`` cube of a classic SSP cube; default: found beside it by name.
    distance_mpc : float, optional
        Luminosity distance [Mpc] (e.g. the catalog's ``DL``); default: from ``z``.
    z : float, optional
        Redshift; default: the header's, else the median stellar velocity / c.
    pixel_arcsec : float, optional
        Spaxel side for FITS maps without WCS (default 1″, CALIFA's).

    Raises
    ------
    InputFileError
        If the file is unreadable, truncated, or lacks a needed plane; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    import h5py

    try:
        hdf5 = h5py.is_hdf5(path)
    except OSError:
        hdf5 = False
    try:
        if hdf5:
            return _read_hdf5(path, distance_mpc=distance_mpc, z=z)
        return _read_fits(path, elines=elines, distance_mpc=distance_mpc, z=z, pixel_arcsec=pixel_arcsec)
    except ValueError as exc:  # e.g. no distance: still a problem with this input
        raise InputFileError(path, str(exc)) from exc


__all__ = ["CHANNELS", "UNITS", "flux_elines_companion", "is_flux_elines", "read_pipe3d", "standard_planes"]
