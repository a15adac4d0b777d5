"""The supervised baseline of the label-efficiency table: the run's own encoder, trained on labels.

Hayat et al. (2021) show what self-supervision is worth by training a supervised network of the
same size on the same labels: with few labels, a linear probe on the self-supervised embedding
should beat it. :class:`SupervisedCNN` is that network: the encoder architecture of a run
(built from its model config with :func:`~galexplore.models.factory.build_encoder`), randomly
initialised, behind the run's own input normalisation (fitted statistics, not learned), with a
linear classification layer on top, trained with class-weighted cross-entropy on the labelled
galaxies only. Its views are the eight flips and right-angle rotations of each map or image
(no augmentation for spectra). The schedule is short and fixed, so that it runs on a CPU:
``epochs`` passes over the labels, at least ``min_steps`` and at most ``max_steps`` AdamW steps
with a cosine learning rate (:meth:`SupervisedCNN.n_steps`). It runs on CPU and CUDA.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.nn import functional as F

from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

#: The default schedule (see :meth:`SupervisedCNN.n_steps`) and optimiser.
EPOCHS, MIN_STEPS, MAX_STEPS, BATCH_SIZE = 30, 100, 600, 64
LEARNING_RATE, WEIGHT_DECAY = 2e-3, 1e-4


class _Classifier(nn.Module):
    """normalisation → encoder → linear layer: (B, …) raw values → (B, n_classes) logits."""

    def __init__(self, preprocess: nn.Module, encoder: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.preprocess, self.encoder = preprocess, encoder
        self.fc = nn.Linear(int(encoder.out_dim), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder(self.preprocess(x)))


def dihedral(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random flip and right-angle rotation of each square map or image of (B, C, H, H).

    Other shapes (spectra) come back unchanged. ``generator`` is a CPU generator.
    """
    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        return x
    k = torch.randint(0, 4, (len(x),), generator=generator).to(x.device)
    flip = torch.randint(0, 2, (len(x),), generator=generator).to(x.device).bool()
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    out = x.clone()
    for r in (1, 2, 3):
        sel = k == r
        if sel.any():
            out[sel] = torch.rot90(x[sel], r, (-2, -1))
    return out


class SupervisedCNN:
    """A classifier with a run's encoder architecture, trained from scratch on labels.

    Parameters
    ----------
    encoder_config : mapping
        The encoder's entry of a run's model config (``model_config["encoders"][modality]``).
    normalisation : mapping
        The run's normalisation statistics of that modality (``encoder.pt``'s
        ``normalisation[modality]``), applied before the encoder as in the run.
    epochs, min_steps, max_steps, batch_size : int
        The schedule (:meth:`n_steps`).
    lr, weight_decay : float
        AdamW's learning rate (cosine decay to 0) and weight decay.
    class_weight : {"balanced", None}
        Weighs the cross-entropy of each class by n / (n_classes · n_class), like the linear probe.
    augment : bool
        Random flips and right-angle rotations of maps and images (:func:`dihedral`).
    device : {"auto", "cpu", "cuda"} or torch.device
    random_state : int
        Seeds the weights, the batches and the views.

    Attributes
    ----------
    classes_ : ndarray (K,)
    model_ : nn.Module
        The trained network (eval mode).
    n_steps_, seconds_, final_loss_ : int, float, float
    """

    def __init__(
        self,
        encoder_config: Mapping[str, Any],
        normalisation: Mapping[str, Any],
        *,
        epochs: int = EPOCHS,
        min_steps: int = MIN_STEPS,
        max_steps: int = MAX_STEPS,
        batch_size: int = BATCH_SIZE,
        lr: float = LEARNING_RATE,
        weight_decay: float = WEIGHT_DECAY,
        class_weight: str | None = "balanced",
        augment: bool = True,
        device: str | torch.device = "auto",
        random_state: int = 0,
    ) -> None:
        self.encoder_config = encoder_config
        self.normalisation = normalisation
        self.epochs, self.min_steps, self.max_steps, self.batch_size = (
            epochs,
            min_steps,
            max_steps,
            batch_size,
        )
        self.lr, self.weight_decay = lr, weight_decay
        self.class_weight, self.augment = class_weight, augment
        self.device, self.random_state = device, random_state

    def n_steps(self, n: int) -> int:
        """Optimiser steps for ``n`` labelled galaxies: ``epochs`` passes, clipped to [min_steps, max_steps]."""
        return int(np.clip(self.epochs * math.ceil(n / self.batch_size), self.min_steps, self.max_steps))

    def resolved_device(self) -> torch.device:
        """The device ``device`` names (``auto``: CUDA when there is one)."""
        from galexplore.training.setup import resolve_device

        return resolve_device(self.device) if isinstance(self.device, str) else self.device

    def _build(self, n_classes: int, device: torch.device) -> _Classifier:
        from galexplore.models.factory import build_encoder
        from galexplore.models.preprocess import from_stats

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            net = _Classifier(from_stats(self.normalisation), build_encoder(self.encoder_config), n_classes)
        return net.to(device)

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, *, progress: ProgressCallback | None = None
    ) -> SupervisedCNN:
        """Train on raw inputs ``X`` (N, C, H, W) or (N, L) float32 and their labels ``y`` (N,)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        y = np.asarray(y).astype(str)
        if len(X) != len(y) or len(X) < 2:
            raise ValueError(
                f"need at least 2 labelled rows with one label each, got X {X.shape} and y {y.shape}"
            )
        self.classes_, codes = np.unique(y, return_inverse=True)
        device = self.resolved_device()
        net = self._build(len(self.classes_), device).train()
        counts = np.bincount(codes, minlength=len(self.classes_))
        weight = None
        if self.class_weight == "balanced":
            weight = torch.as_tensor(len(codes) / (len(counts) * counts), dtype=torch.float32, device=device)
        steps = self.n_steps(len(X))
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        gen = torch.Generator().manual_seed(self.random_state)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(codes.astype(np.int64))
        batch = min(self.batch_size, len(X))
        order, pos, loss = torch.randperm(len(X), generator=gen), 0, torch.tensor(float("nan"))
        t0 = time.perf_counter()
        for step in range(steps):
            if pos + batch > len(X):
                order, pos = torch.randperm(len(X), generator=gen), 0
            idx = order[pos : pos + batch]
            pos += batch
            xb = Xt[idx].to(device, non_blocking=True)
            xb = dihedral(xb, gen) if self.augment else xb
            loss = F.cross_entropy(net(xb), yt[idx].to(device), weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            report(progress, step + 1, steps, "supervised CNN")
        self.model_ = net.eval()
        self.n_steps_, self.seconds_, self.final_loss_ = steps, time.perf_counter() - t0, float(loss.detach())
        return self

    @torch.no_grad()
    def predict(self, X: npt.ArrayLike, *, batch_size: int = 256) -> np.ndarray:
        """The predicted class of each row of ``X`` (N, …), (N,)."""
        device = next(self.model_.parameters()).device
        X = np.asarray(X, dtype=np.float32)
        out = [
            self.model_(torch.from_numpy(np.ascontiguousarray(X[s : s + batch_size])).to(device))
            .argmax(1)
            .cpu()
            .numpy()
            for s in range(0, len(X), batch_size)
        ]
        return self.classes_[np.concatenate(out)] if out else self.classes_[:0]


def run_inputs(
    survey, run: str | os.PathLike, modality: str
) -> tuple[dict[str, Any], dict[str, Any], np.ndarray]:
    """What :class:`SupervisedCNN` needs from a trained run: its encoder config and normalisation
    of ``modality``, and the survey's inputs of that modality as the encoder reads them, (N, …).

    Raises
    ------
    GalexploreError
        If the run has no ``encoder.pt`` (imported or pretrained vectors), does not encode
        ``modality``, or the survey cannot feed it.
    """
    from galexplore.artifacts.paths import RunPaths
    from galexplore.embed import check_compatible, read_inputs
    from galexplore.errors import GalexploreError
    from galexplore.training.checkpoint import load_checkpoint
    from galexplore.training.setup import input_pooling

    path = RunPaths.of(run).encoder
    if not path.is_file():
        raise GalexploreError(f"{path}: not found (the supervised CNN copies the run's encoder architecture)")
    ckpt = load_checkpoint(run)
    cfg = ckpt["model_config"]
    if modality not in cfg["encoders"]:
        raise GalexploreError(
            f"{path}: the run has no {modality!r} encoder (it has {sorted(cfg['encoders'])})"
        )
    check_compatible(survey, ckpt, run)
    x = read_inputs(survey, [modality], pool=input_pooling(cfg))[modality]
    return dict(cfg["encoders"][modality]), dict(ckpt["normalisation"][modality]), x


__all__ = ["SupervisedCNN", "dihedral", "run_inputs"]
