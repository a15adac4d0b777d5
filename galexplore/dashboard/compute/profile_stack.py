"""Stacked radial profiles of groups of galaxies (no Panel: pure survey + numpy).

Builds on :mod:`galexplore.analysis.profiles`: per-galaxy annular means of the Rₑ-normalised maps
against deprojected radius, then the median and 16–84 % band over a group. Large groups are
represented by a seeded random sample, so a lasso of 10⁵ galaxies reads a few hundred maps,
not all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from galexplore.analysis.profiles import deprojected_radius, radial_profiles, stack_profiles
from galexplore.dashboard.data import ExplorerData

#: Channels stacked, in display order.
PROFILE_CHANNELS = ("log_ew_ha", "log_age_lw", "zh_lw", "log_sigma_star")
MAX_GROUP = 300
MAX_REFERENCE = 800
BIN_WIDTH_RE = 0.25


@dataclass(frozen=True)
class StackedProfiles:
    """Median and 16–84 % band of a group's profiles.

    Attributes
    ----------
    radius : ndarray (K,)
        Bin centres in Rₑ.
    channels : tuple of str
        The channels of axis 1 of ``quantiles``.
    quantiles : ndarray (3, C, K)
        16th, 50th and 84th percentiles over galaxies.
    n_galaxies : int
        Galaxies stacked (after sampling).
    n_group : int
        Galaxies in the group before sampling.
    """

    radius: np.ndarray
    channels: tuple[str, ...]
    quantiles: np.ndarray
    n_galaxies: int
    n_group: int


def radial_bins(extent: float, width: float = BIN_WIDTH_RE) -> np.ndarray:
    """Bin edges 0, width, … up to the map's half-width ``extent`` (Rₑ)."""
    return np.arange(0.0, extent + 1e-6, width)


def sample_rows(rows: npt.ArrayLike, n_max: int, seed: int = 0) -> np.ndarray:
    """At most ``n_max`` of ``rows``, chosen at random with a fixed seed, in increasing order."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) <= n_max:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, n_max, replace=False))


def galaxy_profiles(
    data: ExplorerData, rows: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Profiles (N, C, K) of catalog ``rows`` for the channels of :data:`PROFILE_CHANNELS` present.

    Returns the profiles, the bin centres (K,) in Rₑ and the channel names.
    """
    spec = data.survey.spec("maps")
    channels = tuple(c for c in PROFILE_CHANNELS if c in spec.channels)
    idx = [spec.channels.index(c) for c in channels]
    extent = float(spec.grid.get("extent_re", 2.5))
    bins = radial_bins(extent)
    centres = 0.5 * (bins[1:] + bins[:-1])
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return np.empty((0, len(channels), len(centres))), centres, channels
    maps = data.survey.read("maps", data.rows[rows])[:, idx]
    cat = data.catalog
    if {"pa_deg", "axis_ratio"} <= set(cat.columns):
        pa = np.nan_to_num(cat["pa_deg"].to_numpy(float)[rows], nan=0.0)
        q = np.clip(np.nan_to_num(cat["axis_ratio"].to_numpy(float)[rows], nan=1.0), 0.2, 1.0)
    else:
        pa, q = np.zeros(len(rows)), np.ones(len(rows))
    radius = deprojected_radius(spec.shape[-1], extent, pa, q)
    return radial_profiles(maps, radius, bins), centres, channels


def stack(
    data: ExplorerData, rows: npt.ArrayLike, *, n_max: int = MAX_GROUP, seed: int = 0
) -> StackedProfiles:
    """Stacked profiles of a group of catalog rows (a seeded sample of at most ``n_max``)."""
    rows = np.asarray(rows, dtype=np.int64)
    sample = sample_rows(rows, n_max, seed)
    prof, centres, channels = galaxy_profiles(data, sample)
    return StackedProfiles(centres, channels, stack_profiles(prof), len(sample), len(rows))


def reference_profiles(
    data: ExplorerData, *, n_max: int = MAX_REFERENCE, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Profiles of a seeded sample of the whole survey: (rows (M,), profiles (M, C, K))."""
    rows = sample_rows(np.arange(data.n), n_max, seed)
    prof, _, _ = galaxy_profiles(data, rows)
    return rows, prof


def stack_rest(
    data: ExplorerData, reference: tuple[np.ndarray, np.ndarray], selected: npt.ArrayLike
) -> StackedProfiles:
    """Stacked profiles of the reference sample minus the selected galaxies."""
    rows, prof = reference
    keep = ~np.isin(rows, np.asarray(selected, dtype=np.int64))
    spec = data.survey.spec("maps")
    bins = radial_bins(float(spec.grid.get("extent_re", 2.5)))
    channels = tuple(c for c in PROFILE_CHANNELS if c in spec.channels)
    n_rest = data.n - len(np.asarray(selected))
    return StackedProfiles(
        0.5 * (bins[1:] + bins[:-1]), channels, stack_profiles(prof[keep]), int(keep.sum()), n_rest
    )
