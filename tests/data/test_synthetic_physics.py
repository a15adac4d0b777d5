"""The synthetic survey must look and behave like eCALIFA (DESIGN §4).

These tests measure the physics from the rendered maps, images and spectra, not from the
generator's internal parameters, so they fail if the rendering drifts from the catalog.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from galexplore.analysis.profiles import deprojected_radius, gradient, radial_profiles
from galexplore.data.columns import EW_RETIRED, EW_STAR_FORMING, MORPH_TYPES
from galexplore.data.synthetic import STRUCTURAL_TRUTHS
from galexplore.data.synthetic.geometry import Grid, fov_mask_from_catalog


@pytest.fixture(scope="module")
def cat(survey_400) -> pd.DataFrame:
    return survey_400.catalog


@pytest.fixture(scope="module")
def maps(survey_400) -> np.ndarray:
    return survey_400.read("maps", slice(None))


def _channel(survey, name: str) -> int:
    return survey.channel_index("maps", name)


@pytest.fixture(scope="module")
def profiles(survey_400, cat, maps):
    """Annular means (N, C, K) and bin centres (K,) in deprojected Rₑ."""
    spec = survey_400.spec("maps")
    r = deprojected_radius(spec.shape[-1], spec.grid["extent_re"], cat["pa_deg"], cat["axis_ratio"])
    bins = np.arange(0.0, 2.51, 0.25)
    return radial_profiles(maps, r, bins), 0.5 * (bins[1:] + bins[:-1])


def test_population_matches_ecalifa(cat):
    q05, q50, q95 = np.percentile(cat["log_mstar"], [5, 50, 95])
    assert abs(q50 - 10.5) < 0.2
    assert abs(q05 - 8.6) < 0.35 and abs(q95 - 11.5) < 0.25
    frac = cat["sf_class"].value_counts(normalize=True)
    assert abs(frac["star-forming"] - 0.60) < 0.07
    assert abs(frac["green-valley"] - 0.08) < 0.04
    assert abs(frac["retired"] - 0.32) < 0.07
    assert set(cat["morph_type"]) <= set(MORPH_TYPES)
    assert {"E", "Sb", "Sc"} <= set(cat["morph_type"])
    # Early types are mostly retired, late types mostly star-forming.
    early = cat["morph_type"].isin(["E", "S0"])
    late = cat["morph_type"].isin(["Sc", "Scd", "Sd", "Sm", "Irr"])
    assert (cat.loc[early, "sf_class"] == "retired").mean() > 0.6
    assert (cat.loc[late, "sf_class"] == "star-forming").mean() > 0.8


def test_sf_class_follows_ew_halpha(cat):
    ew = cat["ew_ha"]
    assert (ew > 0).all(), "EW(Hα) is positive for emission in the standard catalog"
    assert (cat.loc[ew > EW_STAR_FORMING, "sf_class"] == "star-forming").all()
    assert (cat.loc[ew < EW_RETIRED, "sf_class"] == "retired").all()
    mid = (ew >= EW_RETIRED) & (ew <= EW_STAR_FORMING)
    assert (cat.loc[mid, "sf_class"] == "green-valley").all()


def test_main_sequence_slope_and_ew_tracks_ssfr(cat):
    sf = cat[cat["sf_class"] == "star-forming"]
    slope, _ = np.polyfit(sf["log_mstar"], sf["log_sfr"], 1)
    assert 0.6 <= slope <= 1.0
    scatter = np.std(
        sf["log_sfr"] - np.polyval(np.polyfit(sf["log_mstar"], sf["log_sfr"], 1), sf["log_mstar"])
    )
    assert 0.15 < scatter < 0.35
    assert spearmanr(sf["ew_ha"], sf["log_ssfr"]).statistic > 0.7
    assert spearmanr(cat["ew_ha"], cat["log_ssfr"]).statistic > 0.8
    assert np.allclose(cat["log_ssfr"], cat["log_sfr"] - cat["log_mstar"])


def test_disc_galaxies_have_negative_age_and_metallicity_gradients(survey_400, cat, profiles):
    prof, centres = profiles
    disc = (cat["t_type"] >= 2).to_numpy() & (cat["axis_ratio"] > 0.35).to_numpy()
    for name in ("log_age_lw", "zh_lw"):
        slope = gradient(prof[disc, _channel(survey_400, name)], centres, 0.5, 2.0)
        slope = slope[np.isfinite(slope)]
        assert len(slope) > 100
        assert np.median(slope) < -0.05, name
        assert (slope < 0).mean() > 0.85, name
    # The measured age gradient tracks the true one: structure is visible in the maps.
    measured = gradient(prof[disc, _channel(survey_400, "log_age_lw")], centres, 0.5, 2.0)
    ok = np.isfinite(measured)
    assert spearmanr(measured[ok], cat.loc[disc, "grad_age"].to_numpy()[ok]).statistic > 0.4


def test_retired_galaxies_below_3A_at_every_spaxel(survey_400, cat, maps):
    log_ew = maps[(cat["sf_class"] == "retired").to_numpy(), _channel(survey_400, "log_ew_ha")]
    valid = np.isfinite(log_ew)
    assert valid.sum() > 10_000
    assert (10 ** log_ew[valid] < 3.0).all()


def test_green_valley_is_centrally_quenched(survey_400, cat, profiles):
    prof, centres = profiles
    gv = (cat["sf_class"] == "green-valley").to_numpy()
    ew = 10 ** prof[gv, _channel(survey_400, "log_ew_ha")]
    centre = ew[:, 0]  # 0 – 0.25 Rₑ
    ring = ew[:, np.argmin(np.abs(centres - 1.5))]  # 1.5 Rₑ
    ok = np.isfinite(centre) & np.isfinite(ring)
    assert ok.sum() >= 15
    assert (centre[ok] < ring[ok]).mean() > 0.9
    assert np.median(centre[ok]) < EW_RETIRED < np.median(ring[ok])


def test_retired_galaxies_are_redder(survey_400, cat):
    images = survey_400.read("images", slice(None))
    g, r = images[:, 0].sum(axis=(1, 2)), images[:, 1].sum(axis=(1, 2))
    g_r = -2.5 * np.log10(g / r)
    ret = g_r[(cat["sf_class"] == "retired").to_numpy()]
    sf = g_r[(cat["sf_class"] == "star-forming").to_numpy()]
    assert np.median(ret) - np.median(sf) > 0.15
    assert 0.55 < np.median(ret) < 1.0 and 0.2 < np.median(sf) < 0.6


def test_spectra_have_4000A_break_and_halpha(survey_400, cat):
    spec = survey_400.read("spectra", slice(None))
    wave = survey_400.aux("spectra", "wavelength")
    rest = wave[None, :] / (1 + cat["z"].to_numpy()[:, None])

    def band_mean(lo, hi):
        sel = (rest > lo) & (rest < hi)
        return np.nansum(np.where(sel, spec, 0), axis=1) / sel.sum(axis=1)

    d4000 = band_mean(4050, 4250) / band_mean(3750, 3950)
    sf = (cat["sf_class"] == "star-forming").to_numpy()
    ret = (cat["sf_class"] == "retired").to_numpy()
    assert np.median(d4000[ret]) > np.median(d4000[sf]) + 0.3
    line = band_mean(6553, 6573) - 0.5 * (band_mean(6480, 6530) + band_mean(6600, 6650))
    ew_measured = 20 * line / (0.5 * (band_mean(6480, 6530) + band_mean(6600, 6650)))
    assert spearmanr(ew_measured, cat["ew_ha"]).statistic > 0.85


def test_maps_are_nan_outside_field_and_under_stars(survey_400, cat, maps):
    spec = survey_400.spec("maps")
    grid = Grid(spec.shape[-1], spec.grid["extent_re"], pad=0)
    inside = fov_mask_from_catalog(
        grid,
        cat["fov_shape"].to_numpy(),
        cat["fov_radius_re"].to_numpy(),
        cat["fov_angle_deg"].to_numpy(),
        cat["fov_axis_ratio"].to_numpy(),
    )
    nan = np.isnan(maps)
    assert nan[np.broadcast_to(~inside[:, None], maps.shape)].all()
    assert nan.all(axis=1).sum(axis=(1, 2)).min() > 0  # every galaxy has masked corners
    valid_frac = (~nan[:, 0] & inside).sum() / inside.sum()
    assert valid_frac > 0.85  # most of the field has data (S/N cut and stars remove the rest)
    with_stars = (cat["n_stars"] > 0).to_numpy()
    extra_nan = (nan[:, 0] & inside).sum(axis=(1, 2))
    assert np.median(extra_nan[with_stars]) > np.median(extra_nan[~with_stars])
    # NaN is shared by all channels of a spaxel; images have no NaN.
    assert (nan == nan[:, :1]).all()
    assert np.isfinite(survey_400.read("images", slice(0, 50))).all()


def test_structural_truths_vary_independently(cat):
    base = pd.get_dummies(cat["morph_type"], dtype=float)
    base["log_mstar"] = cat["log_mstar"]
    base["log_ssfr"] = cat["log_ssfr"]
    for name in STRUCTURAL_TRUTHS:
        y = cat[name].astype(float)
        rows = y.notna() & ((cat["n_arms"] > 0) if name == "n_arms" else True)
        x = np.column_stack([np.ones(rows.sum()), base[rows].to_numpy()])
        coef, *_ = np.linalg.lstsq(x, y[rows].to_numpy(), rcond=None)
        resid = y[rows].to_numpy() - x @ coef
        r2 = 1 - resid.var() / y[rows].var(ddof=0)
        assert r2 <= 0.5, f"{name}: R² = {r2:.2f} from mass, sSFR and type"
        assert y[rows].std() > 0, name
