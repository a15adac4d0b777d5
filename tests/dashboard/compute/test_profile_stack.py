"""Stacked radial profiles recover the physics the synthetic survey was built with."""

from __future__ import annotations

import numpy as np

from galexplore.dashboard.compute.profile_stack import (
    PROFILE_CHANNELS,
    galaxy_profiles,
    sample_rows,
    stack,
    stack_rest,
)


def _rows(data, cls):
    return np.flatnonzero(data.catalog["sf_class"].to_numpy() == cls)


def test_retired_galaxies_have_lower_ew_and_older_stars_at_every_radius(tiny_data):
    sf, ret = (
        stack(tiny_data, _rows(tiny_data, "star-forming")),
        stack(tiny_data, _rows(tiny_data, "retired")),
    )
    ew, age = PROFILE_CHANNELS.index("log_ew_ha"), PROFILE_CHANNELS.index("log_age_lw")
    inner = sf.radius <= 2.0
    assert np.all(sf.quantiles[1, ew, inner] > ret.quantiles[1, ew, inner] + 0.3)
    assert np.all(sf.quantiles[1, age, inner] < ret.quantiles[1, age, inner])


def test_star_forming_discs_grow_inside_out(tiny_data):
    sf = stack(tiny_data, _rows(tiny_data, "star-forming"))
    age = sf.quantiles[1, PROFILE_CHANNELS.index("log_age_lw")]
    sigma = sf.quantiles[1, PROFILE_CHANNELS.index("log_sigma_star")]
    r = sf.radius
    assert np.polyfit(r[(r > 0.3) & (r < 2)], age[(r > 0.3) & (r < 2)], 1)[0] < 0  # younger outskirts
    assert np.all(np.diff(sigma[r < 2]) < 0)  # mass density falls outwards
    lo, med, hi = sf.quantiles
    ok = np.isfinite(med)
    assert np.all(lo[ok] <= med[ok]) and np.all(med[ok] <= hi[ok])


def test_the_rest_excludes_the_selection(tiny_data):
    sel = _rows(tiny_data, "retired")
    reference = (np.arange(tiny_data.n), galaxy_profiles(tiny_data, np.arange(tiny_data.n))[0])
    rest = stack_rest(tiny_data, reference, sel)
    assert rest.n_galaxies == tiny_data.n - len(sel) == rest.n_group
    np.testing.assert_allclose(
        rest.quantiles, stack(tiny_data, np.setdiff1d(np.arange(tiny_data.n), sel)).quantiles
    )


def test_large_groups_are_sampled_reproducibly():
    rows = np.arange(10_000)
    a, b = sample_rows(rows, 300, seed=0), sample_rows(rows, 300, seed=0)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 300 and np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(sample_rows(rows[:50], 300), rows[:50])


def test_reference_profiles_are_cached_on_disk_for_the_next_server(tiny_survey, tmp_path):
    """A restarted server reads the survey's reference profiles from RUN/cache/ (identical
    values); a run it cannot write to still gets them, computed."""
    import shutil

    import panel as pn

    from galexplore.dashboard.compute.profile_stack import reference_profiles
    from galexplore.dashboard.data import ExplorerData
    from galexplore.dashboard.views.profiles import _disk_cache, cached_reference
    from galexplore.testing import radial_pca_run

    run = radial_pca_run(tiny_survey, tmp_path / "run")
    data = ExplorerData.load(tiny_survey.path, run)
    rows, prof = cached_reference(data)
    path = _disk_cache(data)
    assert path.is_file() and path.is_relative_to(run / "cache")
    pn.state.clear_caches()
    again = cached_reference(ExplorerData.load(tiny_survey.path, run))
    np.testing.assert_array_equal(again[0], rows)
    np.testing.assert_array_equal(again[1], prof)
    np.testing.assert_array_equal(reference_profiles(data)[1], prof)

    # a cache directory that cannot be made (a file in its place fails even for root)
    shutil.rmtree(run / "cache" / "profiles")
    (run / "cache" / "profiles").write_text("not a directory")
    pn.state.clear_caches()
    computed = cached_reference(ExplorerData.load(tiny_survey.path, run))
    np.testing.assert_array_equal(computed[1], prof)
    assert (run / "cache" / "profiles").read_text() == "not a directory"
