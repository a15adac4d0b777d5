"""Machine-readable metadata of catalog columns for exported tables: astropy unit, description, UCD.

:mod:`galexplore.data.columns` holds the catalog contract (DESIGN §2) with units written for
people (``"log M☉"``); this module gives the same columns the metadata that files carry:

- ``unit``: an astropy unit string in the generic format (``u.Unit(unit)`` parses it). Log
  quantities use astropy's logarithmic units, e.g. ``"dex(solMass)"`` for log M* and
  ``"dex"`` for [Z/H]; columns without a physical unit (redshift, classes, ids) have ``""``.
- ``description``: plain ASCII (FITS header cards allow nothing else), at most 60 characters,
  so that it fits on one FITS card and astropy's VOTable writer never wraps it.
- ``ucd``: an IVOA UCD1+ string (``astropy.io.votable.ucd.check_ucd`` accepts every one).

Besides the contract's standard columns, the columns that galexplore's own readers and the
synthetic survey add (``re_kpc``, ``pa_deg``, ``axis_ratio``, ``distance_mpc``, ``mag_r``, …) are
described too, and a column named ``*_arcsec``, ``*_deg``, ``*_kpc`` or ``*_mpc`` gets that unit.
Any other column gets no metadata: :func:`column_meta` returns None.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnMeta:
    """Metadata of one catalog column as exported files carry it.

    Attributes
    ----------
    unit : str
        astropy unit string (generic format); ``""`` for no unit.
    description : str
        Plain-ASCII description.
    ucd : str
        IVOA UCD1+ (``""`` if none fits).
    """

    unit: str
    description: str
    ucd: str = ""


#: Metadata of the standard columns (every column of the contract) and of the columns that
#: galexplore's readers and the synthetic survey add.
COLUMN_META: dict[str, ColumnMeta] = {
    # The catalog contract (DESIGN §2, galexplore.data.columns.STANDARD_COLUMNS).
    "galaxy_id": ColumnMeta("", "Unique galaxy identifier", "meta.id;meta.main"),
    "ra": ColumnMeta("deg", "Right ascension (ICRS)", "pos.eq.ra;meta.main"),
    "dec": ColumnMeta("deg", "Declination (ICRS)", "pos.eq.dec;meta.main"),
    "z": ColumnMeta("", "Redshift", "src.redshift"),
    "log_mstar": ColumnMeta("dex(solMass)", "Stellar mass, log10(M*/Msun)", "phys.mass"),
    "log_sfr": ColumnMeta("dex(solMass / yr)", "Star-formation rate, log10(SFR/(Msun/yr))", "phys.SFR"),
    "log_ssfr": ColumnMeta(
        "dex(1 / yr)", "Specific star-formation rate SFR/M*, log10(sSFR/yr^-1)", "phys.SFR;arith.ratio"
    ),
    "ew_ha": ColumnMeta(
        "Angstrom", "H-alpha equivalent width, positive for emission", "spect.line.eqWidth;em.line.Halpha"
    ),
    "log_age_lw": ColumnMeta("dex(yr)", "Luminosity-weighted stellar age, log10(age/yr)", "time.age"),
    "zh_lw": ColumnMeta("dex", "Luminosity-weighted stellar metallicity [Z/H]", "phys.abund.Z"),
    "log_sigma_star": ColumnMeta(
        "dex(solMass / pc2)",
        "Stellar mass surface density, log10(Sigma*/(Msun/pc^2))",
        "phys.columnDensity;phys.mass",
    ),
    "morph_type": ColumnMeta("", "Hubble morphological type", "src.morph.type"),
    "re_arcsec": ColumnMeta("arcsec", "Effective (half-light) radius", "phys.angSize"),
    "sf_class": ColumnMeta("", "Class by |EW(H-alpha)|: star-forming >6 A, retired <3 A", "src.class"),
    # Columns that galexplore's readers (geometry, distance) and the synthetic survey add.
    "re_kpc": ColumnMeta("kpc", "Effective (half-light) radius", "phys.size.radius"),
    "pa_deg": ColumnMeta("deg", "Position angle of the major axis, north through east", "pos.posAng"),
    "axis_ratio": ColumnMeta("", "Minor-to-major axis ratio b/a", "phys.size.axisRatio"),
    "distance_mpc": ColumnMeta("Mpc", "Luminosity distance", "pos.distance"),
    "mag_r": ColumnMeta("mag", "r-band AB magnitude", "phot.mag;em.opt.R"),
    "t_type": ColumnMeta("", "Hubble T-type (0 = E, 10 = Irr)", "src.morph.type"),
    "delta_ms": ColumnMeta(
        "dex", "Offset from the star-forming main sequence in log SFR", "phys.SFR;arith.diff"
    ),
    # What an export adds to the catalog.
    "cluster": ColumnMeta("", "Cluster label (-1: noise)", "meta.code.class"),
}

#: Units of columns named by their unit (``bar_angle_deg``, ``psf_fwhm_arcsec``, …).
SUFFIX_UNITS = {"_arcsec": "arcsec", "_deg": "deg", "_kpc": "kpc", "_mpc": "Mpc"}


def column_meta(name: str) -> ColumnMeta | None:
    """The metadata of catalog column ``name``, or None for a column galexplore does not know.

    Parameters
    ----------
    name : str
        Column name.

    Returns
    -------
    ColumnMeta or None
        From :data:`COLUMN_META`; otherwise a unit-only entry for a name that ends in a unit
        suffix of :data:`SUFFIX_UNITS`; otherwise None.
    """
    if name in COLUMN_META:
        return COLUMN_META[name]
    for suffix, unit in SUFFIX_UNITS.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return ColumnMeta(unit, "")
    return None
