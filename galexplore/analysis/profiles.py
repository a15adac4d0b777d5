"""Radial profiles of Rₑ-normalised maps: per galaxy, and stacked over a group.

Conventions (shared with the synthetic survey and the readers): map row 0 is north (+y up),
column 0 is east (+x points west, to the right), pixel centres span ±extent·(1 − 1/size) Rₑ,
and position angles are astronomical (degrees from north through east).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def pixel_coords(size: int, extent: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y) in Rₑ of a size×size grid over ±extent, each (size, size)."""
    c = (np.arange(size, dtype=np.float32) - (size - 1) / 2.0) * np.float32(2.0 * extent / size)
    x, y = np.meshgrid(c, c[::-1], indexing="xy")
    return x, y


def disc_frame(
    x: np.ndarray, y: np.ndarray, pa_deg: npt.ArrayLike, axis_ratio: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates in the plane of inclined discs.

    Parameters
    ----------
    x, y : ndarray, shape (H, W)
        Sky coordinates in Rₑ (+x west, +y north).
    pa_deg : array_like, shape (N,)
        Position angle of the major axis, degrees from north through east.
    axis_ratio : array_like, shape (N,)
        Apparent axis ratio b/a of the disc (cos i for a thin disc).

    Returns
    -------
    x_major, y_minor_sky, y_minor_deprojected : ndarray, shape (N, H, W)
        Along the major axis, along the minor axis on the sky, and the latter divided by b/a.
    """
    theta = np.deg2rad(np.asarray(pa_deg, dtype=np.float64) + 90.0).astype(np.float32)[:, None, None]
    q = np.asarray(axis_ratio, dtype=np.float32)[:, None, None]
    c, s = np.cos(theta), np.sin(theta)
    xd = x * c + y * s
    yd_sky = -x * s + y * c
    return xd, yd_sky, yd_sky / q


def deprojected_radius(
    size: int, extent: float, pa_deg: npt.ArrayLike, axis_ratio: npt.ArrayLike
) -> np.ndarray:
    """Deprojected radius in Rₑ of every pixel for each galaxy, shape (N, size, size)."""
    x, y = pixel_coords(size, extent)
    xd, _, yd = disc_frame(x, y, pa_deg, axis_ratio)
    return np.sqrt(xd * xd + yd * yd)


def radial_profiles(maps: np.ndarray, radius: np.ndarray, bins: npt.ArrayLike) -> np.ndarray:
    """Annular means of every channel, ignoring NaN (vectorised with ``bincount``).

    Parameters
    ----------
    maps : ndarray, shape (N, C, H, W)
        Maps, NaN where there are no data.
    radius : ndarray, shape (N, H, W)
        Radius of each pixel in Rₑ (e.g. :func:`deprojected_radius`).
    bins : array_like, shape (K + 1,)
        Bin edges in Rₑ.

    Returns
    -------
    ndarray, shape (N, C, K), float64
        Mean of each channel in each annulus; NaN for an annulus with no valid pixel.
    """
    maps = np.asarray(maps)
    n, c = maps.shape[:2]
    bins = np.asarray(bins, dtype=np.float64)
    k = len(bins) - 1
    which = np.digitize(radius, bins) - 1  # (N, H, W), −1 or k outside
    inside = (which >= 0) & (which < k)
    valid = np.isfinite(maps) & inside[:, None]
    index = (np.arange(n)[:, None, None, None] * c + np.arange(c)[None, :, None, None]) * k + which[:, None]
    flat = index[valid]
    sums = np.bincount(flat, weights=maps[valid].astype(np.float64), minlength=n * c * k)
    counts = np.bincount(flat, minlength=n * c * k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts).reshape(n, c, k)


def stack_profiles(profiles: np.ndarray, quantiles: tuple[float, ...] = (0.16, 0.5, 0.84)) -> np.ndarray:
    """Quantiles over galaxies of per-galaxy profiles, ignoring NaN.

    Parameters
    ----------
    profiles : ndarray, shape (N, C, K)

    Returns
    -------
    ndarray, shape (len(quantiles), C, K); NaN where no galaxy has data.
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    out = np.full((len(quantiles), *profiles.shape[1:]), np.nan)
    has = np.isfinite(profiles).any(axis=0)
    if has.any() and len(profiles):
        out[:, has] = np.nanquantile(profiles[:, has], quantiles, axis=0)
    return out


def gradient(profile: np.ndarray, centres: np.ndarray, r_min: float = 0.5, r_max: float = 2.0) -> np.ndarray:
    """Least-squares slope per Rₑ of profiles (..., K) between ``r_min`` and ``r_max`` (NaN-aware)."""
    sel = (centres >= r_min) & (centres <= r_max)
    y = np.asarray(profile)[..., sel]
    x = np.broadcast_to(centres[sel], y.shape)
    ok = np.isfinite(y)
    nok = ok.sum(axis=-1)
    xm = np.where(ok, x, 0).sum(-1) / np.maximum(nok, 1)
    ym = np.where(ok, y, 0).sum(-1) / np.maximum(nok, 1)
    dx = np.where(ok, x - xm[..., None], 0)
    dy = np.where(ok, y - ym[..., None], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (dx * dy).sum(-1) / (dx * dx).sum(-1)
    return np.where(nok >= 3, slope, np.nan)
