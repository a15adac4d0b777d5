"""Projection heads: the MLP between encoder features and the contrastive loss."""

from __future__ import annotations

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """An MLP ``in_dim → hidden → … → out_dim`` (SimCLR / MoCo v2 style).

    Parameters
    ----------
    in_dim, out_dim : int
        Feature and projection sizes.
    hidden : int, optional
        Hidden width (default: ``in_dim``).
    n_layers : int
        Linear layers (≥ 1); every one but the last is followed by batch norm and ReLU.
    """

    def __init__(self, in_dim: int, out_dim: int, *, hidden: int | None = None, n_layers: int = 2) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be ≥ 1, got {n_layers}")
        hidden = hidden or in_dim
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(n_layers - 1):
            layers += [nn.Linear(d, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
            d = hidden
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class IdentityHead(nn.Identity):
    """No projection: the loss sees the encoder output (eCALIFA uses its 64-d output directly)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.in_dim = self.out_dim = dim


__all__ = ["IdentityHead", "ProjectionHead"]
