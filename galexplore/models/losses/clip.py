"""The symmetric CLIP loss that aligns two modalities (Radford et al. 2021; AstroCLIP)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from galexplore.models.losses.precision import float32_loss


class CLIPLoss(nn.Module):
    """Symmetric cross-entropy over the cosine-similarity matrix of paired embeddings.

        L = ½ [CE(s·A, I) + CE(s·Aᵀ, I)],   A_ij = cos(a_i, b_j),

    where s is the logit scale (1/τ) and the pairs (a_i, b_i) are the positives.

    Parameters
    ----------
    logit_scale : float
        Initial (or fixed) s; AstroCLIP fixes it at 15.5.
    learnable : bool
        Learn log s (clamped to s ≤ 100, as in CLIP).
    """

    def __init__(self, logit_scale: float = 15.5, *, learnable: bool = False) -> None:
        super().__init__()
        if logit_scale <= 0:
            raise ValueError(f"logit_scale must be > 0, got {logit_scale}")
        log_s = torch.tensor(math.log(logit_scale))
        if learnable:
            self.log_scale = nn.Parameter(log_s)
        else:
            self.register_buffer("log_scale", log_s)
        self.learnable = learnable

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    @float32_loss
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Loss of paired embeddings ``a`` (B, D) and ``b`` (B, D) of two modalities."""
        a = F.normalize(a.float(), dim=1)
        b = F.normalize(b.float(), dim=1)
        logits = self.scale * (a @ b.T)
        target = torch.arange(len(a), device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))

    def extra_repr(self) -> str:
        return f"logit_scale={float(self.scale):.3g}, learnable={self.learnable}"
