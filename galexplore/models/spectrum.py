"""A 1-D convolutional encoder for integrated spectra."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SpectrumEncoder(nn.Module):
    """Strided 1-D CNN for (B, C, L) spectra → (B, out_dim) features.

    Parameters
    ----------
    in_channels : int
        Input channels per wavelength bin (1 for flux; the training code adds a second
        channel holding the standardised log flux scale of each spectrum).
    width : int
        Channels of the first convolution; doubled at each stage (capped at 8×).
    depth : int
        Number of stride-2 stages; each halves the wavelength axis.
    kernel : int
        Convolution kernel size in bins (odd).
    out_dim : int or None
        Size of a final linear layer; ``None`` returns the pooled features.

    Notes
    -----
    Non-finite flux (masked bins) is replaced by zero before the first layer.
    """

    def __init__(
        self,
        in_channels: int = 1,
        *,
        width: int = 32,
        depth: int = 5,
        kernel: int = 7,
        out_dim: int | None = None,
    ) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd, got {kernel}")
        self.in_channels = in_channels
        self.stem = nn.Conv1d(in_channels, width, kernel, padding=kernel // 2, bias=False)
        layers: list[nn.Module] = []
        c = width
        for _ in range(depth):
            c_next = min(2 * c, 8 * width)
            layers += [
                nn.BatchNorm1d(c),
                nn.ReLU(inplace=True),
                nn.Conv1d(c, c_next, kernel, stride=2, padding=kernel // 2, bias=False),
            ]
            c = c_next
        self.stages = nn.Sequential(*layers)
        self.norm = nn.BatchNorm1d(c)
        self.feature_dim = c
        self.fc = nn.Linear(2 * c, out_dim) if out_dim else None
        self.out_dim = out_dim or 2 * c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``x`` (B, C, L) or (B, L)."""
        if x.ndim == 2:
            x = x[:, None]
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        h = F.relu(self.norm(self.stages(self.stem(x))))
        # Mean and max pooling: lines are narrow, the continuum is broad.
        h = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        return self.fc(h) if self.fc is not None else h


__all__ = ["SpectrumEncoder"]
