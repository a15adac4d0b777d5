"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al. 2020)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from galexplore.models.losses.precision import float32_loss


def pair_similarities(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cosine similarities / τ of the 2B stacked views, (2B, 2B), with −inf on the diagonal."""
    z = F.normalize(torch.cat([z1, z2], dim=0).float(), dim=1)
    sim = z @ z.T / temperature
    return sim.fill_diagonal_(float("-inf"))


class NTXentLoss(nn.Module):
    """SimCLR's NT-Xent loss.

    For the 2B views of a batch (two per galaxy), view i's positive is the other view of the
    same galaxy and its negatives are the other 2B − 2 views:

        ℓ_i = −log  exp(s_ip/τ) / Σ_{k≠i} exp(s_ik/τ),     s = cosine similarity,

    averaged over all 2B views.

    Parameters
    ----------
    temperature : float
        τ > 0 (SimCLR: 0.1–0.5).
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
        sim = pair_similarities(z1, z2, self.temperature)
        target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(sim.device)
        return F.cross_entropy(sim, target)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
