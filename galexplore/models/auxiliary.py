"""Auxiliary contrastive losses on a subset of the encoder features.

The main loss of a :class:`~galexplore.models.contrastive.ContrastiveModel` sees all pooled
features through one head, so it can match two views by whichever features are easiest
(the radial profile, mostly). An auxiliary loss that must match the views from a *subset*
alone (e.g. the azimuthal Fourier amplitudes of the maps encoder) forces that subset to
carry the galaxy's own stable signal of its kind (for the amplitudes: a bar or spiral arms).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class SubsetContrast(nn.Module):
    """A weighted contrastive loss on selected feature dimensions, through its own head.

    ``weight · loss(head(f1[:, dims]), head(f2[:, dims]))`` for the features ``f1``, ``f2``
    (B, D) of two views of the same B galaxies.

    Parameters
    ----------
    head : nn.Module
        Maps the (B, len(dims)) selected features to the space the loss compares.
    loss : nn.Module
        Called as ``loss(z1, z2)`` (e.g. :class:`~galexplore.models.losses.InfoNCELoss`).
    dims : sequence of int
        Indices of the feature dimensions the loss sees.
    weight : float
        Factor of this loss in the total (> 0).
    """

    def __init__(self, head: nn.Module, loss: nn.Module, dims: Sequence[int], weight: float = 1.0) -> None:
        super().__init__()
        if len(dims) == 0 or weight <= 0:
            raise ValueError("SubsetContrast needs at least one feature dimension and a weight > 0")
        self.head, self.loss, self.weight = head, loss, float(weight)
        self.register_buffer("dims", torch.as_tensor(list(dims), dtype=torch.long), persistent=False)

    def forward(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        """The weighted loss of the features (B, D) of two views of the same galaxies."""
        z = self.head(torch.cat([f1, f2], dim=0).index_select(1, self.dims))
        z1, z2 = z.chunk(2, dim=0)
        return self.weight * self.loss(z1, z2)

    def extra_repr(self) -> str:
        return f"n_dims={len(self.dims)}, weight={self.weight}"


__all__ = ["SubsetContrast"]
