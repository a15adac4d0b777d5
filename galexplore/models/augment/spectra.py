"""Light augmentations of integrated spectra for cross-modal training."""

from __future__ import annotations

import torch
from torch import nn

from galexplore.models.augment import ops


class SpectrumAugment(nn.Module):
    """Random views of (B, L) spectra: a grey flux-calibration error and extra noise.

    The flux is multiplied by 10^(0.4·δ) with δ ~ U(−``max_calib_mag``, +``max_calib_mag``)
    and gets Gaussian noise of σ = U(0, ``max_noise``) × the spectrum's median |flux|.
    """

    def __init__(self, *, max_calib_mag: float = 0.1, max_noise: float = 0.05) -> None:
        super().__init__()
        self.max_calib_mag, self.max_noise = max_calib_mag, max_noise

    @torch.no_grad()
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b = x.shape[0]
        kw = {"generator": generator, "device": x.device}
        scale = torch.pow(10.0, 0.4 * ops.uniform(b, -self.max_calib_mag, self.max_calib_mag, **kw))
        shape = (b,) + (1,) * (x.ndim - 1)
        x = x * scale.reshape(shape)
        if self.max_noise > 0:
            med = torch.nan_to_num(x.abs()).flatten(1).median(dim=1).values
            amp = ops.uniform(b, 0.0, self.max_noise, **kw) * med
            x = x + amp.reshape(shape) * torch.randn(
                x.shape, generator=generator, device=x.device, dtype=x.dtype
            )
        return x


__all__ = ["SpectrumAugment"]
