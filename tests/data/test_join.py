"""Catalog joins by id and by sky position (astropy SkyCoord, radius as a Quantity)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy import units as u

from galexplore.data.readers.join import join_catalog
from galexplore.errors import GalexploreError


def _survey():
    return pd.DataFrame(
        {
            "galaxy_id": ["NGC 1", "ngc2", "X3"],
            "ra": [10.0, 20.0, 30.0],
            "dec": [0.0, 10.0, -5.0],
            "z": [0.01, np.nan, 0.03],
        }
    )


def test_join_by_id_fills_and_adds():
    cat = pd.DataFrame({"galaxy_id": ["NGC1", "NGC2"], "z": [0.5, 0.02], "ew_ha": [10.0, 1.0]})
    res = join_catalog(_survey(), cat, on="id")
    t = res.table
    assert res.n_matched == 2 and res.method == "id"
    assert t["galaxy_id"].tolist() == ["NGC 1", "ngc2", "X3"]  # survey rows and order kept
    assert t["z"].tolist()[:2] == [0.01, 0.02]  # existing kept, missing filled
    assert t["sf_class"].tolist()[:2] == ["star-forming", "retired"] and pd.isna(t["ew_ha"].iloc[2])
    assert join_catalog(_survey(), cat, on="id", overwrite=True).table["z"].iloc[0] == 0.5


def test_join_by_sky_with_quantity_radius():
    cat = pd.DataFrame(
        {
            "galaxy_id": ["a", "b"],
            "ra": [20.0 + 1 / 3600, 30.0 + 20 / 3600],
            "dec": [10.0, -5.0],
            "mass": [1.0, 2.0],
        }
    )
    res = join_catalog(_survey(), cat, on="sky", radius=3 * u.arcsec)
    assert res.n_matched == 1 and res.table["mass"].iloc[1] == 1.0 and np.isnan(res.table["mass"].iloc[2])
    assert res.table["match_sep_arcsec"].iloc[1] == pytest.approx(np.cos(np.deg2rad(10)), rel=1e-3)
    assert join_catalog(_survey(), cat, on="sky", radius=0.01 * u.deg).n_matched == 2
    assert join_catalog(_survey(), cat).method == "sky position"  # auto: no id matched
    with pytest.raises(GalexploreError, match="Quantity"):
        join_catalog(_survey(), cat, on="sky", radius=3.0)
