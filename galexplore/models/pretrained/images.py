"""Survey images → the colour images that image encoders trained on JPEG cutouts expect.

A survey's ``images`` are either display values already (an image folder of PNG/JPEG read by
``ingest images``: red, green, blue in 0–1) or linear fluxes per band (FITS cutouts, the
synthetic survey: nanomaggies). Fluxes become an RGB composite with the same Lupton et al.
(2004) asinh stretch the dashboard's cutouts use, so the encoder sees what a person sees.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from galexplore.data.readers.image_folder import DISPLAY_UNIT
from galexplore.data.store import ModalitySpec


def is_display(spec: ModalitySpec) -> bool:
    """Whether the images are display values in 0–1 (not linear fluxes)."""
    return bool(spec.units) and spec.units[0] == DISPLAY_UNIT


def display_rgb(batch: np.ndarray, spec: ModalitySpec) -> np.ndarray:
    """Images (B, C, H, W) as RGB display values (B, 3, H, W) float32 in 0–1.

    Display images pass through (one grey band is repeated); flux images become Lupton
    composites of their bands (i, r, g → R, G, B where present).
    """
    if is_display(spec):
        out = np.nan_to_num(np.asarray(batch, dtype=np.float32), nan=0.0)
        return np.repeat(out, 3, axis=1) if out.shape[1] == 1 else out[:, :3]
    from galexplore.dashboard.compute.cutouts import lupton_rgb  # pure numpy/astropy (no Panel)

    rgb = np.stack([lupton_rgb(cube, spec.channels) for cube in batch])  # (B, H, W, 3) uint8
    return np.ascontiguousarray(rgb.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)


def resize(x: torch.Tensor, size: int, *, mode: str = "bilinear") -> torch.Tensor:
    """(B, C, H, W) → (B, C, size, size) with antialiasing (torchvision's tensor ``Resize``)."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(
        x, size=(size, size), mode=mode, align_corners=False, antialias=mode in ("bilinear", "bicubic")
    )


def resize_crop(x: torch.Tensor, size: int, crop_pct: float, *, mode: str = "bilinear") -> torch.Tensor:
    """timm's evaluation transform: resize to ``size / crop_pct``, then the central ``size``."""
    scaled = int(np.floor(size / crop_pct))
    x = resize(x, scaled, mode=mode)
    top = (scaled - size) // 2
    return x[..., top : top + size, top : top + size]


__all__ = ["display_rgb", "is_display", "resize", "resize_crop"]
