"""Augmentations of multi-band galaxy images (Hayat et al. 2021; Stein et al. 2022), batched."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from galexplore.models.augment import ops

#: A_b / E(B−V) for common broad bands (Schlafly & Finkbeiner 2011, R_V = 3.1): SDSS u g r i z
#: and DECam g r z (as in the Legacy Surveys), which Hayat et al. and Stein et al. use.
EXTINCTION_COEFFICIENTS: dict[str, float] = {
    "u": 4.239,
    "g": 3.303,
    "r": 2.285,
    "i": 1.698,
    "z": 1.263,
    "decam_g": 3.214,
    "decam_r": 2.165,
    "decam_z": 1.211,
}


def is_display_image(units: Sequence[str]) -> bool:
    """Whether images in these units are display renderings (JPEG/PNG values), not linear flux.

    Display renderings are stored with a unit that says so (``"display value (0-1, not linear
    flux)"``, see :mod:`galexplore.data.readers.image_folder`).
    """
    return any("display" in str(u).lower() for u in units)


def extinction_coefficients(bands: Sequence[str]) -> list[float]:
    """A_b/E(B−V) of each band; an unknown band gets the r-band value (with no wavelength known)."""
    out = []
    for b in bands:
        key = str(b).lower().removeprefix("sdss_").removesuffix("_band")
        out.append(EXTINCTION_COEFFICIENTS.get(key, EXTINCTION_COEFFICIENTS["r"]))
    return out


class ImageAugment(nn.Module):
    """Random views of (B, bands, H, W) images, in linear flux units or display values.

    In order: rotation by 0–360° with a flip and a jitter-crop (random zoom in
    ``scale_range`` and shift up to ``max_shift``; one ``grid_sample``), optionally the
    outskirts beyond a radius in ``background_swap`` taken from another galaxy of the batch
    (:func:`~galexplore.models.augment.ops.swap_background`), extra PSF blur σ ~ U(0,
    ``max_blur_px``) in a fraction ``p_blur`` of the views, Galactic reddening with
    E(B−V) ~ U(0, ``max_ebv``) applied through the per-band extinction coefficients (linear
    flux only), brightness / contrast / saturation jitter by factors U(1 − a, 1 + a), and
    Gaussian noise of σ = U(0, ``max_noise``) × the per-band sky noise.

    Parameters
    ----------
    extinction : sequence of float
        A_b / E(B−V) per band (see :func:`extinction_coefficients`).
    sky_noise : sequence of float
        Typical per-pixel noise σ of each band, in the images' units (measured on the
        survey at training time).
    background_swap : (float, float) or None
        Range of the radius (half-widths) beyond which a view's outskirts come from another
        galaxy (None: off).
    brightness, contrast, saturation : float
        Jitter amplitudes a (0: off). Display renderings (JPEG/PNG) have no physical flux
        scale; the default views leave them at 0, which scored best on real SDSS images
        (docs/training.md).
    outside : float or None
        Value of the pixels that a rotation, shift or zoom brings in from beyond the frame, in
        the images' units (0: empty sky); None leaves them NaN, i.e. missing data that the
        encoder sees through its mask channel.
    """

    def __init__(
        self,
        extinction: Sequence[float],
        sky_noise: Sequence[float],
        *,
        rotate: bool = True,
        flip: bool = True,
        max_shift: float = 0.06,
        scale_range: tuple[float, float] = (0.85, 1.0),
        max_blur_px: float = 1.0,
        p_blur: float = 1.0,
        max_ebv: float = 0.1,
        max_noise: float = 2.0,
        background_swap: tuple[float, float] | None = None,
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        outside: float | None = None,
    ) -> None:
        super().__init__()
        if len(extinction) != len(sky_noise):
            raise ValueError("extinction and sky_noise need one value per band")
        self.register_buffer(
            "extinction", torch.as_tensor(list(extinction), dtype=torch.float32), persistent=False
        )
        self.register_buffer(
            "sky_noise", torch.as_tensor(list(sky_noise), dtype=torch.float32), persistent=False
        )
        self.rotate, self.flip, self.max_shift, self.scale_range = rotate, flip, max_shift, scale_range
        self.max_blur_px, self.p_blur, self.max_ebv, self.max_noise = max_blur_px, p_blur, max_ebv, max_noise
        if background_swap is not None and not 0 < background_swap[0] <= background_swap[1]:
            raise ValueError(f"background_swap must be a range 0 < lo <= hi, got {background_swap}")
        if min(brightness, contrast, saturation) < 0 or max(brightness, contrast) >= 1:
            raise ValueError("brightness and contrast must be in [0, 1) and saturation ≥ 0")
        self.background_swap = tuple(background_swap) if background_swap is not None else None
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        self.outside = outside

    @torch.no_grad()
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b = x.shape[0]
        kw = {"generator": generator, "device": x.device}
        theta = ops.affine_matrices(
            b,
            rotate=self.rotate,
            flip=self.flip,
            max_shift=self.max_shift,
            scale_range=self.scale_range,
            **kw,
        )
        x = ops.warp(x, theta, outside=self.outside)
        if self.background_swap is not None:
            radius = ops.uniform(b, *self.background_swap, **kw)
            x = ops.swap_background(x, radius, perm=torch.randperm(b, generator=generator, device=x.device))
        if self.max_blur_px > 0:
            sigma = ops.uniform(b, 0.0, self.max_blur_px, **kw)
            if self.p_blur < 1:
                sigma = sigma * (torch.rand(b, **kw) < self.p_blur)
            x = ops.blur(x, sigma, radius=int(math.ceil(3 * self.max_blur_px)))
        if self.max_ebv > 0:
            ebv = ops.uniform(b, 0.0, self.max_ebv, **kw)
            x = x * torch.pow(10.0, -0.4 * ebv[:, None] * self.extinction[None, :])[:, :, None, None]
        if self.brightness or self.contrast or self.saturation:
            x = ops.jitter_colour(
                x,
                brightness=ops.uniform(b, 1 - self.brightness, 1 + self.brightness, **kw),
                contrast=ops.uniform(b, 1 - self.contrast, 1 + self.contrast, **kw),
                saturation=ops.uniform(b, max(0.0, 1 - self.saturation), 1 + self.saturation, **kw),
            )
        if self.max_noise > 0:
            amp = (
                ops.uniform(b, 0.0, self.max_noise, **kw)[:, None, None, None]
                * self.sky_noise[None, :, None, None]
            )
            x = x + amp * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x

    def extra_repr(self) -> str:
        return (
            f"scale_range={self.scale_range}, max_blur_px={self.max_blur_px}, max_ebv={self.max_ebv}, "
            f"max_noise={self.max_noise}, background_swap={self.background_swap}, "
            f"jitter=({self.brightness}, {self.contrast}, {self.saturation})"
        )


__all__ = ["EXTINCTION_COEFFICIENTS", "ImageAugment", "extinction_coefficients", "is_display_image"]
