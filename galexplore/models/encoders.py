"""Convolutional encoders for IFU property maps and multi-band images.

Both modalities share one architecture, :class:`ConvEncoder`: a small ResNet (pre-activation
basic blocks with batch norm) with configurable width, depth and input channels, ending in
global average pooling. Maps carry NaN where there is no data; an encoder never sees a NaN:
:func:`masked_input` fills them with zero and appends a validity-mask channel, so the network
can tell "no data" from "zero".
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def masked_input(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Fill non-finite pixels with 0 and append the validity mask as the last channel.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W), float
        Normalised values; NaN (or ±inf) where there is no data.
    mask : Tensor, shape (B, 1, H, W), optional
        Validity in [0, 1]; default: pixels where every channel is finite.

    Returns
    -------
    Tensor, shape (B, C + 1, H, W)
    """
    if mask is None:
        mask = torch.isfinite(x).all(dim=1, keepdim=True).to(x.dtype)
    x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) * mask
    return torch.cat([x, mask], dim=1)


class BasicBlock(nn.Module):
    """Pre-activation residual block: (BN → ReLU → conv3×3) × 2, optional stride-2 downsampling."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.skip = (
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False) if stride != 1 or c_in != c_out else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(x))
        skip = self.skip(h) if not isinstance(self.skip, nn.Identity) else x
        h = self.conv1(h)
        h = self.conv2(F.relu(self.bn2(h)))
        return h + skip


class ConvEncoder(nn.Module):
    """A small ResNet for (B, C, H, W) maps or images → (B, out_dim) features.

    Parameters
    ----------
    in_channels : int
        Data channels (map quantities or image bands), *without* the mask channel.
    width : int
        Channels after the stem; each of the ``depth`` stages doubles it (capped at 8×).
    depth : int
        Number of stride-2 residual stages after the stem.
    blocks : int
        Residual blocks per stage (the first one downsamples).
    stem_stride : int
        Stride of the stem convolution; 2 halves the input first (64×64 IFU maps are
        oversampled by a ~3-pixel PSF, so little is lost and training is 4× cheaper).
    out_dim : int or None
        Size of a final linear layer; ``None`` returns the pooled features
        (``width · 2^depth`` capped at ``8 · width``).
    mask_channel : bool
        Append a validity-mask channel (see :func:`masked_input`). Inputs may then contain NaN.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        width: int = 32,
        depth: int = 3,
        blocks: int = 1,
        stem_stride: int = 2,
        out_dim: int | None = None,
        mask_channel: bool = True,
    ) -> None:
        super().__init__()
        if in_channels < 1 or width < 1 or depth < 0 or blocks < 1:
            raise ValueError("in_channels, width and blocks must be ≥ 1 and depth ≥ 0")
        self.in_channels = in_channels
        self.mask_channel = mask_channel
        c0 = in_channels + int(mask_channel)
        self.stem = nn.Conv2d(c0, width, 3, stride=stem_stride, padding=1, bias=False)
        layers: list[nn.Module] = []
        c = width
        for _ in range(depth):
            c_next = min(2 * c, 8 * width)
            layers.append(BasicBlock(c, c_next, stride=2))
            layers.extend(BasicBlock(c_next, c_next) for _ in range(blocks - 1))
            c = c_next
        self.stages = nn.Sequential(*layers)
        self.norm = nn.BatchNorm2d(c)
        self.feature_dim = c
        self.fc = nn.Linear(c, out_dim) if out_dim else None
        self.out_dim = out_dim or c

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encode ``x`` (B, C, H, W); NaN allowed when ``mask_channel`` is on."""
        if self.mask_channel:
            x = masked_input(x, mask)
        h = self.stages(self.stem(x))
        h = F.relu(self.norm(h)).mean(dim=(2, 3))
        return self.fc(h) if self.fc is not None else h


__all__ = ["BasicBlock", "ConvEncoder", "masked_input"]
