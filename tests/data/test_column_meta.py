"""The metadata that exported files carry for the catalog contract's columns."""

from __future__ import annotations

from astropy import units as u
from astropy.io.votable.ucd import check_ucd

from galexplore.data.column_meta import COLUMN_META, column_meta
from galexplore.data.columns import STANDARD_COLUMNS


def test_every_contract_column_has_metadata_that_means_what_the_contract_says():
    assert set(STANDARD_COLUMNS) <= set(COLUMN_META)
    for name, meta in COLUMN_META.items():
        # ASCII for FITS cards; short enough for one TCOMMn card and never wrapped in a VOTable
        assert meta.description.isascii() and 0 < len(meta.description) <= 60, name
        assert check_ucd(meta.ucd, check_controlled_vocabulary=True), (name, meta.ucd)
        u.Unit(meta.unit)  # parses
    # the contract says log M☉, log M☉ yr⁻¹, log yr⁻¹, log yr, log M☉ pc⁻², dex: these units
    # turn the logarithms into the physical quantities
    assert u.isclose((10.5 * u.Unit(COLUMN_META["log_mstar"].unit)).physical, 10**10.5 * u.Msun)
    assert u.isclose((0.3 * u.Unit(COLUMN_META["log_sfr"].unit)).physical, 10**0.3 * u.Msun / u.yr)
    assert u.isclose((-10 * u.Unit(COLUMN_META["log_ssfr"].unit)).physical, 1e-10 / u.yr)
    assert u.isclose((9.5 * u.Unit(COLUMN_META["log_age_lw"].unit)).physical.to(u.Gyr), 10**0.5 * u.Gyr)
    assert u.isclose((3.0 * u.Unit(COLUMN_META["log_sigma_star"].unit)).physical, 1e3 * u.Msun / u.pc**2)
    assert u.Unit(COLUMN_META["zh_lw"].unit) == u.dex
    assert u.Unit(COLUMN_META["ew_ha"].unit) == u.AA and u.Unit(COLUMN_META["ra"].unit) == u.deg
    assert column_meta("user_score") is None and column_meta("tilt_deg").unit == "deg"
