"""Exported tables carry units, descriptions, UCDs and provenance that astropy reads back."""

from __future__ import annotations

import json
import textwrap
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.io.votable import parse
from astropy.io.votable.ucd import check_ucd
from astropy.table import Table

from galexplore.artifacts.export import (
    FITS_KEYS,
    export_filename,
    export_table,
    provenance_from_meta,
    read_export,
)
from galexplore.artifacts.export_formats import provenance_description, provenance_from_description
from galexplore.data.column_meta import COLUMN_META, column_meta

READERS = {"fits": "fits", "vot": "votable", "csv": "ascii.ecsv"}
LOG_COLUMNS = ["log_mstar", "log_sfr", "log_ssfr", "log_age_lw", "log_sigma_star"]
PROVENANCE = {
    "selection": "lasso polygon (projection x,y) 0.1,0.2;0.9,0.2;0.5,0.8; map coloured by log_mstar",
    "survey_fingerprint": "fp-survey",
    "encoder_fingerprint": "fp-encoder",
    "embedding_fingerprint": "fp-embedding",
    # longer than a FITS card: continues over several cards
    "projection": json.dumps(
        {"method": "umap", "n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "seed": 0}
    ),
}


@pytest.fixture(scope="module")
def rows(tiny_survey):
    """The tiny survey's catalog, as a lasso selection exports it, plus a user column."""
    cat = tiny_survey.catalog.head(12).copy()
    cat["x"], cat["y"] = np.linspace(0, 1, 12), np.linspace(1, 0, 12)
    cat["cluster"] = np.arange(12) % 3
    cat["user_score"] = np.arange(12.0)  # unknown to galexplore: no unit, no error
    cat["tilt_deg"] = np.arange(12.0)  # named by its unit
    return cat


@pytest.fixture(scope="module")
def files(rows, tmp_path_factory):
    """suffix → ``rows`` exported to that format, with warnings turned into errors."""
    out = {}
    for suffix in READERS:
        path = tmp_path_factory.mktemp("meta") / f"synthetic_lasso-12.{suffix}"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out[suffix] = export_table(rows, path, PROVENANCE)
    return out


def _read(suffix: str, files) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UnitsWarning, W50 or VerifyWarning on the way back
        return Table.read(files[suffix], format=READERS[suffix])


@pytest.mark.parametrize("suffix", sorted(READERS))
def test_units_descriptions_and_ucds_come_back(rows, files, suffix):
    table = _read(suffix, files)
    for name in rows.columns:
        meta = column_meta(name)
        if meta is None:
            assert table[name].unit is None, name
            continue
        assert table[name].unit == (u.Unit(meta.unit) if meta.unit else None), (suffix, name)
        assert (table[name].description or "") == meta.description, (suffix, name)
        assert table[name].meta.get("ucd", "") == meta.ucd, (suffix, name)
    # log quantities come back as logarithmic quantities: 10**log_mstar in solar masses
    log_mass = table["log_mstar"]  # a MaskedColumn from VOTable, which astropy has no masked Dex for
    mass = u.Dex(np.asarray(log_mass, dtype=float), log_mass.unit).physical.to_value(u.Msun)
    np.testing.assert_allclose(mass, 10 ** rows["log_mstar"].to_numpy(), rtol=1e-10)
    assert u.Quantity(table["ew_ha"]).to_value(u.nm) == pytest.approx(rows["ew_ha"].to_numpy() / 10)


@pytest.mark.parametrize("suffix", sorted(READERS))
def test_read_export_gives_the_same_metadata_and_the_provenance(files, suffix):
    table, prov = read_export(files[suffix])
    assert table["log_sfr"].unit == u.dex(u.Msun / u.yr) and table["z"].meta["ucd"] == "src.redshift"
    assert {k: prov[k] for k in PROVENANCE} == PROVENANCE
    assert int(prov["n_rows"]) == len(table) == 12 and prov["galexplore_version"]


def test_fits_header_has_units_and_column_descriptions(files):
    with fits.open(files["fits"]) as hdul:
        hdul.verify("exception")
        header = hdul[1].header
    cards = {header[f"TTYPE{i}"]: i for i in range(1, header["TFIELDS"] + 1)}
    assert header[f"TUNIT{cards['ra']}"] == "deg" and header[f"TUNIT{cards['ew_ha']}"] == "Angstrom"
    assert header[f"TCOMM{cards['ew_ha']}"] == COLUMN_META["ew_ha"].description
    for name in LOG_COLUMNS + ["zh_lw"]:
        # FITS has no log units: the unit is in TCOMMn for readers other than astropy
        assert f"TUNIT{cards[name]}" not in header
        unit = u.Unit(COLUMN_META[name].unit).to_string()
        assert header[f"TCOMM{cards[name]}"] == f"{COLUMN_META[name].description} [{unit}]"
    assert f"TCOMM{cards['user_score']}" not in header
    assert header["GXPROJ"] == PROVENANCE["projection"] and len(PROVENANCE["projection"]) > 68


def test_votable_fields_carry_ucds_and_cds_units(files):
    path = files["vot"]
    vot = parse(str(path), verify="exception")  # valid to the letter of VOTable 1.3
    fields = {f.name: f for f in vot.get_first_table().fields}
    for name, field in fields.items():
        meta = column_meta(name)
        if meta is not None and meta.ucd:
            assert field.ucd == meta.ucd and check_ucd(field.ucd, check_controlled_vocabulary=True)
            assert field.description == meta.description
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert 'name="log_mstar" ucd="phys.mass" unit="[solMass]"' in text  # CDS: [x] is log x
    assert 'unit="Angstrom"' in text
    assert {info.name: info.value for info in vot.resources[0].infos}["selection"] == PROVENANCE["selection"]


@pytest.mark.parametrize("suffix", sorted(READERS))
def test_provenance_comes_back_in_table_meta(files, suffix):
    meta = _read(suffix, files).meta
    if suffix == "fits":  # header cards
        assert {k: meta[FITS_KEYS[k]] for k in PROVENANCE} == PROVENANCE
    elif suffix == "vot":  # Table.read keeps no INFO element: the TABLE's name and description
        assert meta["name"] == "synthetic_lasso-12"
        assert "Provenance as JSON" in " ".join(meta["description"].split())
    else:
        assert {k: meta["galexplore"][k] for k in PROVENANCE} == PROVENANCE
    prov = provenance_from_meta(meta)
    assert {k: prov[k] for k in PROVENANCE} == PROVENANCE and prov["n_rows"] == "12"


def test_votable_description_survives_astropy_wrapping():
    prov = {"selection": "x " * 200 + "green-valley-" * 30, "projection": json.dumps({"a": "b - c", "é": 1})}
    text = provenance_description(prov)
    # astropy's XML writer fills DESCRIPTION with textwrap: breaks at spaces, hyphens, in words
    wrapped = textwrap.fill(text, width=30, initial_indent="    ", subsequent_indent="    ")
    assert provenance_from_description(wrapped) == prov
    assert provenance_from_description("a table") == {} and provenance_from_description(None) == {}


def test_export_filename_names_survey_and_selection():
    assert export_filename("synthetic", "lasso-62", "fits") == "synthetic_lasso-62.fits"
    name = export_filename("CALIFA DR3/eCALIFA", "cluster 0 of kmeans k=3-40", "votable")
    assert name == "CALIFA-DR3-eCALIFA_cluster-0-of-kmeans-k-3-40.vot"
    assert export_filename(None, "Hα ≥ 6 Å; ../../etc", "csv") == "galexplore_H-6-etc.csv"
    assert export_filename("", "", "csv") == "galexplore_selection.csv"
    assert len(export_filename("s" * 300, "x" * 300, "fits")) <= 126
