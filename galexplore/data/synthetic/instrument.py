"""Instrument effects: Gaussian PSF blurring, noise and signal-to-noise cuts.

Blurring uses one FFT per field and a per-galaxy Gaussian transfer function, so a whole
batch with different PSFs is convolved in a few vectorised calls.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def gaussian_blur(fields: np.ndarray, sigma_px: np.ndarray) -> np.ndarray:
    """Convolve each galaxy's fields with a circular Gaussian.

    Parameters
    ----------
    fields : ndarray, shape (B, Q, P, P)
        Q fields per galaxy on a padded P×P grid (padding avoids wrap-around).
    sigma_px : ndarray, shape (B,)
        Gaussian σ per galaxy, in pixels.

    Returns
    -------
    ndarray, shape (B, Q, P, P), float32
    """
    p = fields.shape[-1]
    ky = np.fft.fftfreq(p).astype(np.float32)
    kx = np.fft.rfftfreq(p).astype(np.float32)
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    s2 = (sigma_px.astype(np.float32) ** 2)[:, None, None, None]
    transfer = np.exp(-2.0 * np.pi**2 * s2 * k2)
    spec = scipy.fft.rfft2(fields, axes=(-2, -1), workers=-1)
    spec *= transfer
    return scipy.fft.irfft2(spec, s=(p, p), axes=(-2, -1), workers=-1).astype(np.float32, copy=False)


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], limit: float = 2.5) -> np.ndarray:
    """Standard normal draws clipped at ±``limit`` σ (float32)."""
    return np.clip(rng.standard_normal(shape, dtype=np.float32), -limit, limit)


#: σ of each log map channel at S/N = 1 (dex); divided by the spaxel S/N.
LOG_NOISE_AT_SN1 = {
    "log_sigma_star": 0.5,
    "log_age_lw": 1.2,
    "zh_lw": 1.0,
    "log_ew_ha": 0.3,
    "log_flux": 0.434,
}
SN_CUT = 3.0
