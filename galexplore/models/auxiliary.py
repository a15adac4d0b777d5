"""Auxiliary losses added to the contrastive loss while training.

:class:`ProfileReconstruction`: the features must predict the radial profile (ring means of
every channel) of their own input view. Contrastive training on its own is free to let the
plain levels of the maps (how dense, how old) take a small share of the features while it
learns what tells galaxies apart in detail; an untrained pooled CNN already ranks those
levels well. Predicting the view's own profile, a self-supervised target like the HOG
features MaskFeat predicts, keeps them in the embedding.

:class:`SubsetContrast`: the main loss of a :class:`~galexplore.models.contrastive.ContrastiveModel` sees all pooled
features through one head, so it can match two views by whichever features are easiest
(the radial profile, mostly). An auxiliary loss that must match the views from a *subset*
alone (e.g. the azimuthal Fourier amplitudes of the maps encoder) forces that subset to
carry the galaxy's own stable signal of its kind (for the amplitudes: a bar or spiral arms).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from galexplore.models.encoders import radius_grid, ring_weights


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


class ProfileReconstruction(nn.Module):
    """Predict the radial profile of each input view from its features: a weighted masked MSE.

    The target is the mean of every channel of the normalised view over ``n_rings`` soft
    annuli about the centre (:func:`~galexplore.models.encoders.ring_weights`, the rings the
    maps encoder pools over), counting only pixels where every channel is finite; annuli less
    than ``min_coverage`` covered are left out of the loss. The target is computed from the
    input without gradient.

    Parameters
    ----------
    head : nn.Module
        Maps the (B, D) features to the (B, C·n_rings) predicted profile, channel-major
        (a linear layer by default, so the profile is linear in the embedding).
    n_rings : int
        Annuli of the profile (≥ 2).
    weight : float
        Factor of this loss in the total (> 0).
    min_coverage : float
        Smallest valid fraction of an annulus's weight for it to count.
    """

    def __init__(
        self, head: nn.Module, n_rings: int = 5, weight: float = 1.0, min_coverage: float = 0.05
    ) -> None:
        super().__init__()
        if n_rings < 2 or weight <= 0:
            raise ValueError(
                f"ProfileReconstruction needs n_rings ≥ 2 and a weight > 0, got {n_rings} and {weight}"
            )
        self.head, self.n_rings, self.weight, self.min_coverage = (
            head,
            int(n_rings),
            float(weight),
            float(min_coverage),
        )

    def targets(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The ring-mean profile of ``x`` and where it is valid.

        Parameters
        ----------
        x : Tensor, shape (B, C, H, W)
            Normalised input; NaN where there is no data.

        Returns
        -------
        profile, valid : Tensor, shape (B, C·n_rings)
            Channel-major ring means (0 where an annulus has no valid pixel) and 1/0 validity.
        """
        ok = torch.isfinite(x).all(dim=1).to(x.dtype)  # (B, H, W)
        v = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) * ok[:, None]
        w = ring_weights(
            radius_grid(*x.shape[-2:], device=x.device, dtype=x.dtype), self.n_rings
        )  # (K, H, W)
        cover = torch.einsum("bhw,khw->bk", ok, w)  # (B, K): valid share of each annulus's weight
        profile = torch.einsum("bchw,khw->bck", v, w) / cover.clamp_min(1e-6)[:, None, :]
        valid = (cover >= self.min_coverage)[:, None, :].expand_as(profile)  # each annulus's weights sum to 1
        return profile.flatten(1), valid.flatten(1).to(x.dtype)

    def forward(self, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The weighted loss of the features (B, D) of the normalised views ``x`` (B, C, H, W)."""
        with torch.no_grad():
            target, valid = self.targets(x)
        err = (self.head(features) - target) ** 2 * valid
        return self.weight * err.sum() / valid.sum().clamp_min(1.0)

    def extra_repr(self) -> str:
        return f"n_rings={self.n_rings}, weight={self.weight}"


__all__ = ["ProfileReconstruction", "SubsetContrast"]
