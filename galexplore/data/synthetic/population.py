"""Integrated and structural properties of the synthetic eCALIFA-like population.

Everything here is drawn in one vectorised pass over all galaxies; the maps, images and
spectra are rendered from these parameters afterwards (:mod:`.render`).

The population follows eCALIFA (DESIGN §4):

* log M* from a left-skewed distribution: median ≈ 10.5, 5–95 % ≈ 8.6–11.5;
* ≈ 60 % star-forming on a main sequence log SFR = 0.81 log M* − 8.34 (Cano-Díaz et al.
  2016) with 0.25 dex scatter, ≈ 8 % green valley about 1 dex below it, ≈ 32 % retired about
  2 dex below; quenching becomes likelier with mass;
* Hubble types E…Irr that follow the class and the mass;
* EW(Hα) tracking sSFR, with the WHAN limits (6 Å, 3 Å) separating the classes.

Structural truths (bulge fraction, bar, spiral arms, gradient slopes, quenching radius)
carry scatter of their own, independent of mass, sSFR and type, so that an encoder has to
*see* the structure to recover them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import skewnorm

from galexplore.data.columns import MORPH_TYPES
from galexplore.data.relations import MS_SCATTER, MS_SLOPE, MS_ZERO, main_sequence  # noqa: F401 (re-exported)

#: Class mix reached by the latent quenching variable (calibrated on 10⁶ draws).
_CLASS_THRESHOLDS = (0.513, 0.583)  # u < t0: star-forming; t0 ≤ u < t1: green valley

#: Mean bulge-to-total mass fraction per Hubble type, before the galaxy's own scatter.
_BT_BY_TYPE = np.array([0.62, 0.5, 0.42, 0.37, 0.32, 0.27, 0.22, 0.18, 0.14, 0.1, 0.08])

SPIRAL_TYPES = (2, 3, 4, 5, 6, 7, 8, 9)  # Sa … Sm
BARRED_TYPES = (1, 2, 3, 4, 5, 6, 7, 8)  # S0 … Sd
CLUMPY_TYPES = (9, 10)  # Sm, Irr


def _truncnorm(rng: np.random.Generator, mean, sd, lo, hi, size: int) -> np.ndarray:
    """Normal draws folded into [lo, hi] by resampling (vectorised, deterministic per rng)."""
    x = rng.normal(mean, sd, size)
    bad = (x < lo) | (x > hi)
    for _ in range(20):
        if not bad.any():
            break
        m = mean[bad] if np.ndim(mean) else mean
        s = sd[bad] if np.ndim(sd) else sd
        x[bad] = rng.normal(m, s, int(bad.sum()))
        bad = (x < lo) | (x > hi)
    return np.clip(x, lo, hi)


def draw_population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw integrated and structural truths for ``n`` galaxies.

    Parameters
    ----------
    n : int
        Number of galaxies.
    rng : numpy.random.Generator
        Source of randomness; the same state gives the same table.

    Returns
    -------
    pandas.DataFrame
        One row per galaxy. Besides the standard columns known before rendering, it holds
        the rendering parameters (``t_type``, ``axis_ratio``, ``pa_deg``, ``bulge_frac``,
        ``has_bar``, ``bar_length``, ``n_arms``, ``arm_pitch``, ``arm_strength``,
        ``grad_age``, ``grad_zh``, ``quench_radius``, …) and ``ew_target``, the integrated
        EW(Hα) the renderer normalises the EW map to.
    """
    mass = np.clip(skewnorm.rvs(-5.0, 11.47, 1.4, size=n, random_state=rng), 8.0, 12.0)

    # Quenching: likelier with mass, with a wide scatter of its own.
    u = expit(1.1 * (mass - 10.7) + rng.normal(0, 1.0, n))
    cls = np.where(u < _CLASS_THRESHOLDS[0], 0, np.where(u < _CLASS_THRESHOLDS[1], 1, 2))
    sf, gv, ret = cls == 0, cls == 1, cls == 2

    ms = main_sequence(mass)
    offset = np.where(sf, rng.normal(0, MS_SCATTER, n), 0.0)
    offset = np.where(gv, rng.normal(-1.0, 0.2, n), offset)
    offset = np.where(ret, rng.normal(-2.1, 0.35, n), offset)
    log_sfr = ms + offset
    log_ssfr = log_sfr - mass

    # EW(Hα) tracks sSFR within each class; the WHAN limits separate the classes.
    ew = np.where(
        sf,
        6.6 + 10 ** (1.05 + 0.6 * (log_ssfr + 10.0) + rng.normal(0, 0.08, n)),
        np.where(
            gv,
            np.clip(4.5 + 2.0 * (offset + 1.0) + rng.normal(0, 0.3, n), 3.3, 5.7),
            np.clip(1.0 + 0.4 * (offset + 2.1) + rng.normal(0, 0.25, n), 0.4, 1.6),
        ),
    )

    # Hubble type (T-type index into MORPH_TYPES) from class and mass.
    t_mean = np.where(sf, 5.6 - 1.1 * (mass - 10.3), np.where(gv, 3.0, 0.7))
    t_sd = np.where(sf, 1.5, np.where(gv, 1.3, 1.0))
    t_lo = np.where(sf, 2, np.where(gv, 1, 0))
    t_hi = np.where(sf, 10, np.where(gv, 7, 4))
    t_type = np.clip(np.rint(rng.normal(t_mean, t_sd)), t_lo, t_hi).astype(int)

    disc_like = t_type >= 1
    axis_ratio = np.where(disc_like, rng.uniform(0.25, 1.0, n), rng.uniform(0.6, 1.0, n))
    pa_deg = rng.uniform(0, 180, n)

    # Sizes: size–mass relation, early types more compact.
    log_re_kpc = 0.55 + 0.2 * (mass - 10.5) - 0.1 * ret + rng.normal(0, 0.15, n)
    z = np.clip(0.006 + 0.006 * (mass - 8.5) + rng.normal(0, 0.004, n), 0.004, 0.05)

    # Structure with its own scatter.
    bulge_frac = expit(logit(_BT_BY_TYPE[t_type]) + rng.normal(0, 0.95, n))
    has_bar = np.isin(t_type, BARRED_TYPES) & (rng.uniform(size=n) < 0.4)
    bar_length = np.where(has_bar, rng.uniform(0.6, 1.3, n), np.nan)
    bar_strength = np.where(has_bar, rng.uniform(0.2, 0.4, n), 0.0)
    spiral = np.isin(t_type, SPIRAL_TYPES)
    n_arms = np.where(spiral, rng.choice([2, 3, 4], size=n, p=[0.5, 0.3, 0.2]), 0)
    arm_pitch = np.where(spiral, rng.uniform(10, 35, n), np.nan)
    arm_strength = np.where(spiral, rng.uniform(0.15, 0.6, n), 0.0)
    grad_age = np.where(
        disc_like,
        _truncnorm(rng, -0.2, 0.1, -0.5, -0.03, n),
        _truncnorm(rng, -0.06, 0.06, -0.25, 0.08, n),
    )
    grad_zh = np.where(
        disc_like,
        _truncnorm(rng, -0.14, 0.08, -0.4, -0.02, n),
        _truncnorm(rng, -0.12, 0.07, -0.35, 0.02, n),
    )
    quench_radius = np.where(ret, np.nan, rng.uniform(0.35, 1.2, n))
    quench_depth = np.where(gv, rng.uniform(0.93, 0.99, n), np.where(sf, rng.uniform(0.3, 0.8, n), np.nan))

    # Stellar-population zero points (disc at r = 0); mass–metallicity relation.
    age_disc0 = np.where(
        sf,
        9.25 + 0.2 * (mass - 10.5) - 0.2 * offset,
        np.where(gv, 9.6 + 0.12 * (mass - 10.5), 9.95 + 0.08 * (mass - 10.5)),
    ) + rng.normal(0, 0.08, n)
    zh0 = 0.05 + 0.22 * (mass - 10.5) + rng.normal(0, 0.08, n)

    return pd.DataFrame(
        {
            "log_mstar": mass,
            "log_sfr": log_sfr,
            "log_ssfr": log_ssfr,
            "ms_offset": offset,
            "class_code": cls,
            "ew_target": ew,
            "t_type": t_type,
            "morph_type": np.asarray(MORPH_TYPES, dtype=object)[t_type],
            "z": z,
            "re_kpc": 10**log_re_kpc,
            "axis_ratio": axis_ratio,
            "pa_deg": pa_deg,
            "bulge_frac": bulge_frac,
            "has_bar": has_bar,
            "bar_length": bar_length,
            "bar_strength": bar_strength,
            "bar_angle_deg": rng.uniform(0, 180, n),
            "n_arms": n_arms.astype(np.int64),
            "arm_pitch": arm_pitch,
            "arm_strength": arm_strength,
            "arm_phase": rng.uniform(0, 2 * np.pi, n),
            "grad_age": grad_age,
            "grad_zh": grad_zh,
            "quench_radius": quench_radius,
            "quench_depth": quench_depth,
            "age_disc0": np.clip(age_disc0, 8.6, 10.05),
            "zh0": np.clip(zh0, -1.0, 0.3),
            "bulge_age": np.clip(rng.normal(10.0, 0.07, n), 9.8, 10.15),
            "bulge_re": rng.uniform(0.15, 0.3, n),
            "clumpy": np.isin(t_type, CLUMPY_TYPES) & ~ret,
        }
    )
