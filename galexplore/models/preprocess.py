"""Input normalisation, fitted once on the training survey and stored with the encoder.

The statistics are plain lists of floats (``stats()``), so the checkpoint stays loadable with
``torch.load(weights_only=True)``; the modules rebuild from them with ``from_stats``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn


def _asinh(x: np.ndarray, softening: np.ndarray | None, axis_shape: tuple[int, ...]) -> np.ndarray:
    if softening is None:
        return x
    return np.arcsinh(x / softening.reshape(axis_shape))


def border_noise(x: np.ndarray, width: int = 4) -> np.ndarray:
    """Robust per-channel pixel noise σ of images (N, C, H, W), from their borders (mostly sky).

    1.4826 × the median absolute deviation of the top and bottom ``width`` rows; NaN ignored.
    Returns (C,) in the images' units.
    """
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape[:2]
    border = np.concatenate([x[:, :, :width].reshape(n, c, -1), x[:, :, -width:].reshape(n, c, -1)], axis=2)
    border = border.transpose(1, 0, 2).reshape(c, -1)
    return 1.4826 * np.nanmedian(np.abs(border - np.nanmedian(border, axis=1, keepdims=True)), axis=1)


class Standardize(nn.Module):
    """Per-channel standardisation of (B, C, H, W) maps or images; NaN stays NaN.

    ``y = (f(x) − mean_c) / std_c`` with ``f(x) = asinh(x / softening_c)`` for linear
    fluxes (images: compresses the dynamic range, linear near the noise level) or the
    identity (maps, already logarithmic).
    """

    def __init__(
        self, mean: Sequence[float], std: Sequence[float], softening: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(list(mean), dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(list(std), dtype=torch.float32))
        self.register_buffer(
            "softening",
            torch.as_tensor(list(softening), dtype=torch.float32) if softening is not None else None,
        )

    @classmethod
    def fit(cls, x: np.ndarray, *, asinh: bool = False) -> Standardize:
        """Fit on a sample (N, C, H, W) of raw values (NaN ignored).

        With ``asinh``, the softening of each channel is 3× its robust pixel noise, estimated
        from the median absolute deviation of the image border (mostly sky).
        """
        x = np.asarray(x, dtype=np.float64)
        c = x.shape[1]
        soft = np.maximum(3 * border_noise(x), 1e-6) if asinh else None
        y = _asinh(x, soft, (1, c, 1, 1))
        mean = np.nanmean(y, axis=(0, 2, 3))
        std = np.nanstd(y, axis=(0, 2, 3))
        std = np.where(np.isfinite(std) & (std > 1e-6), std, 1.0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        return cls(mean.tolist(), std.tolist(), None if soft is None else soft.tolist())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.softening is not None:
            x = torch.asinh(x / self.softening[None, :, None, None])
        return (x - self.mean[None, :, None, None]) / self.std[None, :, None, None]

    def stats(self) -> dict[str, Any]:
        return {
            "kind": "standardize",
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "softening": None if self.softening is None else self.softening.tolist(),
        }

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> Standardize:
        return cls(stats["mean"], stats["std"], stats.get("softening"))


class SpectrumNorm(nn.Module):
    """(B, L) flux → (B, 2, L): the shape and the scale of each spectrum.

    Channel 0 is ``(x / median|x| − mean_shape) / shape_std`` (the spectral shape, lines and
    breaks, independent of distance); channel 1 repeats the standardised log10 median flux
    (the brightness) along the wavelength axis.
    """

    def __init__(
        self, mean_shape: Sequence[float], shape_std: float, log_scale_mean: float, log_scale_std: float
    ) -> None:
        super().__init__()
        self.register_buffer("mean_shape", torch.as_tensor(list(mean_shape), dtype=torch.float32))
        self.register_buffer("shape_std", torch.tensor(float(shape_std)))
        self.register_buffer("log_scale", torch.tensor([float(log_scale_mean), float(log_scale_std)]))

    @staticmethod
    def _split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.nan_to_num(x, nan=0.0)
        med = x.abs().median(dim=-1, keepdim=True).values.clamp_min(1e-12)
        return x / med, torch.log10(med)

    @classmethod
    def fit(cls, x: np.ndarray) -> SpectrumNorm:
        """Fit on a sample (N, L) of raw spectra."""
        shape, log_med = cls._split(torch.as_tensor(np.asarray(x, dtype=np.float32)))
        mean_shape = shape.mean(dim=0)
        sd = float((shape - mean_shape).std()) or 1.0
        return cls(mean_shape.tolist(), sd, float(log_med.mean()), float(log_med.std()) or 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape, log_med = self._split(x)
        a = (shape - self.mean_shape) / self.shape_std
        b = ((log_med - self.log_scale[0]) / self.log_scale[1]).expand_as(a)
        return torch.stack([a, b], dim=1)

    def stats(self) -> dict[str, Any]:
        return {
            "kind": "spectrum",
            "mean_shape": self.mean_shape.tolist(),
            "shape_std": float(self.shape_std),
            "log_scale_mean": float(self.log_scale[0]),
            "log_scale_std": float(self.log_scale[1]),
        }

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> SpectrumNorm:
        return cls(stats["mean_shape"], stats["shape_std"], stats["log_scale_mean"], stats["log_scale_std"])


def pool_nan(x: np.ndarray, k: int) -> np.ndarray:
    """Average k×k pixel blocks of (N, C, H, W), ignoring NaN; NaN where < half the block has data.

    H and W must be multiples of ``k``; ``k = 1`` returns ``x`` unchanged. Used to feed the
    encoders oversampled 64×64 maps and images at 32×32 (the PSF spans ~3 pixels).
    """
    if k == 1:
        return x
    n, c, h, w = x.shape
    if h % k or w % k:
        raise ValueError(f"pooling by {k} needs H and W divisible by {k}, got {h}×{w}")
    blocks = x.reshape(n, c, h // k, k, w // k, k)
    ok = np.isfinite(blocks)
    cnt = ok.sum(axis=(3, 5))
    s = np.where(ok, blocks, 0).sum(axis=(3, 5), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (s / cnt).astype(np.float32)
    out[cnt * 2 < k * k] = np.nan
    return out


def from_stats(stats: Mapping[str, Any]) -> nn.Module:
    """Rebuild a normaliser from its ``stats()``."""
    kind = stats.get("kind")
    if kind == "standardize":
        return Standardize.from_stats(stats)
    if kind == "spectrum":
        return SpectrumNorm.from_stats(stats)
    raise ValueError(f"unknown normalisation kind {kind!r}")


__all__ = ["SpectrumNorm", "Standardize", "border_noise", "from_stats", "pool_nan"]
