"""Selection contrast: medians, quantiles and KS tests that reflect real differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from galexplore.analysis.contrast import contrast, contrast_categories
from galexplore.errors import GalexploreError


def test_star_forming_vs_retired(survey_400):
    cat = survey_400.catalog
    sf = cat.loc[cat["sf_class"] == "star-forming", "galaxy_id"]
    ret = cat.loc[cat["sf_class"] == "retired", "galaxy_id"]
    table = contrast(cat, sf, ret)
    assert table.loc["ew_ha", "median_a"] > 6 > 3 > table.loc["ew_ha", "median_b"]
    assert table.loc["ew_ha", "ks_pvalue"] < 1e-20 and table.loc["ew_ha", "ks_stat"] == pytest.approx(1.0)
    assert table.loc["log_age_lw", "delta_median"] < 0  # star-forming galaxies are younger
    assert table.loc["ew_ha", "unit"] == "Å"
    assert table["ks_stat"].dropna().is_monotonic_decreasing
    a = cat.set_index("galaxy_id").loc[sf, "log_mstar"]
    b = cat.set_index("galaxy_id").loc[ret, "log_mstar"]
    assert table.loc["log_mstar", "ks_stat"] == pytest.approx(ks_2samp(a, b).statistic)
    assert table.loc["log_mstar", "q16_a"] == pytest.approx(np.quantile(a, 0.16))


def test_random_halves_do_not_differ(survey_400):
    cat = survey_400.catalog
    ids = cat["galaxy_id"].sample(frac=0.5, random_state=1)
    table = contrast(cat, ids)  # against the rest of the survey
    assert (table["n_a"] + table["n_b"]).max() <= len(cat)
    assert table.loc[["log_mstar", "ew_ha", "zh_lw"], "ks_pvalue"].min() > 0.01


def test_categories_and_errors():
    cat = pd.DataFrame(
        {
            "galaxy_id": list("abcdefgh"),
            "sf_class": ["star-forming"] * 4 + ["retired"] * 4,
            "ew_ha": [20.0, 30, 25, 40, 1, 0.5, 1.5, np.nan],
        }
    )
    table, p = contrast_categories(cat, list("abcd"))
    assert table.loc["star-forming", "frac_a"] == 1.0 and table.loc["retired", "frac_b"] == 1.0
    assert 0 <= p < 0.1
    t = contrast(cat, list("abcd"), columns=["ew_ha"])
    assert t.loc["ew_ha", "n_b"] == 3  # NaN left out
    with pytest.raises(GalexploreError, match="'zz'"):
        contrast(cat, ["a", "zz"])
    with pytest.raises(GalexploreError, match="set B is empty"):
        contrast(cat, list("abcdefgh"))
    with pytest.raises(GalexploreError, match="no column 'nope'"):
        contrast(cat, ["a"], columns=["nope"])
