"""Integrated optical spectra: a continuum with a 4000 Å break, absorption features and
emission lines scaled by EW(Hα), redshifted onto an observed-frame grid.
"""

from __future__ import annotations

import numpy as np

from galexplore.data.synthetic.instrument import truncated_normal

#: Rest-frame absorption features: name → (centre Å, σ Å).
ABSORPTION = {
    "CaK": (3933.7, 6.0),
    "CaH": (3968.5, 6.0),
    "Hdelta": (4101.7, 5.0),
    "Gband": (4304.4, 8.0),
    "Hbeta_abs": (4861.3, 5.0),
    "Mgb": (5175.0, 10.0),
    "Fe5270": (5270.0, 6.0),
    "NaD": (5892.9, 6.0),
    "Halpha_abs": (6562.8, 5.0),
}
EMISSION_SIGMA = 3.0  # Å, rest frame: instrument + ~100 km/s


def d4000(age: np.ndarray, zh: np.ndarray) -> np.ndarray:
    """Strength of the 4000 Å break (flux ratio red/blue) for log age [yr] and [Z/H] [dex]."""
    return np.clip(1.0 + 0.55 * (age - 8.5) + 0.25 * zh, 1.05, 2.3)


def _gauss(lam: np.ndarray, centre: float | np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((lam - centre) / sigma) ** 2)


def spectra(
    wavelength: np.ndarray,
    *,
    age: np.ndarray,
    zh: np.ndarray,
    ew_ha: np.ndarray,
    class_code: np.ndarray,
    z: np.ndarray,
    flux_r_nmgy: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Observed-frame spectra of a batch.

    Parameters
    ----------
    wavelength : ndarray, shape (L,), Å
        Observed-frame wavelength grid.
    age, zh : ndarray, shape (B,)
        Luminosity-weighted log age [yr] and [Z/H] [dex].
    ew_ha : ndarray, shape (B,), Å
        Integrated EW(Hα), positive for emission.
    class_code : ndarray, shape (B,)
        0 star-forming, 1 green valley, 2 retired (sets the line ratios).
    z : ndarray, shape (B,)
        Redshift.
    flux_r_nmgy : ndarray, shape (B,)
        Total r-band flux [nanomaggies]; the spectrum is normalised to it.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (B, L), float32
        f_λ in 10⁻¹⁷ erg s⁻¹ cm⁻² Å⁻¹, with noise at S/N 8–30 per pixel.
    """
    col = lambda a: np.asarray(a, dtype=np.float64)[:, None]  # noqa: E731
    age, zh, ew, cls, z = col(age), col(zh), col(ew_ha), col(class_code), col(z)
    lam = wavelength[None, :] / (1 + z)  # rest frame
    young = np.clip((9.6 - age) / 1.0, 0, 1)
    brk = d4000(age, zh)
    beta = -2.0 + 1.9 * (age - 8.5) / 1.6
    cont = (lam / 5500.0) ** beta
    cont = cont * (1 / brk + (1 - 1 / brk) / (1 + np.exp(-(lam - 4000.0) / 25.0)))
    depth = {
        "CaK": 0.25 * (brk - 1),
        "CaH": 0.22 * (brk - 1),
        "Hdelta": 0.06 + 0.15 * young,
        "Gband": 0.12 * (brk - 1),
        "Hbeta_abs": 0.05 + 0.1 * young,
        "Mgb": np.clip(0.04 + 0.1 * (brk - 1) + 0.08 * zh, 0, 0.3),
        "Fe5270": 0.04 + 0.02 * zh,
        "NaD": 0.04 + 0.07 * (brk - 1),
        "Halpha_abs": 0.05 + 0.05 * young,
    }
    absorb = np.ones_like(lam)
    for name, (centre, sigma) in ABSORPTION.items():
        absorb *= 1 - np.clip(depth[name], 0, 0.6) * _gauss(lam, centre, sigma)
    cont = cont * absorb

    # Emission lines: EW(Hα) sets the Hα flux; ratios depend on the ionisation source.
    c_ha = (6562.8 / 5500.0) ** beta
    f_ha = ew * c_ha
    sf = cls == 0
    n2 = np.where(sf, 10 ** (-0.45 + 0.4 * zh), np.where(cls == 1, 0.8, 1.3))
    f_hb = f_ha / 3.5
    o3 = np.where(sf, np.clip(10 ** (-0.1 - 1.2 * (zh + 0.2)), 0.1, 5.0), 1.0)
    s2 = np.where(sf, 0.18, 0.4)
    lines = [
        (6562.8, f_ha),
        (6583.5, n2 * f_ha),
        (6548.1, n2 * f_ha / 3),
        (4861.3, f_hb),
        (5006.8, o3 * f_hb),
        (4958.9, o3 * f_hb / 3),
        (3727.3, 1.5 * f_hb * np.where(sf, 1.0, 2.0)),
        (6716.4, s2 * f_ha),
        (6730.8, 0.75 * s2 * f_ha),
        (4340.5, 0.47 * f_hb),
    ]
    norm = 1.0 / (np.sqrt(2 * np.pi) * EMISSION_SIGMA)
    spec = cont + sum(f * norm * _gauss(lam, c, EMISSION_SIGMA) for c, f in lines)

    # Normalise the mean f_λ over the observed r band (5600–6800 Å) to the galaxy's r flux.
    band = (wavelength > 5600) & (wavelength < 6800)
    f_lambda_r = flux_r_nmgy * 3.631e-29 * 2.998e18 / 6231.0**2 / 1e-17  # 10⁻¹⁷ erg s⁻¹ cm⁻² Å⁻¹
    spec = spec * (f_lambda_r / spec[:, band].mean(axis=1))[:, None]
    sn = rng.uniform(8, 30, len(spec))[:, None]
    noise = truncated_normal(rng, spec.shape, limit=4.0) * (np.median(spec, axis=1, keepdims=True) / sn)
    return (spec + noise).astype(np.float32)
