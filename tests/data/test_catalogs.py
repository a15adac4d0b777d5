"""Catalogs → standard columns and units, sf_class; the eCALIFA anchors on the real tables."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.data.main_sequence import fit_main_sequence
from galexplore.data.readers.catalogs import Z_SUN, read_catalog, standardise
from galexplore.errors import InputFileError


def test_synthetic_ecalifa_layouts(lay, tmp_path):
    paths = lay.write_ecalifa_tables(tmp_path)
    gp = read_catalog(paths["gp"])
    t = gp.table
    assert gp.layout == "cl_ecalifa" and t["galaxy_id"].iloc[0] == "GAL000"
    assert t["sf_class"].value_counts().to_dict() == {"star-forming": 5, "green-valley": 3, "retired": 4}
    np.testing.assert_allclose(t["ew_ha"].iloc[:3], [20, 15, 10])
    assert t["log_age_lw"].iloc[0] == pytest.approx(np.log10(2e9))  # Gyr → log yr
    assert t["zh_lw"].iloc[0] == pytest.approx(np.log10(0.02 / Z_SUN))  # mass fraction → [Z/H]
    assert t["axis_ratio"].iloc[0] == pytest.approx(0.8)
    assert "galaxy" in t.columns and "Age_LW_int" in t.columns  # others pass through
    glob = read_catalog(paths["global"]).table
    assert (glob["ew_ha"] > 0).all() and glob["ew_ha"].iloc[0] == 20
    assert np.isnan(glob["log_sfr"].iloc[3]) and np.isnan(glob["log_ssfr"].iloc[3])  # -1.797e308
    assert glob["distance_mpc"].iloc[0] == 60 and "extra_col" in glob.columns
    edge = read_catalog(paths["edge"]).table
    assert np.isnan(edge["log_mstar"].iloc[0]) and np.isnan(edge["caOH"].iloc[1])  # -12 → NaN
    assert edge["log_age_lw"].iloc[0] == pytest.approx(9.1) and "sf_class" not in edge.columns


def test_generic_and_bad(tmp_path):
    import pandas as pd

    p = tmp_path / "g.csv"
    pd.DataFrame(
        {"Name": ["a", "b"], "RA": [1.0, 2.0], "DEC": [3.0, 4.0], "ew_ha": [10.0, 1.0], "foo": [1, 2]}
    ).to_csv(p, index=False)
    c = read_catalog(p)
    assert c.layout == "generic" and list(c.table["sf_class"]) == ["star-forming", "retired"]
    assert c.table["ra"].tolist() == [1.0, 2.0] and "foo" in c.table
    with pytest.raises(InputFileError, match="no id column"):
        standardise(pd.DataFrame({"x": [1]}), source="x.csv")
    with pytest.raises(InputFileError, match="nope.fits"):
        read_catalog(tmp_path / "nope.fits")


@pytest.mark.real
def test_real_galaxies_properties(real):
    c = read_catalog(real("ecalifa", "galaxies_properties.fits"))
    t = c.table
    assert len(t) == 895 and t["galaxy_id"].is_unique
    assert t["sf_class"].value_counts().to_dict() == {"star-forming": 533, "green-valley": 75, "retired": 287}
    assert 8.0 < t["log_age_lw"].median() < 10.3 and -1 < t["zh_lw"].median() < 0.3
    ms = fit_main_sequence(t)
    assert 0.7 <= ms.slope <= 0.9 and ms.n == 533


@pytest.mark.real
def test_real_ecalifa_global(real):
    t = read_catalog(real("ecalifa", "ecalifa_global.csv")).table
    assert len(t) == 895 and t["galaxy_id"].is_unique
    assert (t["ew_ha"] >= 0).all() and t["ew_ha"].median() > 3  # emission positive
    ms = fit_main_sequence(t)
    assert 0.7 <= ms.slope <= 0.9
    assert {"log_sigma_star", "log_age_lw", "re_arcsec", "morph_type", "QC_flag"} <= set(t.columns)


@pytest.mark.real
def test_real_edge_califa_and_split(real):
    t = read_catalog(real("ecalifa", "edge_califa.csv")).table
    assert len(t) == 671 and t["log_mstar"].isna().sum() == 1 and t["log_sfr"].isna().sum() == 2  # the -12s
    assert (t.select_dtypes("number") == -12).sum().sum() == 0
    assert 8 < t["log_age_lw"].median() < 10.3
    s = read_catalog(real("ecalifa", "train_test_edr.npz"))
    assert s.layout == "split" and s.table["split"].value_counts().to_dict() == {"train": 772, "test": 126}
