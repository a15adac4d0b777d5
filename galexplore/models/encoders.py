"""Convolutional encoders for IFU property maps and multi-band images.

Both modalities share one architecture, :class:`ConvEncoder`: a small ResNet (pre-activation
basic blocks with batch norm) with configurable width, depth and input channels, ending in
global pooling (the mean, or means over rings about the galaxy centre). Maps carry NaN where
there is no data; an encoder never sees a NaN: :func:`masked_input` fills them with zero and
appends a validity-mask channel, so the network can tell "no data" from "zero". An optional
radius channel (CoordConv) tells it how far each pixel is from the centre. The radius grid,
ring weights and azimuthal Fourier amplitudes it pools with live in
:mod:`galexplore.models.pooling` (and are importable from here).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from galexplore.models.pooling import (
    azimuthal_amplitudes,
    azimuthal_bases,
    azimuthal_residual,
    radius_grid,
    ring_weights,
)


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
#: Where :class:`ConvEncoder` takes its azimuthal amplitudes from.
FOURIER_SOURCES = ("features", "residual")


class BasicBlock(nn.Module):
    """Pre-activation residual block: (BN → ReLU → conv3×3) × 2, optional stride-2 downsampling."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.skip = (
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
            if stride != 1 or c_in != c_out
            else nn.Identity()
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
    stem_blocks : int
        Residual blocks at the stem's resolution and width before the first stride-2 stage
        (0: none, the maps encoder's default). A block at full resolution lets an image
        encoder see fine structure (spiral arms, dust lanes) before it downsamples.
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
    pool_channels : int or None
        Project the last feature map to this many channels (1×1 convolution) before pooling,
        which keeps the pooled features fewer: with k-NN on standardised features every
        dimension weighs the same, so this sets how much of the distance the ring means take
        beside the azimuthal amplitudes (None: all ``width · 2^depth`` channels).
    fourier_orders : tuple of int
        Azimuthal orders m (e.g. ``(1, 2, 3, 4)``) whose amplitudes per annulus
        (:func:`azimuthal_amplitudes`) are appended to the pooled features: rotation-invariant
        measures of lopsidedness (m = 1), bars and two-armed spirals (m = 2) and more arms,
        which ring means cannot see. Empty (default): none.
    fourier_stage : int or None
        Which feature map they are taken from with ``fourier_source="features"``: 0 the stem's
        output, s the output of stage s (None: the last stage). An earlier stage has a finer
        grid (a bar of 1 Rₑ spans about one pixel of the last 8×8 map of 64×64 maps).
    fourier_channels : int or None
        ``"features"``: project that feature map to this many channels (1×1 convolution)
        first, to keep the embedding small (None: all its channels). ``"residual"``: the
        width of the branch (None: 16).
    fourier_source : {"features", "residual"}
        ``"features"``: the amplitudes are taken from the network's own feature map (of
        ``fourier_stage``). ``"residual"``: from a separate two-layer convolutional branch
        (``fourier_channels`` wide, default 16) on the input with its azimuthal mean removed
        (:func:`azimuthal_residual`, ``fourier_residual_rings`` thin annuli): it sees no
        levels or radial profiles at all, only what is not axisymmetric (bars, arms,
        inclination), so the amplitudes cannot drift towards the levels the ring means carry.
    fourier_residual_rings : int
        Annuli whose means are removed for ``fourier_source="residual"`` (16: one pixel wide
        on a 32×32 input).
    fourier_rings, fourier_radius : int or None, float
        Annuli of the amplitudes (None: ``n_rings``) evenly spaced over r ∈ (0, ``fourier_radius``]
        half-widths (:func:`azimuthal_bases`).
    """

    def __init__(
        self,
        in_channels: int,
        *,
        width: int = 32,
        depth: int = 3,
        blocks: int = 1,
        stem_stride: int = 2,
        stem_blocks: int = 0,
        out_dim: int | None = None,
        mask_channel: bool = True,
        radius_channel: bool = False,
        pool: str = "mean",
        n_rings: int = 3,
        pool_channels: int | None = None,
        fourier_orders: tuple[int, ...] = (),
        fourier_stage: int | None = None,
        fourier_channels: int | None = None,
        fourier_rings: int | None = None,
        fourier_radius: float = 1.0,
        fourier_source: str = "features",
        fourier_residual_rings: int = 16,
    ) -> None:
        super().__init__()
        if in_channels < 1 or width < 1 or depth < 0 or blocks < 1 or stem_blocks < 0:
            raise ValueError("in_channels, width and blocks must be ≥ 1 and depth and stem_blocks ≥ 0")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if pool == "rings" and n_rings < 2:
            raise ValueError(f"pool='rings' needs n_rings ≥ 2, got {n_rings}")
        self.in_channels = in_channels
        self.mask_channel, self.radius_channel = mask_channel, radius_channel
        self.pool, self.n_rings, self.blocks = pool, int(n_rings), int(blocks)
        c0 = in_channels + int(mask_channel) + int(radius_channel)
        self.stem = nn.Conv2d(c0, width, 3, stride=stem_stride, padding=1, bias=False)
        self.stem_blocks = nn.Sequential(*(BasicBlock(width, width) for _ in range(stem_blocks)))
        layers: list[nn.Module] = []
        c = width
        for _ in range(depth):
            c_next = min(2 * c, 8 * width)
            layers.append(BasicBlock(c, c_next, stride=2))
            layers.extend(BasicBlock(c_next, c_next) for _ in range(blocks - 1))
            c = c_next
        self.stages = nn.Sequential(*layers)
        self.norm = nn.BatchNorm2d(c)
        if pool_channels is not None and pool_channels < 1:
            raise ValueError(f"pool_channels must be ≥ 1, got {pool_channels}")
        self.pool_proj = nn.Conv2d(c, int(pool_channels), 1, bias=False) if pool_channels else None
        self.feature_dim = (int(pool_channels) if pool_channels else c) * (
            self.n_rings if pool == "rings" else 1
        )
        if fourier_source not in FOURIER_SOURCES:
            raise ValueError(f"fourier_source must be one of {FOURIER_SOURCES}, got {fourier_source!r}")
        self.fourier_source, self.fourier_residual_rings = fourier_source, int(fourier_residual_rings)
        self._init_fourier(
            tuple(int(m) for m in fourier_orders),
            fourier_stage,
            fourier_channels,
            fourier_rings,
            fourier_radius,
        )
        self.fc = nn.Linear(self.feature_dim, out_dim) if out_dim else None
        self.out_dim = out_dim or self.feature_dim

    def _init_fourier(
        self,
        orders: tuple[int, ...],
        stage: int | None,
        channels: int | None,
        rings: int | None,
        radius: float,
    ) -> None:
        """Set up the azimuthal-amplitude pooling (see the class docstring); adds to ``feature_dim``."""
        depth = len(self.stages) // self.blocks
        self.fourier_orders, self.fourier_rings, self.fourier_radius = (
            orders,
            int(rings or self.n_rings),
            float(radius),
        )
        self.fourier_stage = depth if stage is None else int(stage)
        if not orders:
            return
        if (
            any(m < 1 for m in orders)
            or not 0 <= self.fourier_stage <= depth
            or self.fourier_rings < 1
            or radius <= 0
        ):
            raise ValueError(
                "fourier_orders must be ≥ 1, fourier_stage in [0, depth], fourier_rings ≥ 1, fourier_radius > 0"
            )
        if self.fourier_source == "residual":
            if self.fourier_residual_rings < 1 or not self.mask_channel:
                raise ValueError(
                    "fourier_source='residual' needs fourier_residual_rings ≥ 1 and the mask channel"
                )
            c = int(channels or 16)
            self.fourier_branch = nn.Sequential(
                nn.Conv2d(self.in_channels + 1, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(),
                nn.Conv2d(c, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(),
            )
            self.fourier_norm, self.fourier_proj = None, None
            self.feature_dim += c * self.fourier_rings * len(orders)
            return
        c = (
            self.norm.num_features
            if self.fourier_stage == depth
            else self._stage_channels(self.fourier_stage)
        )
        self.fourier_norm = nn.BatchNorm2d(c) if self.fourier_stage < depth else None
        self.fourier_proj = nn.Conv2d(c, channels, 1, bias=False) if channels else None
        self.feature_dim += (channels or c) * self.fourier_rings * len(orders)

    def _stage_channels(self, stage: int) -> int:
        if stage == 0:
            return self.stem.out_channels
        return self.stages[stage * self.blocks - 1].conv2.out_channels

    def fourier_feature_indices(self, n_rings: int | None = None) -> list[int]:
        """Positions of the azimuthal amplitudes in the pooled features (no ``out_dim`` layer).

        Parameters
        ----------
        n_rings : int, optional
            Only the amplitudes of the innermost ``n_rings`` annuli (default: all).

        Returns
        -------
        list of int
            Indices into the (B, ``feature_dim``) output, whose amplitudes are laid out as
            (channel, annulus, order) after the ring means.
        """
        if not self.fourier_orders or self.fc is not None:
            raise ValueError(
                "the encoder has no azimuthal amplitudes in its output (no fourier_orders, or an out_dim layer)"
            )
        n_orders, k_all = len(self.fourier_orders), self.fourier_rings
        k_use = k_all if n_rings is None else min(int(n_rings), k_all)
        n_amp = (self.feature_dim - self._ring_dim) // (k_all * n_orders)
        return [
            self._ring_dim + (c * k_all + k) * n_orders + m
            for c in range(n_amp)
            for k in range(k_use)
            for m in range(n_orders)
        ]

    @property
    def _ring_dim(self) -> int:
        c = self.pool_proj.out_channels if self.pool_proj is not None else self.norm.num_features
        return c * (self.n_rings if self.pool == "rings" else 1)

    def _fourier(self, h: torch.Tensor) -> torch.Tensor:
        """(B, C', K·M) azimuthal amplitudes of an (already normalised) feature map."""
        if self.fourier_proj is not None:
            h = self.fourier_proj(h)
        bases = azimuthal_bases(
            *h.shape[-2:],
            self.fourier_orders,
            self.fourier_rings,
            self.fourier_radius,
            device=h.device,
            dtype=h.dtype,
        )
        return azimuthal_amplitudes(h, bases).flatten(1)

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
        if self.pool_proj is not None:
            h = self.pool_proj(h)
        if self.pool == "mean":
            return h.mean(dim=(2, 3))
        r = radius_grid(*h.shape[-2:], device=h.device, dtype=h.dtype)
        return torch.einsum("bchw,khw->bck", h, ring_weights(r, self.n_rings)).flatten(1)  # (B, C·n_rings)

    def _residual_branch(self, inputs: torch.Tensor) -> torch.Tensor:
        """The ``fourier_source="residual"`` branch on the masked input stack (values…, mask[, radius])."""
        c = self.in_channels
        values, valid = inputs[:, :c], inputs[:, c : c + 1]
        res = azimuthal_residual(values, valid, self.fourier_residual_rings)
        return self.fourier_branch(torch.cat([res, valid], dim=1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encode ``x`` (B, C, H, W); NaN allowed when ``mask_channel`` is on."""
        inputs = self._inputs(x, mask)
        h = self.stem_blocks(self.stem(inputs))
        if self.fourier_orders and self.fourier_source == "residual":
            h = self._pool(F.relu(self.norm(self.stages(h))))
            h = torch.cat([h, self._fourier(self._residual_branch(inputs))], dim=1)
            return self.fc(h) if self.fc is not None else h
        if not self.fourier_orders:
            h = self._pool(F.relu(self.norm(self.stages(h))))
            return self.fc(h) if self.fc is not None else h
        tap = self.fourier_stage * self.blocks
        early = None
        for i, layer in enumerate([nn.Identity(), *self.stages]):
            h = layer(h)
            if i == tap and self.fourier_norm is not None:
                early = F.relu(self.fourier_norm(h))
        h = F.relu(self.norm(h))
        h = torch.cat([self._pool(h), self._fourier(h if early is None else early)], dim=1)
        return self.fc(h) if self.fc is not None else h


__all__ = [
    "FOURIER_SOURCES",
    "POOLS",
    "BasicBlock",
    "azimuthal_residual",
    "ConvEncoder",
    "azimuthal_amplitudes",
    "azimuthal_bases",
    "masked_input",
    "radius_grid",
    "ring_weights",
]
