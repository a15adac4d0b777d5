"""Augmentations of IFU property maps (eCALIFA style), batched on the device."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from galexplore.models.augment import ops

LOG10_E = math.log10(math.e)


def is_log_channel(name: str, unit: str = "") -> bool:
    """Whether a map channel holds a logarithm (its noise is additive in dex)."""
    u = unit.lower()
    return (
        name.startswith("log_") or name in {"zh_lw", "zh_mw", "age_lw"} or "dex" in u or u.startswith("log")
    )


class MapAugment(nn.Module):
    """Random views of IFU maps: geometry, PSF, noise, star masks and resolution loss.

    Operates on physical values (B, C, H, W) with NaN where there is no data, and returns the
    same; every sample draws its own parameters. In order:

    1. rotation by 0–360°, a flip and a translation (one ``grid_sample``);
    2. resolution loss ("redshifting"): with probability ``p_block``, average blocks of 2×2 or
       4×4 pixels;
    3. extra PSF blur with σ ~ U(0, ``max_blur_px``);
    4. multiplicative noise at an S/N ~ U(``sn_range``), drawn per sample and applied per
       pixel (log-normal, ``x·exp(ε/SN)``; additive in dex for logarithmic channels), with
       probability ``p_noise``;
    5. up to ``max_stars`` foreground-star masks;
    6. with probability ``p_aperture``, a circular aperture of radius ~ U(``aperture_range``)
       × the half-width (a field of view of its own for every view).

    Parameters
    ----------
    log_channels : sequence of bool
        Per channel: True if it holds a logarithm (dex), see :func:`is_log_channel`.
    binning : int
        The input was averaged over k×k native spaxels (see ``pool`` in the model config);
        ``sn_range`` refers to native spaxels, so the noise added per input pixel is k× lower.
    """

    def __init__(
        self,
        log_channels: Sequence[bool],
        *,
        rotate: bool = True,
        flip: bool = True,
        max_shift: float = 0.08,
        p_block: float = 0.3,
        block_choices: tuple[int, ...] = (2, 4),
        max_blur_px: float = 1.5,
        sn_range: tuple[float, float] = (1.0, 10.0),
        p_noise: float = 0.5,
        max_stars: int = 2,
        p_star: float = 0.25,
        star_radius_px: tuple[float, float] = (2.0, 5.0),
        p_aperture: float = 0.0,
        aperture_range: tuple[float, float] = (0.6, 0.95),
        binning: int = 1,
    ) -> None:
        super().__init__()
        self.register_buffer(
            "log_channels", torch.as_tensor(list(log_channels), dtype=torch.bool), persistent=False
        )
        self.rotate, self.flip, self.max_shift = rotate, flip, max_shift
        self.p_block, self.block_choices = p_block, tuple(block_choices)
        self.max_blur_px = max_blur_px
        self.sn_range, self.p_noise = sn_range, p_noise
        self.max_stars, self.p_star, self.star_radius_px = max_stars, p_star, star_radius_px
        self.p_aperture, self.aperture_range = p_aperture, aperture_range
        self.binning = int(binning)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        dev = x.device
        kw = {"generator": generator, "device": dev}
        # Work on the weighted stack [values × weight, weight] and divide once at the end.
        t = ops.warp_weighted(
            ops.to_weighted(x),
            ops.affine_matrices(b, rotate=self.rotate, flip=self.flip, max_shift=self.max_shift, **kw),
        )
        if self.p_block > 0 and self.block_choices:
            pick = torch.randint(len(self.block_choices), (b,), **kw)
            factors = torch.as_tensor(self.block_choices, device=dev)[pick]
            factors = torch.where(torch.rand(b, **kw) < self.p_block, factors, torch.ones_like(factors))
            t = ops.block_average_weighted(t, factors, self.block_choices)
        if self.max_blur_px > 0:
            t = ops.blur_weighted(
                t, ops.uniform(b, 0.0, self.max_blur_px, **kw), radius=int(math.ceil(3 * self.max_blur_px))
            )
        keep = torch.ones((b, 1, h, w), dtype=torch.bool, device=dev)
        if self.max_stars > 0 and self.p_star > 0:
            keep &= ~ops.star_masks(
                (b, h, w), max_stars=self.max_stars, radius_px=self.star_radius_px, p_star=self.p_star, **kw
            )
        if self.p_aperture > 0:
            keep &= ~self._aperture(b, h, w, generator, dev)
        t = t * keep.to(t.dtype)
        x = ops.from_weighted(t)
        if self.p_noise > 0:
            x = self._noise(x, generator)
        return x

    def _aperture(
        self, b: int, h: int, w: int, generator: torch.Generator | None, dev: torch.device
    ) -> torch.Tensor:
        """Outside a random circular aperture (B, 1, H, W): the edge of the field of view is not a
        fingerprint of the galaxy (every view gets its own), so the encoder cannot match views by it."""
        kw = {"generator": generator, "device": dev}
        r = ops.uniform(b, *self.aperture_range, **kw) * (min(h, w) / 2)
        r = torch.where(torch.rand(b, **kw) < self.p_aperture, r, torch.full_like(r, float("inf")))
        yy = torch.arange(h, device=dev, dtype=torch.float32)[:, None] - (h - 1) / 2
        xx = torch.arange(w, device=dev, dtype=torch.float32)[None, :] - (w - 1) / 2
        return (yy * yy + xx * xx)[None, None] > (r * r)[:, None, None, None]

    def _noise(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Log-normal multiplicative noise: ``x·exp(ε/SN)`` (median factor 1, so the level of a
        map is not biased), i.e. ``+ log10(e)·ε/SN`` dex in logarithmic channels."""
        b = x.shape[0]
        kw = {"generator": generator, "device": x.device}
        sn = ops.uniform(b, *self.sn_range, **kw) * self.binning  # S/N of a k×k bin of spaxels
        on = (torch.rand(b, **kw) < self.p_noise).to(x.dtype)
        rel = (
            torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            * (on / sn)[:, None, None, None]
        )
        logc = self.log_channels[None, :, None, None]
        return torch.where(logc, x + LOG10_E * rel, x * torch.exp(rel))

    def extra_repr(self) -> str:
        return (
            f"max_shift={self.max_shift}, p_block={self.p_block}, max_blur_px={self.max_blur_px}, "
            f"sn_range={self.sn_range}, p_noise={self.p_noise}, max_stars={self.max_stars}"
        )


__all__ = ["MapAugment", "is_log_channel"]
