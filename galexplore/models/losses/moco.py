"""MoCo v2's contrastive loss against a queue of past keys (He et al. 2020; Chen et al. 2020)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from galexplore.models.losses.precision import float32_loss


class MoCoLoss(nn.Module):
    """InfoNCE of queries against their keys (positives) and a FIFO queue (negatives).

        ℓ_i = −log  exp(q_i·k_i/τ) / (exp(q_i·k_i/τ) + Σ_j exp(q_i·n_j/τ)),

    with q, k, n L2-normalised. After each call in training mode the keys are enqueued,
    replacing the oldest ones. The momentum encoder that makes the keys lives in
    :class:`~galexplore.models.contrastive.MoCoModel`; this module only holds the queue.

    Parameters
    ----------
    dim : int
        Embedding size.
    queue_size : int
        Number of negatives kept (MoCo v2: 65 536; a 2,000-galaxy survey wants ≤ 1,024).
    temperature : float
        τ (MoCo v2: 0.2).
    """

    def __init__(self, dim: int, queue_size: int = 1024, temperature: float = 0.2) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, dim), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    @float32_loss
    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Loss of queries ``q`` (B, D) against keys ``k`` (B, D, no gradient needed)."""
        q = F.normalize(q.float(), dim=1)
        k = F.normalize(k.detach().float(), dim=1)
        pos = (q * k).sum(dim=1, keepdim=True)
        neg = q @ self.queue.clone().T  # the queue changes in place below
        logits = torch.cat([pos, neg], dim=1) / self.temperature
        loss = F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))
        if self.training:
            self.enqueue(k)
        return loss

    @torch.no_grad()
    def enqueue(self, k: torch.Tensor) -> None:
        """Put keys (B, D), already normalised, into the queue in place of the oldest."""
        n = self.queue.shape[0]
        k = k[-n:]
        idx = (self.ptr + torch.arange(len(k), device=k.device)) % n
        self.queue[idx] = k.to(self.queue.dtype)
        self.ptr.copy_((self.ptr + len(k)) % n)

    def extra_repr(self) -> str:
        return f"queue_size={self.queue.shape[0]}, temperature={self.temperature}"
