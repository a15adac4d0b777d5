"""Data-parallel training over several processes (``torchrun``, DistributedDataParallel).

One process per GPU (NCCL) or per CPU worker (gloo). Every rank draws the same global batch
order; rank r trains on its contiguous slice of each global batch. Contrastive losses need
the whole batch for their negatives, so the embeddings that enter the loss are all-gathered
*with* their gradient (``torch.distributed.nn.functional.all_gather``), and batch-norm layers
normalise with statistics over the global batch. The loss on every rank is then the loss of
the single-process run on the same global batch, and DDP's averaged gradient is its
gradient: distributed training changes the speed, not the optimisation.

Only rank 0 writes the checkpoint and the log; the others wait for it at a barrier.

>>> ctx = Distributed.from_env()            # torchrun sets RANK, WORLD_SIZE, LOCAL_RANK
>>> ctx.active                              # False in a plain single process
False
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Distributed:
    """Where this process sits in a data-parallel job.

    Parameters
    ----------
    rank : int
        This process's index in ``[0, world_size)``.
    world_size : int
        Number of processes (1: not distributed).
    local_rank : int
        Index on this machine; selects the GPU ``cuda:local_rank``.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Distributed:
        """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` as set by ``torchrun``."""
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError as exc:
            raise GalexploreError(f"torchrun environment: {exc}") from None
        if world < 1 or not 0 <= rank < world:
            raise GalexploreError(f"torchrun environment: RANK={rank} is not in [0, WORLD_SIZE={world})")
        return cls(rank, world, local)

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """This rank's device: ``cuda:local_rank`` on GPUs, the CPU otherwise."""
        if device.type == "cuda" and self.active:
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return device

    def init(self, device: torch.device) -> bool:
        """Join the process group (NCCL on CUDA, gloo on the CPU); True if this call created it."""
        import torch.distributed as dist

        if not self.active or dist.is_initialized():
            return False
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, rank=self.rank, world_size=self.world_size)
        log.info("rank %d of %d joined the %s process group", self.rank, self.world_size, backend)
        return True

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def broadcast(self, value: int) -> int:
        """Rank 0's ``value`` on every rank (the value itself when not distributed)."""
        if not self.active:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def local_batch(self, global_batch: int) -> int:
        """Galaxies per rank for a global batch of ``global_batch``."""
        if global_batch % self.world_size:
            raise GalexploreError(
                f"--batch-size {global_batch} is the global batch and must divide evenly over "
                f"{self.world_size} processes"
            )
        return global_batch // self.world_size

    def shard(self, batch: dict[str, Any]) -> dict[str, Any]:
        """This rank's contiguous slice of one global batch (arrays of length B → B / world_size)."""
        if not self.active:
            return batch
        n = len(next(iter(batch.values())))
        lo, hi = self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size
        return {m: a[lo:hi] for m, a in batch.items()}

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """Prepare ``model`` in place for data-parallel training and return the DDP wrapper.

        Batch norms become :class:`GlobalBatchNorm` (CPU) or :class:`torch.nn.SyncBatchNorm`
        (CUDA), and the loss module gathers its inputs over ranks while training. The
        parameter and buffer names are unchanged, so rank 0's checkpoint loads into a plain
        single-process model.
        """
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        if device.type == "cuda":
            nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            convert_global_batchnorm(model)
        gather_loss_inputs(model.loss)
        if getattr(model, "reconstruction", None) is not None:
            gather_loss_inputs(model.reconstruction)  # a batch mean, like the loss: the same on every rank
        if getattr(model, "auxiliary", None) is not None:
            gather_loss_inputs(
                model.auxiliary.loss
            )  # its contrastive loss needs the global batch's negatives
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (b, …) of every rank in rank order → (world_size · b, …), differentiable.

    The backward pass sums the gradient that every rank's loss sends to this rank's slice,
    which is what makes the averaged DDP gradient equal the single-process one.
    """
    import torch.distributed as dist
    from torch.distributed.nn.functional import all_gather

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return torch.cat(all_gather(x.contiguous()), dim=0)


def gather_loss_inputs(loss: nn.Module) -> None:
    """Make ``loss(*embeddings)`` see the embeddings of the whole global batch while training.

    A forward pre-hook, so the module (and its state-dict names) stay as they are; in
    evaluation mode every rank computes the loss on its own inputs.
    """

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...] | None:
        if not module.training:
            return None
        return tuple(all_gather_with_grad(a) for a in args)

    loss.register_forward_pre_hook(hook)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose batch statistics are taken over all ranks, on any device (gloo included).

    :class:`torch.nn.SyncBatchNorm` runs on GPUs only; this one all-reduces the per-channel
    count, mean and sum of squared deviations (differentiably), so a 2-process CPU job normalises exactly
    as one process on the global batch. Same parameters and buffers as ``BatchNorm{1,2}d``.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch.distributed.nn.functional import all_gather

        self._check_input_dim(x)
        if not self.training:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        dims = [0, *range(2, x.dim())]
        xf = x.float()
        c = x.shape[1]
        # each rank's count, mean and sum of squared deviations (two-pass, so no cancellation),
        # combined exactly as Chan et al.'s parallel variance
        n_i = xf.new_tensor([x.numel() / c])
        mean_i = xf.mean(dims)
        m2_i = ((xf - mean_i.view([1, c] + [1] * (x.dim() - 2))) ** 2).sum(dims)
        parts = torch.stack(all_gather(torch.cat([n_i, mean_i, m2_i])))  # (world, 1 + 2c)
        counts, means, m2s = parts[:, :1], parts[:, 1 : c + 1], parts[:, c + 1 :]
        n = counts.sum()
        mean = (counts * means).sum(0) / n
        var = (m2s.sum(0) + (counts * (means - mean) ** 2).sum(0)) / n
        with torch.no_grad():
            if self.track_running_stats and self.running_mean is not None:
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1).clamp_min(1), alpha=m)
        shape = [1, c] + [1] * (x.dim() - 2)
        out = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(x.dtype)


def convert_global_batchnorm(module: nn.Module) -> nn.Module:
    """Swap every ``BatchNorm*d`` under ``module`` (in place) for a :class:`GlobalBatchNorm`
    sharing its parameters and buffers."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, GlobalBatchNorm):
            g = GlobalBatchNorm(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            )
            if child.affine:
                g.weight, g.bias = child.weight, child.bias
            if child.track_running_stats:
                g.running_mean, g.running_var = child.running_mean, child.running_var
                g.num_batches_tracked = child.num_batches_tracked
            g.train(child.training)
            setattr(module, name, g)
        else:
            convert_global_batchnorm(child)
    return module


__all__ = [
    "Distributed",
    "GlobalBatchNorm",
    "all_gather_with_grad",
    "convert_global_batchnorm",
    "gather_loss_inputs",
]
