"""A time budget for training: how many epochs fit in ``--minutes`` on this machine.

A short timed probe runs the real training step (reading, augmenting and the optimizer step,
overlapped as in training) on the real model; the model, optimizer and random generators are
then restored exactly, so the probe leaves no trace, and the normal warm-up + cosine schedule
is set for the number of epochs that fits. The epoch count chosen is stored with the
checkpoint (``train_config.epochs``), so a run can be repeated exactly with ``--epochs``.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any, Protocol

import numpy as np
import torch

from galexplore.training.data import prefetch

log = logging.getLogger(__name__)

#: Steps timed by the probe, after ``PROBE_WARMUP`` untimed ones (allocator and kernel warm-up).
PROBE_STEPS = 6
PROBE_WARMUP = 2
#: A validation batch (one augmented forward pass, no backward) costs about this fraction of a
#: training step.
VALIDATION_COST = 0.4
#: Share of the budget planned for training; the rest absorbs checkpoint writes and jitter.
SAFETY = 0.95


class _Stepper(Protocol):
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: Any
    scaler: Any
    order_gen: torch.Generator
    aug_gen: torch.Generator
    data: Any
    train_rows: np.ndarray
    val_rows: np.ndarray
    batch_size: int
    steps_per_epoch: int

    def step(self, views: tuple[torch.Tensor, ...]) -> torch.Tensor: ...

    def _views(self, batch: dict[str, np.ndarray]) -> tuple[int, tuple[torch.Tensor, ...]]: ...


def seconds_per_step(
    trainer: _Stepper, *, steps: int = PROBE_STEPS, warmup: int = PROBE_WARMUP, prefetch_views: bool = True
) -> float:
    """Wall-clock seconds of one training step of ``trainer``, measured, with no lasting effect.

    Runs ``warmup + steps`` real steps, then restores the model, optimizer, scheduler, gradient
    scaler and both random generators to their state before the probe.
    """
    saved = {
        "model": copy.deepcopy(trainer.model.state_dict()),
        "opt": copy.deepcopy(trainer.opt.state_dict()),
        "sched": trainer.sched.state_dict(),
        "scaler": trainer.scaler.state_dict(),
        "order": trainer.order_gen.get_state(),
        "aug": trainer.aug_gen.get_state(),
    }
    trainer.model.train()
    probe_order = torch.Generator().manual_seed(0)
    batches = trainer.data.batches(trainer.train_rows, trainer.batch_size, probe_order, drop_last=True)
    stamps = [time.perf_counter()]
    try:
        for _, views in prefetch(batches, trainer._views, enabled=prefetch_views):
            trainer.step(views)
            stamps.append(time.perf_counter())
            if len(stamps) > warmup + steps:
                break
    finally:
        trainer.model.load_state_dict(saved["model"])
        trainer.opt.load_state_dict(saved["opt"])
        trainer.sched.load_state_dict(saved["sched"])
        trainer.scaler.load_state_dict(saved["scaler"])
        trainer.order_gen.set_state(saved["order"])
        trainer.aug_gen.set_state(saved["aug"])
    # time the steps after the warm-up; with fewer batches than that (a tiny survey), all of them
    timed = stamps[warmup:] if len(stamps) > warmup + 1 else stamps
    return (timed[-1] - timed[0]) / max(len(timed) - 1, 1)


def epochs_for_budget(minutes: float, step_seconds: float, steps_per_epoch: int, val_batches: int) -> int:
    """The number of whole epochs (≥ 1) whose training and validation fit in ``minutes``.

    Parameters
    ----------
    minutes : float
        The budget for training, in minutes of wall-clock time.
    step_seconds : float
        Seconds per training step (:func:`seconds_per_step`).
    steps_per_epoch, val_batches : int
        Training steps and validation batches per epoch.
    """
    if minutes <= 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    per_epoch = step_seconds * (steps_per_epoch + VALIDATION_COST * val_batches)
    if per_epoch <= 0:
        return 1
    return max(1, int(SAFETY * 60.0 * minutes // per_epoch))


def planned_epochs(trainer: Any, minutes: float, dist: Any, *, prefetch_views: bool = True) -> int:
    """The epochs of ``trainer`` (a training loop's state, see :func:`seconds_per_step`) that fit
    in ``minutes``, validation passes included; every rank of ``dist`` gets rank 0's figure."""
    import math

    step_s = seconds_per_step(trainer, prefetch_views=prefetch_views)
    val_rows = len(trainer.val_rows)
    val_batches = math.ceil(val_rows / trainer.batch_size) if val_rows >= 2 else 0
    epochs = dist.broadcast(epochs_for_budget(minutes, step_s, trainer.steps_per_epoch, val_batches))
    log.info(
        "time budget %.3g min: %.3f s per step, %d steps per epoch -> %d epochs",
        minutes,
        step_s,
        trainer.steps_per_epoch,
        epochs,
    )
    return epochs


__all__ = ["PROBE_STEPS", "epochs_for_budget", "planned_epochs", "seconds_per_step"]
