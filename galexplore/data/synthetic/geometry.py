"""Pixel grids normalised to Rₑ, projected galaxy coordinates, fields of view and stars.

All functions work on a batch of B galaxies at once: per-galaxy parameters are arrays of
shape (B,) and the returned fields have shape (B, P, P) for a P×P (padded) grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galexplore.analysis.profiles import disc_frame, pixel_coords


@dataclass(frozen=True)
class Grid:
    """A square pixel grid centred on the galaxy, in units of its effective radius Rₑ.

    Parameters
    ----------
    size : int
        Output pixels per side.
    extent : float
        Half-width of the output grid in Rₑ (pixel centres span ±extent·(1 − 1/size)).
    pad : int
        Extra pixels rendered on each side, so that PSF blurring does not wrap around.
    """

    size: int = 64
    extent: float = 2.5
    pad: int = 16

    @property
    def pixel(self) -> float:
        """Pixel size in Rₑ."""
        return 2.0 * self.extent / self.size

    @property
    def padded(self) -> int:
        return self.size + 2 * self.pad

    def coords(self, padded: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates (x, y) in Rₑ, each of shape (P, P); +x west, +y north."""
        n = self.padded if padded else self.size
        return pixel_coords(n, self.extent * n / self.size)

    def crop(self, field: np.ndarray) -> np.ndarray:
        """The output window of a padded field (..., P, P) → (..., size, size)."""
        p = self.pad
        return field[..., p : p + self.size, p : p + self.size]


@dataclass
class Projected:
    """Coordinates of each grid pixel in each galaxy's disc plane (shapes (B, P, P))."""

    x_disc: np.ndarray  # along the major axis, Rₑ
    y_disc: np.ndarray  # along the minor axis, deprojected, Rₑ
    r_disc: np.ndarray  # deprojected radius, Rₑ
    phi_disc: np.ndarray  # azimuth in the disc plane, rad
    r_bulge: np.ndarray  # elliptical radius for the rounder bulge, Rₑ


def project(grid: Grid, pa_deg: np.ndarray, axis_ratio: np.ndarray) -> Projected:
    """Deproject the grid for discs of astronomical position angle ``pa_deg`` and axis ratio b/a."""
    x, y = grid.coords()
    xd, yd_sky, yd = disc_frame(x, y, pa_deg, axis_ratio)
    q_b = 0.75 + 0.25 * axis_ratio.astype(np.float32)[:, None, None]
    return Projected(
        x_disc=xd,
        y_disc=yd,
        r_disc=np.sqrt(xd * xd + yd * yd),
        phi_disc=np.arctan2(yd, xd),
        r_bulge=np.sqrt(xd * xd + (yd_sky * yd_sky) / (q_b * q_b)),
    )


def hexagon_mask(grid: Grid, circumradius: np.ndarray, rotation_deg: np.ndarray) -> np.ndarray:
    """True inside a regular hexagon (like a CALIFA/MaNGA fibre bundle), shape (B, P, P)."""
    x, y = grid.coords()
    inner = (np.sqrt(3.0) / 2.0) * circumradius.astype(np.float32)[:, None, None]
    rot = np.deg2rad(rotation_deg).astype(np.float32)[:, None, None]
    inside = np.ones((len(circumradius), *x.shape), dtype=bool)
    for k in range(3):  # three pairs of parallel edges
        ang = rot + np.float32(k * np.pi / 3.0 + np.pi / 6.0)
        inside &= np.abs(x * np.cos(ang) + y * np.sin(ang)) <= inner
    return inside


def ellipse_mask(
    grid: Grid, semi_major: np.ndarray, axis_ratio: np.ndarray, pa_deg: np.ndarray
) -> np.ndarray:
    """True inside an ellipse (a slit-scan or elliptical field of view), shape (B, P, P)."""
    x, y = grid.coords()
    pa = np.deg2rad(pa_deg).astype(np.float32)[:, None, None]
    a = semi_major.astype(np.float32)[:, None, None]
    b = a * axis_ratio.astype(np.float32)[:, None, None]
    u = x * np.cos(pa) + y * np.sin(pa)
    v = -x * np.sin(pa) + y * np.cos(pa)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def field_of_view(grid: Grid, rng: np.random.Generator, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Draw per-galaxy fields of view: 80 % hexagons (IFU bundles), 20 % ellipses.

    Returns the mask (B, P, P) and the parameters drawn, for the catalog.
    """
    hexagonal = rng.uniform(size=n) < 0.8
    size = rng.uniform(1.9, 2.6, n)  # circumradius or semi-major axis, Rₑ
    rot = rng.uniform(0, 60, n)
    ell_q = rng.uniform(0.75, 1.0, n)
    ell_pa = rng.uniform(0, 180, n)
    mask = np.where(
        hexagonal[:, None, None],
        hexagon_mask(grid, size, rot),
        ellipse_mask(grid, size * 0.95, ell_q, ell_pa),
    )
    info = {
        "fov_shape": np.where(hexagonal, "hexagon", "ellipse"),
        "fov_radius_re": size,
        "fov_angle_deg": np.where(hexagonal, rot, ell_pa),
        "fov_axis_ratio": np.where(hexagonal, 1.0, ell_q),
    }
    return mask, info


def fov_mask_from_catalog(
    grid: Grid, shape: np.ndarray, radius: np.ndarray, angle: np.ndarray, axis_ratio: np.ndarray
) -> np.ndarray:
    """Rebuild the field-of-view mask (B, P, P) from the catalog's ``fov_*`` columns."""
    hexagonal = np.asarray(shape) == "hexagon"
    return np.where(
        hexagonal[:, None, None],
        hexagon_mask(grid, radius, angle),
        ellipse_mask(grid, radius * 0.95, axis_ratio, angle),
    )


def draw_stars(rng: np.random.Generator, n: int, max_stars: int = 2) -> dict[str, np.ndarray]:
    """Foreground stars: positions in Rₑ (B, K), presence (B, K), r-band flux (nanomaggies) and g−r.

    About a quarter of galaxies have at least one star projected on their field.
    """
    present = rng.uniform(size=(n, max_stars)) < np.array([0.22, 0.08])[:max_stars]
    r = 2.3 * np.sqrt(rng.uniform(0.02, 1.0, (n, max_stars)))
    phi = rng.uniform(0, 2 * np.pi, (n, max_stars))
    return {
        "present": present,
        "x": (r * np.cos(phi)).astype(np.float32),
        "y": (r * np.sin(phi)).astype(np.float32),
        "flux_r": 10 ** rng.uniform(1.0, 3.0, (n, max_stars)),
        "g_r": rng.uniform(0.3, 1.3, (n, max_stars)),
    }


def star_mask(grid: Grid, stars: dict[str, np.ndarray], radius: np.ndarray) -> np.ndarray:
    """True where a foreground star is masked: discs of ``radius`` (B,) Rₑ around each star."""
    x, y = grid.coords()
    masked = np.zeros((len(radius), *x.shape), dtype=bool)
    for b, k in zip(*np.nonzero(stars["present"]), strict=True):
        d2 = (x - stars["x"][b, k]) ** 2 + (y - stars["y"][b, k]) ** 2
        masked[b] |= d2 < np.float32(radius[b]) ** 2
    return masked
