"""Property catalogs → the standard columns and units of DESIGN §2, plus ``sf_class``.

The layout is recognised by its columns, whatever the container (FITS table, ECSV, CSV,
Parquet). Every conversion is listed in :data:`LAYOUTS` and returned with the table, so that
``survey.json`` can record it. Columns that are not converted pass through under their own
names; in every numeric column the missing-value sentinels become NaN (±1.797e308, ±inf,
and, in the CALIFA tables, ``-12``).

Layouts and conversions
-----------------------
``pypipe3d`` — eCALIFA pyPipe3D integrated table (``ecalifa_global.csv`` or its FITS):
    ``galaxy_id`` = Name, ``log_mstar`` = log_Mass, ``log_sfr`` = log_SFR_Ha,
    ``ew_ha`` = −EW_Ha_ALL (Pipe3D emission EWs are negative; the whole-FoV value, the
    integrated one), ``log_age_lw`` = Age_LW_Re_fit [log yr], ``zh_lw`` = ZH_LW_Re_fit when
    present, ``log_sigma_star`` = Sigma_Mass_Re, ``re_arcsec`` = Re, ``pa_deg`` = PA,
    ``axis_ratio`` = √(1 − ellip²) (``ellip`` is the eccentricity), ``distance_mpc`` = DL.
``cl_ecalifa`` — ``galaxies_properties.fits`` (CL_eCALIFA):
    ``galaxy_id`` = cubename (unique; ``galaxy`` repeats for pairs), ``log_mstar`` = lMass_int,
    ``log_sfr`` = lSFR, ``ew_ha`` = 10^WHa_int (WHa is log10 EW in Å),
    ``log_age_lw`` = log10(Age_LW_int [Gyr] · 10⁹), ``zh_lw`` = log10(met_LW_int / Z☉) with
    **Z☉ = 0.02**, the value Pipe3D's own [Z/H] uses (checked on NGC 4047: Pipe3D's ZH_lwt equals
    Σ wᵢ log10(Zᵢ/0.02) over its SSP metallicities to 3×10⁻⁵ dex), ``re_arcsec`` = Re,
    ``pa_deg`` = PA, ``axis_ratio`` = √(1 − ecc²).
``edge_califa`` — ``edge_califa.csv`` (EDGE-CALIFA, CALIFA DR3):
    ``galaxy_id`` = Name, ``log_mstar`` = caMstars, ``log_sfr`` = caSFR,
    ``log_age_lw`` = caAge (labelled dex(Gyr) but holding log yr, 8–10; a true log Gyr
    column, median below 5, would get + 9), ``z`` = cazgas (else cazstars),
    ``re_arcsec`` = caRe, ``pa_deg`` = caPA, ``axis_ratio`` = √(1 − caEllipticity²),
    ``distance_mpc`` = caDistP3d. No EW(Hα), so no ``sf_class``. ``-12`` means missing.
``split`` — ``train_test_edr.npz``: ``galaxy_id`` = ID, ``split`` = train / test / none.
``generic`` — any other table: ``galaxy_id`` from galaxy_id / id / name / objid / targetid,
    ``ra``/``dec``/``z`` from common aliases; standard names are taken as they are.

In all layouts ``log_ssfr`` = ``log_sfr`` − ``log_mstar`` and ``sf_class`` comes from
|``ew_ha``| (:func:`galexplore.data.columns.sf_class`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.data.columns import STANDARD_COLUMNS, sf_class
from galexplore.data.readers import fits_utils as fu
from galexplore.errors import InputFileError

#: Solar metallicity (mass fraction) used to turn Z into [Z/H]; Pipe3D's own value.
Z_SUN = 0.02
#: The CALIFA tables' missing-value sentinel.
CALIFA_SENTINEL = -12.0


def _col(df, name):
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)


def _log_yr(age):
    """log age in yr from a column labelled log Gyr: values above 5 are already log yr."""
    age = np.asarray(age, dtype=float)
    return age if np.nanmedian(age) > 5 else age + 9.0


def _axis_ratio(ecc):
    return np.sqrt(np.clip(1.0 - np.asarray(ecc, dtype=float) ** 2, 0.0, 1.0))


@dataclass(frozen=True)
class Layout:
    """A known catalog layout: how to recognise it and how to convert it."""

    name: str
    signature: tuple[str, ...]
    id_column: str
    columns: dict  # standard name → (callable(df) → array, description)
    califa_sentinel: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)


LAYOUTS = [
    Layout(
        "cl_ecalifa",
        ("WHa_int", "lMass_int"),
        "cubename",
        {
            "ra": (lambda d: _col(d, "RA"), "RA [deg]"),
            "dec": (lambda d: _col(d, "DEC"), "DEC [deg]"),
            "z": (lambda d: _col(d, "z"), "z"),
            "log_mstar": (lambda d: _col(d, "lMass_int"), "lMass_int [log Msun]"),
            "log_sfr": (lambda d: _col(d, "lSFR"), "lSFR [log Msun/yr]"),
            "ew_ha": (lambda d: 10.0 ** _col(d, "WHa_int"), "10**WHa_int (WHa is log10 EW(Ha) in Angstrom)"),
            "log_age_lw": (lambda d: np.log10(_col(d, "Age_LW_int") * 1e9), "log10(Age_LW_int [Gyr] * 1e9)"),
            "zh_lw": (
                lambda d: np.log10(_col(d, "met_LW_int") / Z_SUN),
                f"log10(met_LW_int / {Z_SUN}) (Z mass fraction, Zsun = {Z_SUN})",
            ),
            "morph_type": (lambda d: d["type"].astype(str).str.strip(), "type"),
            "re_arcsec": (lambda d: _col(d, "Re"), "Re [arcsec]"),
            "pa_deg": (lambda d: _col(d, "PA"), "PA [deg]"),
            "axis_ratio": (lambda d: _axis_ratio(_col(d, "ecc")), "sqrt(1 - ecc**2)"),
        },
    ),
    Layout(
        "pypipe3d",
        ("log_Mass", "EW_Ha_ALL"),
        "Name",
        {
            "ra": (lambda d: _col(d, "RA"), "RA [deg]"),
            "dec": (lambda d: _col(d, "DEC"), "DEC [deg]"),
            "z": (lambda d: _col(d, "z"), "z"),
            "log_mstar": (lambda d: _col(d, "log_Mass"), "log_Mass [log Msun]"),
            "log_sfr": (lambda d: _col(d, "log_SFR_Ha"), "log_SFR_Ha [log Msun/yr]"),
            "ew_ha": (
                lambda d: 0.0 - _col(d, "EW_Ha_ALL"),
                "-EW_Ha_ALL [Angstrom] (Pipe3D emission EWs are negative)",
            ),
            "log_age_lw": (lambda d: _col(d, "Age_LW_Re_fit"), "Age_LW_Re_fit [log yr]"),
            "zh_lw": (lambda d: _col(d, "ZH_LW_Re_fit"), "ZH_LW_Re_fit [dex]"),
            "log_sigma_star": (lambda d: _col(d, "Sigma_Mass_Re"), "Sigma_Mass_Re [log Msun/pc2]"),
            "morph_type": (lambda d: d["type"].astype(str).str.strip(), "type"),
            "re_arcsec": (lambda d: _col(d, "Re"), "Re [arcsec]"),
            "pa_deg": (lambda d: _col(d, "PA"), "PA [deg]"),
            "axis_ratio": (
                lambda d: _axis_ratio(_col(d, "ellip")),
                "sqrt(1 - ellip**2) (ellip is the eccentricity)",
            ),
            "distance_mpc": (lambda d: _col(d, "DL"), "DL [Mpc], luminosity distance"),
        },
    ),
    Layout(
        "edge_califa",
        ("caMstars", "caSFR"),
        "Name",
        {
            "z": (
                lambda d: np.where(np.isfinite(_col(d, "cazgas")), _col(d, "cazgas"), _col(d, "cazstars")),
                "cazgas, else cazstars",
            ),
            "log_mstar": (lambda d: _col(d, "caMstars"), "caMstars [log Msun]"),
            "log_sfr": (lambda d: _col(d, "caSFR"), "caSFR [log Msun/yr]"),
            "log_age_lw": (
                lambda d: _log_yr(_col(d, "caAge")),
                "caAge, in log yr (its header says dex(Gyr), but the values, 8-10, are log yr; "
                "log Gyr would get + 9)",
            ),
            "re_arcsec": (lambda d: _col(d, "caRe"), "caRe [arcsec]"),
            "pa_deg": (lambda d: _col(d, "caPA"), "caPA [deg]"),
            "axis_ratio": (lambda d: _axis_ratio(_col(d, "caEllipticity")), "sqrt(1 - caEllipticity**2)"),
            "distance_mpc": (lambda d: _col(d, "caDistP3d"), "caDistP3d [Mpc], luminosity distance"),
        },
    ),
]

ID_ALIASES = ("galaxy_id", "id", "name", "objid", "targetid", "galaxy", "object", "plateifu")
ALIASES = {
    "ra": ("ra", "ra_deg", "raj2000", "target_ra"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000", "target_dec"),
    "z": ("z", "redshift"),
}


@dataclass
class Catalog:
    """A catalog in standard form plus how it was made (for provenance)."""

    table: pd.DataFrame
    layout: str
    source: str
    conversions: dict[str, str]


def _is_ecsv(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(64).lstrip().startswith(b"# %ECSV")
    except OSError:
        return False


def _table_to_frame(table) -> pd.DataFrame:
    cols = {}
    for name in table.colnames:
        col = table[name]
        if col.ndim > 1:
            continue  # vector columns do not fit a flat catalog
        values = np.asarray(col.filled(np.nan) if hasattr(col, "filled") and col.dtype.kind == "f" else col)
        if values.dtype.byteorder not in ("=", "|"):
            values = values.astype(values.dtype.newbyteorder("="))  # Parquet wants native order
        if values.dtype.kind == "S":
            values = np.char.decode(values, "utf-8", "replace")
        if values.dtype.kind == "U":
            values = np.char.strip(values).astype(object)
        cols[name] = values
    return pd.DataFrame(cols)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Any supported table file as a DataFrame (FITS, ECSV, CSV, Parquet, NPZ split)."""
    from astropy.table import Table

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    name = path.name.lower()
    try:
        if name.endswith((".fits", ".fit", ".fits.gz", ".fts")):
            with fu.open_fits(path) as hdul:
                hdu = next((h for h in hdul if h.is_image is False), None)
                if hdu is None:
                    raise InputFileError(path, "no table extension in the FITS file")
                return _table_to_frame(Table.read(hdu))
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        if name.endswith(".npz"):
            return _read_split(path)
        if name.endswith(".ecsv") or _is_ecsv(path):
            return _table_to_frame(Table.read(path, format="ascii.ecsv"))
        return pd.read_csv(path, comment=None)
    except InputFileError:
        raise
    except Exception as exc:  # parsers raise many types; all mean "cannot read this table"
        raise InputFileError(path, f"not a readable table ({type(exc).__name__}: {fu._short(exc)})") from exc


def _read_split(path: Path) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as z:
        if not {"ID", "train_sample", "test_sample"} <= set(z.files):
            raise InputFileError(
                path, f"NPZ lacks ID / train_sample / test_sample (has {', '.join(z.files)})"
            )
        ids, train, test = z["ID"].astype(str), z["train_sample"].astype(bool), z["test_sample"].astype(bool)
    split = np.where(train, "train", np.where(test, "test", "none"))
    return pd.DataFrame({"galaxy_id": np.char.strip(ids), "split": split})


def _clean_sentinels(df: pd.DataFrame, califa: bool) -> pd.DataFrame:
    out = df.copy()
    for name in out.columns:
        if pd.api.types.is_float_dtype(out[name].dtype):
            v = out[name].to_numpy(dtype=float, copy=True)
            bad = ~np.isfinite(v) | (np.abs(v) >= fu.SENTINEL_ABS)
            if califa:
                bad |= v == CALIFA_SENTINEL
            v[bad] = np.nan
            out[name] = v
    return out


def _detect(df: pd.DataFrame) -> Layout | None:
    for layout in LAYOUTS:
        if all(c in df.columns for c in layout.signature):
            return layout
    return None


def standardise(df: pd.DataFrame, *, source: str = "") -> Catalog:
    """Map a raw table onto the standard columns (see module doc); others pass through."""
    if list(df.columns) == ["galaxy_id", "split"]:
        return Catalog(df, "split", source, {"split": "train_sample / test_sample flags"})
    layout = _detect(df)
    df = _clean_sentinels(df, califa=layout is not None and layout.califa_sentinel)
    conv: dict[str, str] = {}
    std: dict[str, object] = {}
    if layout is not None:
        if layout.id_column not in df.columns:
            raise InputFileError(source, f"{layout.name} table without its id column {layout.id_column!r}")
        std["galaxy_id"] = df[layout.id_column].astype(str).str.strip()
        conv["galaxy_id"] = layout.id_column
        for name, (fn, desc) in layout.columns.items():
            try:
                std[name] = fn(df)
            except KeyError:
                continue  # that source column is absent in this version of the table
            conv[name] = desc
    else:
        lower = {str(c).lower(): c for c in df.columns}
        idc = next((lower[a] for a in ID_ALIASES if a in lower), None)
        if idc is None:
            raise InputFileError(source, f"no id column (one of {', '.join(ID_ALIASES)})")
        std["galaxy_id"] = df[idc].astype(str).str.strip()
        conv["galaxy_id"] = str(idc)
        for name, aliases in ALIASES.items():
            c = next((lower[a] for a in aliases if a in lower), None)
            if c is not None:
                std[name] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
                conv[name] = str(c)
        for name in STANDARD_COLUMNS:
            if name in df.columns and name not in std:
                std[name] = df[name]
                conv[name] = name
    out = pd.DataFrame(std)
    if "log_sfr" in out and "log_mstar" in out:
        out["log_ssfr"] = out["log_sfr"] - out["log_mstar"]
        conv["log_ssfr"] = "log_sfr - log_mstar"
    if "ew_ha" in out:
        out["sf_class"] = sf_class(out["ew_ha"].to_numpy(dtype=float))
        conv["sf_class"] = "|ew_ha| > 6 A star-forming, < 3 A retired, else green-valley"
    order = ["galaxy_id"] + [c for c in STANDARD_COLUMNS if c in out and c != "galaxy_id"]
    out = out[order + [c for c in out.columns if c not in order]]
    rest = df[[c for c in df.columns if c not in out.columns]]
    table = pd.concat([out.reset_index(drop=True), rest.reset_index(drop=True)], axis=1)
    return Catalog(table, layout.name if layout else "generic", source, conv)


def read_catalog(path: str | os.PathLike) -> Catalog:
    """Read and standardise a property catalog (see module doc)."""
    return standardise(read_table(path), source=str(path))


__all__ = ["CALIFA_SENTINEL", "Catalog", "LAYOUTS", "Z_SUN", "read_catalog", "read_table", "standardise"]
