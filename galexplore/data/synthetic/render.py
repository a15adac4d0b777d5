"""Noise-free physical fields of a batch of galaxies on an Rₑ-normalised grid.

A galaxy is a Sérsic (n = 4) bulge, an exponential disc with optional bar, logarithmic
spiral arms and star-forming clumps, each with its own stellar population:

* the bulge and bar are old and slightly metal-rich;
* the disc has inside-out gradients ``age(r) = age₀ + grad_age·r`` and
  ``[Z/H](r) = Z₀ + grad_zh·r`` (dex per Rₑ), younger along the arms and in clumps;
* EW(Hα) of the disc rises along the arms and, for green-valley galaxies, is suppressed
  inside the quenching radius (``1 − depth·exp(−(r/r_q)³)``).

Component scale lengths are rescaled so that the half-mass radius of every galaxy is
exactly 1 Rₑ. Luminosity-weighted quantities are carried as sums of luminosity-weighted
fields (``lum_age = Σ L·age``), so that PSF blurring later mixes them correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gamma, gammainc

from galexplore.data.synthetic.geometry import Grid, project

SERSIC_N = 4.0
SERSIC_B = 7.669
_SERSIC_NORM = float(
    1.0 / (2 * np.pi * SERSIC_N * np.exp(SERSIC_B) * SERSIC_B ** (-2 * SERSIC_N) * gamma(2 * SERSIC_N))
)
_EXP_HALF = 1.678347  # half-mass radius of an exponential disc in scale lengths
_BAR_X_INTEGRAL = float(2 * gamma(1.25) * 2**0.25)  # ∫exp(−x⁴/2) dx
EW_OLD = 0.8  # Å, Hα EW of old populations (HOLMES) in bulges and bars
EW_RETIRED_MAX = 1.8  # Å, cap on the noise-free EW of retired galaxies (noise keeps it < 3 Å)


def log_mass_to_light(age: np.ndarray, zh: np.ndarray) -> np.ndarray:
    """r-band log(M/L) [M☉/L☉] of a stellar population of log age [yr] and [Z/H] [dex]."""
    return 0.7 * (age - 9.0) + 0.3 * zh - 0.1


def colours(age: np.ndarray, zh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AB colours g−r and r−i of a population of log age [yr] and [Z/H] [dex]."""
    g_r = np.clip(0.45 + 0.33 * (age - 9.0) + 0.2 * zh, 0.1, 1.05)
    r_i = np.clip(0.12 + 0.13 * (age - 9.0) + 0.1 * zh, 0.0, 0.5)
    return g_r, r_i


def half_mass_radius(bulge_frac: np.ndarray, bulge_re: np.ndarray, disc_h: np.ndarray) -> np.ndarray:
    """Radius enclosing half the mass of bulge + disc (vectorised bisection), same units."""
    lo = np.zeros_like(bulge_frac)
    hi = np.full_like(bulge_frac, 20.0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        xb = SERSIC_B * (mid / bulge_re) ** (1.0 / SERSIC_N)
        xd = mid / disc_h
        m = bulge_frac * gammainc(2 * SERSIC_N, xb) + (1 - bulge_frac) * (1 - (1 + xd) * np.exp(-xd))
        below = m < 0.5
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


@dataclass
class Fields:
    """Luminosity-weighted physical fields, each (B, P, P) float32 on a padded grid.

    ``lum`` is the r-band surface brightness [L☉ pc⁻²] and ``r_disc`` the deprojected
    radius [Rₑ]. For maps: ``mass`` is Σ* [M☉ pc⁻²]; ``lum_age`` = L·log age,
    ``lum_zh`` = L·[Z/H]; ``lum_ew_disc`` = L·(EW shape of the star-forming disc, to be
    scaled) and ``lum_ew_fixed`` = L·EW of the old components [Å]. For images: ``lum_g`` and
    ``lum_i`` are the g and i surface brightnesses in r-band solar units (AB colours applied).
    """

    lum: np.ndarray
    r_disc: np.ndarray
    mass: np.ndarray | None = None
    lum_age: np.ndarray | None = None
    lum_zh: np.ndarray | None = None
    lum_ew_disc: np.ndarray | None = None
    lum_ew_fixed: np.ndarray | None = None
    lum_g: np.ndarray | None = None
    lum_i: np.ndarray | None = None


def _arms(p, r: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Spiral-arm density in [0, 1], tapered to zero in the centre (B, P, P); 0 without arms."""
    out = np.zeros(r.shape, dtype=np.float32)
    rows = np.flatnonzero(p["n_arms"] > 0)
    if rows.size == 0:
        return out
    r, phi = r[rows], phi[rows]
    m = p["n_arms"][rows].astype(np.float32)[:, None, None]
    pitch = np.deg2rad(p["arm_pitch"][rows]).astype(np.float32)[:, None, None]
    phase = p["arm_phase"][rows].astype(np.float32)[:, None, None]
    psi = m * (phi - np.log(np.maximum(r, 0.05) / 0.3) / np.tan(pitch)) - phase
    r2 = r * r
    taper = (1 - np.exp(r2 * np.float32(-1 / 0.45**2))) * np.exp(r2 * r2 * np.float32(-1 / 2.6**4))
    wave = 0.5 * (1 + np.cos(psi))
    out[rows] = wave * wave * wave * taper
    return out


def draw_clumps(clumpy: np.ndarray, rng: np.random.Generator, k: int = 4) -> dict[str, np.ndarray]:
    """Disc-plane positions (Rₑ), widths (Rₑ) and amplitudes of ``k`` clumps per galaxy, (B, k).

    Amplitudes are zero where ``clumpy`` (B,) is False (only Sm/Irr galaxies are clumpy).
    """
    n = len(clumpy)
    r = rng.uniform(0.2, 1.6, (n, k))
    ph = rng.uniform(0, 2 * np.pi, (n, k))
    return {
        "x": r * np.cos(ph),
        "y": r * np.sin(ph),
        "width": rng.uniform(0.08, 0.2, (n, k)),
        "amp": rng.uniform(0.5, 1.5, (n, k)) * np.asarray(clumpy, dtype=float)[:, None],
    }


def _clumps(c: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Clump field (B, P, P) from :func:`draw_clumps` parameters (computed for clumpy rows only)."""
    out = np.zeros(x.shape, dtype=np.float32)
    rows = np.flatnonzero((c["amp"] > 0).any(axis=1))
    if rows.size == 0:
        return out
    xs, ys = x[rows], y[rows]
    for j in range(c["x"].shape[1]):
        cx, cy = c["x"][rows, j, None, None], c["y"][rows, j, None, None]
        w, a = c["width"][rows, j, None, None], c["amp"][rows, j, None, None]
        out[rows] += (a * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * w**2))).astype(np.float32)
    return out


def _bar(p, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Unit-mass boxy bar in the disc plane (per Rₑ², face-on), zero for unbarred (B, P, P).

    Profile exp(−½[(x/σx)⁴ + (y/σy)²]) along the bar angle, with σx = L/2 and σy = L/5 for a
    bar of full length L (``bar_length``, Rₑ).
    """
    out = np.zeros(x.shape, dtype=np.float32)
    rows = np.flatnonzero(p["has_bar"])
    if rows.size == 0:
        return out
    x, y = x[rows], y[rows]
    ang = np.deg2rad(p["bar_angle_deg"][rows]).astype(np.float32)[:, None, None]
    length = p["bar_length"][rows].astype(np.float32)[:, None, None]
    sx, sy = 0.5 * length, 0.2 * length
    xb = (x * np.cos(ang) + y * np.sin(ang)) / sx
    yb = (-x * np.sin(ang) + y * np.cos(ang)) / sy
    norm = 1.0 / (_BAR_X_INTEGRAL * sx * np.sqrt(2 * np.pi) * sy)
    out[rows] = norm * np.exp(-0.5 * (xb * xb * xb * xb + yb * yb))
    return out


def render(p, grid: Grid, clumps: dict[str, np.ndarray], *, bands: bool = False) -> Fields:
    """Render the noise-free fields of a batch.

    Parameters
    ----------
    p : mapping of str → ndarray (B,)
        One batch of :func:`~galexplore.data.synthetic.population.draw_population` rows.
    grid : Grid
        The (padded) grid to render on.
    clumps : dict
        Clump parameters from :func:`draw_clumps` (the same for every grid of a galaxy).
    bands : bool
        Render g, r, i surface brightness for images instead of the map quantities.
    """
    f32 = np.float32
    pr = project(grid, p["pa_deg"], p["axis_ratio"])
    bt = p["bulge_frac"]
    rb0 = p["bulge_re"]
    h0 = np.full_like(bt, 1.0 / _EXP_HALF)
    s = half_mass_radius(bt, rb0, h0)
    rb = (rb0 / s).astype(f32)[:, None, None]
    h = (h0 / s).astype(f32)[:, None, None]
    q = p["axis_ratio"].astype(f32)[:, None, None]
    q_b = 0.75 + 0.25 * q
    bt3 = bt.astype(f32)[:, None, None]
    f_bar = p["bar_strength"].astype(f32)[:, None, None]

    r = pr.r_disc
    arms = _arms(p, r, pr.phi_disc).astype(f32)
    strength = p["arm_strength"].astype(f32)[:, None, None]
    clumps = _clumps(clumps, pr.x_disc, pr.y_disc)

    # Surface densities per unit total mass, per Rₑ² of sky (projected).
    bulge = _SERSIC_NORM / rb**2 * np.exp(-SERSIC_B * (np.sqrt(np.sqrt(pr.r_bulge / rb)) - 1)) / q_b  # n = 4
    disc = np.exp(-r / h) / (2 * np.pi * h**2) / q
    disc = disc * (1 + 0.6 * strength * (arms / 0.3125 - 1) * (arms > 0) + 0.3 * clumps)
    bar = _bar(p, pr.x_disc, pr.y_disc) / q
    m_bulge, m_disc, m_bar = bt3 * bulge, (1 - bt3) * (1 - f_bar) * disc, (1 - bt3) * f_bar * bar

    star_forming = (p["class_code"] < 2)[:, None, None]
    age_b = p["bulge_age"].astype(f32)[:, None, None]
    zh0 = p["zh0"].astype(f32)[:, None, None]
    zh_b, zh_bar = zh0 + 0.1, zh0 + 0.05
    age_bar = age_b - 0.15
    age_d = p["age_disc0"].astype(f32)[:, None, None] + p["grad_age"].astype(f32)[:, None, None] * r
    age_d = age_d - star_forming * (0.5 * strength * arms + 0.4 * clumps)
    age_d = np.clip(age_d, 8.0, 10.15)
    zh_d = np.clip(zh0 + p["grad_zh"].astype(f32)[:, None, None] * r, -1.5, 0.5)

    comps = [(m_bulge, age_b, zh_b), (m_disc, age_d, zh_d), (m_bar, age_bar, zh_bar)]
    lum = [m / 10 ** log_mass_to_light(a, z) for m, a, z in comps]

    # Physical units: Σ* in M☉ pc⁻² from log M* and Rₑ in pc.
    scale = (10 ** p["log_mstar"] / (p["re_kpc"] * 1e3) ** 2).astype(f32)[:, None, None]
    lum_r = [scale * lc for lc in lum]
    total = lum_r[0] + lum_r[1] + lum_r[2]
    out = Fields(lum=total, r_disc=r)
    if bands:
        cols = [colours(a, z) for _, a, z in comps]
        out.lum_g = sum(lc * 10 ** (-0.4 * gr) for lc, (gr, _) in zip(lum_r, cols, strict=True))
        out.lum_i = sum(lc * 10 ** (0.4 * ri) for lc, (_, ri) in zip(lum_r, cols, strict=True))
    else:
        # EW(Hα) shape of the disc; old components carry EW_OLD (or scale too if retired).
        rq = np.nan_to_num(p["quench_radius"], nan=1.0).astype(f32)[:, None, None]
        depth = np.nan_to_num(p["quench_depth"], nan=0.0).astype(f32)[:, None, None]
        rr = r / rq
        ew_disc = (1 + 3.0 * strength * arms + 2.0 * clumps) * (1 - depth * np.exp(-(rr * rr * rr)))
        ew_disc = np.where(star_forming, ew_disc, 1.0 + 0.1 * r)
        old_shape = np.where(star_forming, 0.0, 0.9).astype(f32)
        old = lum_r[0] + lum_r[2]
        out.mass = scale * (m_bulge + m_disc + m_bar)
        out.lum_age = sum(lc * a for lc, (_, a, _) in zip(lum_r, comps, strict=True))
        out.lum_zh = sum(lc * z for lc, (_, _, z) in zip(lum_r, comps, strict=True))
        out.lum_ew_disc = lum_r[1] * ew_disc + old * old_shape
        out.lum_ew_fixed = old * np.where(star_forming, EW_OLD, 0.0).astype(f32)
    return out
