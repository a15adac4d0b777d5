"""Turn noise-free fields into what an instrument records: IFU property maps and g, r, i images.

Maps (Pipe3D-like products) are blurred by the IFU PSF, get noise that grows as the
surface brightness drops, and are NaN outside the field of view, below S/N 3 and under
foreground stars. Images are blurred by the seeing, get sky noise and the stars themselves.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from galexplore.data.columns import MAP_CHANNELS
from galexplore.data.synthetic.geometry import Grid
from galexplore.data.synthetic.instrument import (
    FWHM_TO_SIGMA,
    LOG_NOISE_AT_SN1,
    SN_CUT,
    gaussian_blur,
    truncated_normal,
)
from galexplore.data.synthetic.render import Fields

MAP_CHANNEL_NAMES = tuple(MAP_CHANNELS)
BANDS = ("g", "r", "i")
#: Sky noise per band in nanomaggies per arcsec (σ per pixel = value × pixel side in arcsec).
SKY_NOISE = np.array([0.010, 0.014, 0.022], dtype=np.float32)
M_SUN_R = 4.65  # AB absolute magnitude of the Sun in r (Willmer 2018)


@lru_cache(maxsize=1)
def surface_brightness_constants() -> tuple[float, float]:
    """log10 conversions from r-band L☉ pc⁻² to (f_λ in 10⁻¹⁶ erg s⁻¹ cm⁻² Å⁻¹ arcsec⁻², nanomaggies arcsec⁻²).

    μ = M☉ + 21.572 − 2.5 log Σ_L (mag arcsec⁻²); f_ν = 10^(−0.4 (μ + 48.6)); f_λ = f_ν c/λ² at
    the r-band pivot 6231 Å; 1 nanomaggy is AB mag 22.5.
    """
    from astropy import constants as const
    from astropy import units as u

    mu0 = M_SUN_R + 21.572  # mag arcsec⁻² of 1 L☉ pc⁻²
    f_nu = 10 ** (-0.4 * (mu0 + 48.6)) * u.erg / u.s / u.cm**2 / u.Hz
    f_lam = (f_nu * const.c / (6231 * u.AA) ** 2).to(u.erg / u.s / u.cm**2 / u.AA)
    log_flam = float(np.log10(f_lam.value / 1e-16))
    log_nmgy = float(-0.4 * (mu0 - 22.5))
    return log_flam, log_nmgy


def _safe_log10(x: np.ndarray, floor: float) -> np.ndarray:
    return np.log10(np.maximum(x, floor))


def observe_maps(
    fields: Fields,
    grid: Grid,
    *,
    psf_sigma_px: np.ndarray,
    fov: np.ndarray,
    stars: np.ndarray,
    sn_re: np.ndarray,
    ew_scale: np.ndarray,
    ew_cap: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """IFU maps (B, 5, H, W) float32 in the standard channels; NaN where there is no data.

    ``ew_scale`` (B,) multiplies the disc EW shape so that the integrated EW(Hα) equals its
    target; ``ew_cap`` (B,) caps the noise-free EW (retired galaxies stay below 3 Å).
    """
    cap = ew_cap.astype(np.float32)[:, None, None]
    ew = (fields.lum_ew_disc * ew_scale.astype(np.float32)[:, None, None] + fields.lum_ew_fixed) / fields.lum
    lum_ew = fields.lum * np.minimum(ew, cap)
    stack = np.stack([fields.mass, fields.lum, fields.lum_age, fields.lum_zh, lum_ew], axis=1)
    blurred = grid.crop(gaussian_blur(stack, psf_sigma_px))
    mass, lum, lum_age, lum_zh, lum_ew = (blurred[:, k] for k in range(5))
    lum = np.maximum(lum, 1e-12)
    log_flam, _ = surface_brightness_constants()
    maps = np.stack(
        [
            _safe_log10(mass, 1e-3),
            lum_age / lum,
            lum_zh / lum,
            _safe_log10(np.minimum(lum_ew / lum, cap), 0.05),
            _safe_log10(lum, 1e-6) + log_flam,
        ],
        axis=1,
    )
    # Noise: S/N per spaxel scales as sqrt(surface brightness), normalised at 1 Rₑ.
    r = grid.crop(fields.r_disc)
    ring = (np.abs(r - 1.0) < 0.1).astype(np.float32)
    lum_re = (grid.crop(fields.lum) * ring).sum(axis=(1, 2)) / np.maximum(ring.sum(axis=(1, 2)), 1)
    sn = sn_re.astype(np.float32)[:, None, None] * np.sqrt(lum / lum_re[:, None, None])
    sigma1 = np.array([LOG_NOISE_AT_SN1[c] for c in MAP_CHANNEL_NAMES], dtype=np.float32)[None, :, None, None]
    maps += sigma1 / sn[:, None] * truncated_normal(rng, maps.shape, limit=2.0)
    bad = (sn < SN_CUT) | ~grid.crop(fov) | grid.crop(stars)
    maps[np.broadcast_to(bad[:, None], maps.shape)] = np.nan
    return maps.astype(np.float32)


def observe_images(
    fields: Fields,
    grid: Grid,
    *,
    pixel_arcsec: np.ndarray,
    seeing_sigma_px: np.ndarray,
    stars: dict[str, np.ndarray],
    depth: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """g, r, i images (B, 3, H, W) in nanomaggies per pixel, and the noise-free total r flux (B,)."""
    _, log_nmgy = surface_brightness_constants()
    area = (pixel_arcsec.astype(np.float32) ** 2)[:, None, None, None]
    bands = np.stack([fields.lum_g, fields.lum, fields.lum_i], axis=1) * np.float32(10**log_nmgy) * area
    total_r = grid.crop(bands[:, 1]).sum(axis=(1, 2))
    # Foreground stars as point sources at their nearest pixel, coloured by g−r.
    p = grid.pad
    for k in range(stars["x"].shape[1]):
        col = (
            np.clip(
                np.rint(stars["x"][:, k] / grid.pixel + (grid.size - 1) / 2).astype(int), 0, grid.size - 1
            )
            + p
        )
        row = (
            np.clip(
                np.rint(-stars["y"][:, k] / grid.pixel + (grid.size - 1) / 2).astype(int), 0, grid.size - 1
            )
            + p
        )
        f_r = stars["flux_r"][:, k] * stars["present"][:, k]
        g_r = stars["g_r"][:, k]
        idx = np.arange(len(col))
        for b, colour in enumerate((10 ** (-0.4 * g_r), np.ones_like(g_r), 10 ** (0.4 * 0.4 * g_r))):
            bands[idx, b, row, col] += (f_r * colour).astype(np.float32)
    images = grid.crop(gaussian_blur(bands, seeing_sigma_px))
    sigma = SKY_NOISE[None, :, None, None] * (pixel_arcsec * depth).astype(np.float32)[:, None, None, None]
    images = images + sigma * rng.standard_normal(images.shape, dtype=np.float32)
    return images.astype(np.float32), total_r


def fwhm_to_sigma_px(fwhm_arcsec: np.ndarray, pixel_arcsec: np.ndarray) -> np.ndarray:
    """Gaussian σ in pixels for a FWHM in arcsec on pixels of ``pixel_arcsec``."""
    return fwhm_arcsec * FWHM_TO_SIGMA / pixel_arcsec
