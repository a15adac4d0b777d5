"""The standard catalog columns of a survey (DESIGN §2), their units, and ``sf_class``.

Every reader maps its source's columns onto these names and units; other source columns
pass through unchanged. The units here are written for people (``"log M☉"``); the astropy
units, descriptions and UCDs that exported files carry are in :mod:`galexplore.data.column_meta`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

#: EW(Hα) limits in Å of the WHAN classification (Cid Fernandes et al. 2011).
EW_STAR_FORMING = 6.0
EW_RETIRED = 3.0

SF_CLASSES = ("star-forming", "green-valley", "retired")

#: Hubble types in T-type order, as used by the synthetic survey and the CALIFA tables.
MORPH_TYPES = ("E", "S0", "Sa", "Sab", "Sb", "Sbc", "Sc", "Scd", "Sd", "Sm", "Irr")


@dataclass(frozen=True)
class Column:
    """One standard catalog column."""

    name: str
    unit: str
    label: str
    description: str


STANDARD_COLUMNS: dict[str, Column] = {
    c.name: c
    for c in [
        Column("galaxy_id", "", "galaxy id", "unique identifier (string)"),
        Column("ra", "deg", "RA", "right ascension (ICRS)"),
        Column("dec", "deg", "Dec", "declination (ICRS)"),
        Column("z", "", "z", "redshift"),
        Column("log_mstar", "log M☉", "log M*", "stellar mass"),
        Column("log_sfr", "log M☉ yr⁻¹", "log SFR", "star-formation rate"),
        Column("log_ssfr", "log yr⁻¹", "log sSFR", "specific star-formation rate"),
        Column("ew_ha", "Å", "EW(Hα)", "Hα equivalent width, positive for emission"),
        Column("log_age_lw", "log yr", "log age (LW)", "luminosity-weighted stellar age"),
        Column("zh_lw", "dex", "[Z/H] (LW)", "luminosity-weighted stellar metallicity"),
        Column("log_sigma_star", "log M☉ pc⁻²", "log Σ*", "stellar mass surface density"),
        Column("morph_type", "", "Hubble type", "morphological type string"),
        Column("re_arcsec", "arcsec", "Rₑ", "effective radius"),
        Column("sf_class", "", "EW(Hα) class", "star-forming / green-valley / retired by |EW(Hα)|"),
    ]
}

#: The standard numeric properties, in the order that figures and reports use.
STANDARD_PROPERTIES = (
    "log_mstar",
    "log_sfr",
    "log_ssfr",
    "ew_ha",
    "log_age_lw",
    "zh_lw",
    "log_sigma_star",
    "re_arcsec",
    "z",
)

#: Standard map channels and their units.
MAP_CHANNELS: dict[str, str] = {
    "log_sigma_star": "log M☉ pc⁻²",
    "log_age_lw": "log yr",
    "zh_lw": "dex",
    "log_ew_ha": "log Å",
    "log_flux": "log 10⁻¹⁶ erg s⁻¹ cm⁻² Å⁻¹ arcsec⁻²",
}


def sf_class(ew_ha: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Classify galaxies by the absolute Hα equivalent width.

    Parameters
    ----------
    ew_ha : array_like, shape (N,), Å
        EW(Hα); the sign is ignored, so Pipe3D's negative emission EWs work as they are.

    Returns
    -------
    ndarray of str, shape (N,)
        ``"star-forming"`` where |EW| > 6 Å, ``"retired"`` where |EW| < 3 Å,
        ``"green-valley"`` in between, and ``None`` where EW is NaN.
    """
    ew = np.abs(np.asarray(ew_ha, dtype=float))
    out = np.full(ew.shape, None, dtype=object)
    out[ew > EW_STAR_FORMING] = SF_CLASSES[0]
    out[(ew >= EW_RETIRED) & (ew <= EW_STAR_FORMING)] = SF_CLASSES[1]
    out[ew < EW_RETIRED] = SF_CLASSES[2]
    return out


def unit_of(column: str) -> str:
    """The unit string of a standard column or map channel, or ``""`` if unknown."""
    if column in STANDARD_COLUMNS:
        return STANDARD_COLUMNS[column].unit
    return MAP_CHANNELS.get(column, "")


def axis_label(column: str) -> str:
    """A plot axis label with units, e.g. ``"log M* [log M☉]"``."""
    col = STANDARD_COLUMNS.get(column)
    label = col.label if col else column
    unit = unit_of(column)
    return f"{label} [{unit}]" if unit else label


def categorical_columns(catalog: pd.DataFrame, max_categories: int = 30) -> list[str]:
    """Columns that are best coloured as categories (strings, booleans, few integers)."""
    out = []
    for name, s in catalog.items():
        if name == "galaxy_id":
            continue
        if (
            s.dtype == bool
            or isinstance(s.dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(s.dtype)
            or s.dtype == object
        ):
            if s.nunique(dropna=True) <= max_categories:
                out.append(str(name))
        elif pd.api.types.is_integer_dtype(s.dtype) and s.nunique(dropna=True) <= 12:
            out.append(str(name))
    return out


def numeric_columns(catalog: pd.DataFrame) -> list[str]:
    """Float-valued columns (continuous colouring, distributions, regression targets)."""
    return [str(n) for n, s in catalog.items() if pd.api.types.is_float_dtype(s.dtype) and s.notna().any()]
