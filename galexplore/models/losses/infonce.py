"""The eCALIFA InfoNCE variant: the positive is left out of the denominator."""

from __future__ import annotations

import torch
from torch import nn

from galexplore.models.losses.ntxent import pair_similarities
from galexplore.models.losses.precision import float32_loss


class InfoNCELoss(nn.Module):
    """InfoNCE whose denominator holds only the negatives (decoupled contrastive loss).

    For view i with positive p and the 2B − 2 other views as negatives:

        ℓ_i = −s_ip/τ + log Σ_{k∉{i,p}} exp(s_ik/τ),     s = cosine similarity,

    averaged over the 2B views. Removing the positive from the denominator (Yeh et al. 2022,
    as used for eCALIFA maps) drops the term that weakens the gradient once the positive is
    already close; with τ = 0.5 and the 64-d encoder output used directly as the embedding.

    Parameters
    ----------
    temperature : float
        τ > 0; eCALIFA uses 0.5.
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    @float32_loss
    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """Loss of two views ``z1``, ``z2`` (B, D) of the same B galaxies, in the same order."""
        b = z1.shape[0]
        if b < 2:
            raise ValueError("InfoNCE needs at least 2 galaxies per batch (no negatives otherwise)")
        sim = pair_similarities(z1, z2, self.temperature)
        idx = torch.arange(2 * b, device=sim.device)
        pos_idx = (idx + b) % (2 * b)
        pos = sim[idx, pos_idx]
        neg = sim.clone()
        neg[idx, pos_idx] = float("-inf")
        return (torch.logsumexp(neg, dim=1) - pos).mean()

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
