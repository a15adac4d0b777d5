"""Convolutional encoders for IFU property maps and multi-band images.

Both modalities share one architecture, :class:`ConvEncoder`: a small ResNet (pre-activation
basic blocks with batch norm) with configurable width, depth and input channels, ending in
global pooling (the mean, or means over rings about the galaxy centre). Maps carry NaN where
there is no data; an encoder never sees a NaN: :func:`masked_input` fills them with zero and
appends a validity-mask channel, so the network can tell "no data" from "zero". An optional
radius channel (CoordConv) tells it how far each pixel is from the centre.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def radius_grid(h: int, w: int, *, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Distance of every pixel centre from the centre of an H×W grid, (H, W), in half-widths.

    1 is the middle of an edge of a square grid (for maps over ±2.5 Rₑ, r = 1 is 2.5 Rₑ).
    """
    yy = torch.arange(h, device=device, dtype=dtype)[:, None] - (h - 1) / 2
    xx = torch.arange(w, device=device, dtype=dtype)[None, :] - (w - 1) / 2
    return torch.sqrt(yy * yy + xx * xx) / (min(h, w) / 2)


def ring_weights(r: torch.Tensor, n_rings: int) -> torch.Tensor:
    """Soft annuli over a radius grid (H, W) → (n_rings, H, W), each summing to 1.

    Triangular weights about ``n_rings`` centres evenly spaced over r ∈ [0, 1] (the corners
    beyond r = 1 belong to the outer ring), so ring means vary smoothly with the radius.
    """
    centres = torch.linspace(0.0, 1.0, n_rings, device=r.device, dtype=r.dtype)
    step = 1.0 / max(n_rings - 1, 1)
    w = (1 - (r.clamp(max=1.0)[None] - centres[:, None, None]).abs() / step).clamp_min(0)
    return w / w.sum(dim=(1, 2), keepdim=True).clamp_min(1e-6)


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


#: Global pooling choices of :class:`ConvEncoder`.
POOLS = ("mean", "rings")


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
    radius_channel : bool
        Append the distance from the centre of the grid (:func:`radius_grid`) as an input
        channel (CoordConv). Maps and images are centred on the galaxy and scaled to its
        Rₑ, so this rotation-invariant channel lets the network relate values to radius
        (gradients, quenching radii) before pooling.
    pool : {"mean", "rings"}
        Global pooling of the last feature map: the mean over the grid, or the means over
        ``n_rings`` soft annuli about the centre (:func:`ring_weights`), which keeps where the
        features lie radially (gradients, bulge, quenching radius) while staying
        rotation-invariant, and multiplies the pooled features by ``n_rings``.
    n_rings : int
        Number of annuli for ``pool="rings"`` (≥ 2).
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
        radius_channel: bool = False,
        pool: str = "mean",
        n_rings: int = 3,
    ) -> None:
        super().__init__()
        if in_channels < 1 or width < 1 or depth < 0 or blocks < 1:
            raise ValueError("in_channels, width and blocks must be ≥ 1 and depth ≥ 0")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if pool == "rings" and n_rings < 2:
            raise ValueError(f"pool='rings' needs n_rings ≥ 2, got {n_rings}")
        self.in_channels = in_channels
        self.mask_channel, self.radius_channel = mask_channel, radius_channel
        self.pool, self.n_rings = pool, int(n_rings)
        c0 = in_channels + int(mask_channel) + int(radius_channel)
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
        self.feature_dim = c * (self.n_rings if pool == "rings" else 1)
        self.fc = nn.Linear(self.feature_dim, out_dim) if out_dim else None
        self.out_dim = out_dim or self.feature_dim

    def _inputs(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The network's input stack: values, then the mask and radius channels as configured."""
        if self.mask_channel:
            x = masked_input(x, mask)
        return torch.cat([x, self._radius(x)], dim=1) if self.radius_channel else x

    @staticmethod
    def _radius(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return radius_grid(h, w, device=x.device, dtype=x.dtype).expand(x.shape[0], 1, h, w)

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        if self.pool == "mean":
            return h.mean(dim=(2, 3))
        r = radius_grid(*h.shape[-2:], device=h.device, dtype=h.dtype)
        return torch.einsum("bchw,khw->bck", h, ring_weights(r, self.n_rings)).flatten(1)  # (B, C·n_rings)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encode ``x`` (B, C, H, W); NaN allowed when ``mask_channel`` is on."""
        h = self.stages(self.stem(self._inputs(x, mask)))
        h = self._pool(F.relu(self.norm(h)))
        return self.fc(h) if self.fc is not None else h


__all__ = ["POOLS", "BasicBlock", "ConvEncoder", "masked_input", "radius_grid", "ring_weights"]
