"""The one training loop for maps, images and cross-modal encoders.

It is seeded, checkpoints atomically after every epoch and resumes from the last checkpoint
(optimizer, scheduler, gradient scaler and random-generator states included), so a run killed
with ``kill -9`` continues with the next epoch and ``train_log.csv`` has every epoch once.
On CUDA it uses float16 mixed precision (``torch.autocast`` + ``GradScaler``), channels-last
tensors and pinned-memory host-to-device copies; on a CPU with native bfloat16 (AVX512-BF16 or
AMX) bfloat16 mixed precision and channels-last tensors (``TrainConfig.precision``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from galexplore.artifacts.paths import RunPaths
from galexplore.data.store import Survey, open_survey
from galexplore.errors import GalexploreError, StoreError
from galexplore.models.factory import build_model
from galexplore.progress import ProgressCallback, report
from galexplore.training.budget import planned_epochs
from galexplore.training.checkpoint import (
    load_checkpoint,
    save_checkpoint,
    write_train_log,
)
from galexplore.training.config import TrainConfig
from galexplore.training.data import SurveyArrays, prefetch, split_rows, to_device
from galexplore.training.distributed import Distributed
from galexplore.training.setup import (
    ViewMaker,
    fit_normalisation,
    input_pooling,
    model_config_for,
    resolve_device,
    resolve_precision,
    seed_everything,
)

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What :func:`train` did: the run directory, epochs completed, the log rows and why it stopped."""

    run: Path
    epochs: int
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    device: str = "cpu"
    resumed_from: int = 0


def survey_info(survey: Survey, modalities: list[str]) -> dict[str, Any]:
    """What a checkpoint records about the survey it was trained on."""
    return {
        "fingerprint": survey.fingerprint,
        "name": survey.name,
        "path": str(survey.path),
        "n_galaxies": survey.n_galaxies,
        "inputs": {
            m: {"channels": survey.spec(m).channels, "shape": list(survey.spec(m).shape)} for m in modalities
        },
    }


def make_scheduler(
    opt: torch.optim.Optimizer, steps_per_epoch: int, config: TrainConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_epochs`` then a cosine to zero at ``epochs``."""
    total = max(1, steps_per_epoch * config.epochs)
    warm = max(1, int(round(steps_per_epoch * config.warmup_epochs)))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


class _Trainer:
    """State of one training run; :func:`train` is its public face."""

    def __init__(
        self,
        survey: Survey,
        run: Path,
        config: TrainConfig,
        progress: ProgressCallback | None,
        rows: np.ndarray | None = None,
        dist: Distributed | None = None,
    ) -> None:
        self.dist = dist or Distributed()
        progress = progress if self.dist.is_main else None
        self.survey, self.run, self.config, self.progress = survey, run, config, progress
        if config.threads:
            torch.set_num_threads(int(config.threads))
        self.device = self.dist.device(resolve_device(config.device))
        self.cuda = self.device.type == "cuda"
        self.amp_dtype = resolve_precision(config.precision, self.device)
        self.channels_last = self.cuda or self.amp_dtype is not None
        seed_everything(config.seed)
        self.model_config = model_config_for(survey, config)
        self.modalities = list(self.model_config["modalities"])
        self.data = SurveyArrays(
            survey,
            self.modalities,
            max_cache_bytes=config.max_cache_bytes,
            pool=input_pooling(self.model_config),
            progress=progress,
        )
        if rows is None:
            self.train_rows, self.val_rows = split_rows(survey.n_galaxies, config.val_fraction, config.seed)
        else:
            rows = np.sort(np.asarray(rows, dtype=np.int64))
            tr_i, va_i = split_rows(len(rows), config.val_fraction, config.seed)
            self.train_rows, self.val_rows = rows[tr_i], rows[va_i]
        if len(self.train_rows) < 2:
            raise GalexploreError(
                f"{survey.path}: {survey.n_galaxies} galaxies are too few to train on (need ≥ 2)"
            )
        self.batch_size = min(config.batch_size, len(self.train_rows))  # the global batch
        self.dist.local_batch(self.batch_size)
        self.steps_per_epoch = len(self.train_rows) // self.batch_size

    def build(self, normalisation: dict[str, Any]) -> None:
        self.normalisation = normalisation
        self.model = build_model(self.model_config, normalisation).to(self.device)
        self.views = ViewMaker(self.model_config).to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.net = self.dist.wrap(self.model, self.device)  # the model itself when not distributed
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=self.config.lr, weight_decay=self.config.weight_decay)
        self.sched = make_scheduler(self.opt, self.steps_per_epoch, self.config)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.order_gen = torch.Generator().manual_seed(self.config.seed)
        self.aug_gen = torch.Generator(device=self.device).manual_seed(self.aug_seed)

    @property
    def aug_seed(self) -> int:
        """Seed of the augmentations; each rank of a distributed run draws its own."""
        return self.config.seed + 1 + 7919 * self.dist.rank

    # -- one step / epoch ------------------------------------------------------------------
    def _inputs(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        b = to_device(batch, self.device, pin=self.cuda)
        if self.channels_last:
            b = {
                m: t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t for m, t in b.items()
            }
        return b

    def _views(self, batch: dict[str, np.ndarray]) -> tuple[int, tuple[torch.Tensor, ...]]:
        """The global batch size and this process's augmented views of one training batch."""
        inputs = self._inputs(self.dist.shard(batch))
        return len(next(iter(inputs.values()))) * self.dist.world_size, self.views(inputs, self.aug_gen)

    def loss(self, views: tuple[torch.Tensor, ...], net: torch.nn.Module | None = None) -> torch.Tensor:
        with torch.autocast(
            device_type=self.device.type,
            dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        ):
            return (net or self.model)(*views)

    def step(self, views: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """One optimizer step; returns the (detached) loss of the global batch."""
        loss = self.loss(views, self.net)
        if not torch.isfinite(loss):
            raise GalexploreError(f"training diverged (loss {float(loss)}); try a lower --lr")
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        return loss.detach()

    def train_epoch(self, epoch: int) -> tuple[float, int, float, dict[str, float]]:
        """Train one epoch: mean loss, galaxies seen, seconds, and the mean extra loss terms.

        The extra terms are those the model reports in ``loss_terms`` (e.g. ``loss_profile``),
        weighted as they enter the loss; sums stay on the device until the epoch ends.
        """
        self.model.train()
        total, n, t0 = 0.0, 0, time.perf_counter()
        terms: dict[str, torch.Tensor] = {}
        done0 = (epoch - 1) * self.steps_per_epoch * self.batch_size
        grand = self.config.epochs * self.steps_per_epoch * self.batch_size
        batches = self.data.batches(self.train_rows, self.batch_size, self.order_gen, drop_last=True)
        for bs, views in prefetch(batches, self._views, enabled=self.config.prefetch):
            total += float(self.step(views)) * bs  # the loss of the global batch
            for k, v in getattr(self.model, "loss_terms", {}).items():
                terms[k] = terms.get(k, 0.0) + v.float() * bs
            n += bs
            report(self.progress, done0 + n, grand, "training")
        return (
            total / max(n, 1),
            n,
            time.perf_counter() - t0,
            {k: float(v) / max(n, 1) for k, v in terms.items()},
        )

    @torch.no_grad()
    def validate(self) -> float | None:
        if len(self.val_rows) < 2:
            return None
        self.model.eval()
        gen = torch.Generator(device=self.device).manual_seed(self.config.seed + 99)
        order = torch.Generator().manual_seed(self.config.seed + 98)
        total, n = 0.0, 0
        for batch in self.data.batches(self.val_rows, self.batch_size, order, drop_last=False):
            inputs = self._inputs(batch)
            bs = len(next(iter(inputs.values())))
            if bs < 2:
                continue
            total += float(self.loss(self.views(inputs, gen))) * bs
            n += bs
        return total / max(n, 1)

    # -- checkpoints -----------------------------------------------------------------------
    def payload(
        self, epoch: int, history: list[dict[str, Any]], best: float, bad: int, finished: bool, stopped: bool
    ) -> dict[str, Any]:
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "model_config": self.model_config,
            "normalisation": self.normalisation,
            "survey": survey_info(self.survey, self.modalities),
            "train_config": self.config.to_dict(),
            "epoch": epoch,
            "history": history,
            "finished": finished,
            "stopped_early": stopped,
            "training": {
                "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(),
                "scaler": self.scaler.state_dict(),
                "order_rng": self.order_gen.get_state(),
                "aug_rng": self.aug_gen.get_state(),
                "best_val": best,
                "bad_epochs": bad,
                "device": self.device.type,
                "precision": str(self.amp_dtype or torch.float32).removeprefix("torch."),
            },
        }

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        t = ckpt["training"]
        self.opt.load_state_dict(t["optimizer"])
        self.sched.load_state_dict(t["scheduler"])
        if self.scaler.is_enabled() and t.get("scaler"):
            self.scaler.load_state_dict(t["scaler"])
        self.order_gen.set_state(t["order_rng"])
        if t.get("device") == self.device.type and self.dist.is_main:
            self.aug_gen.set_state(t["aug_rng"])
        elif not self.dist.is_main:  # rank 0's state is stored; the others draw afresh per epoch
            self.aug_gen.manual_seed(self.aug_seed + 104729 * int(ckpt["epoch"]))


def _resume_config(ckpt: dict[str, Any], config: TrainConfig, run: Path) -> TrainConfig:
    stored = TrainConfig.from_dict(ckpt["train_config"])
    changed = {k: (v, getattr(config, k)) for k, v in stored.to_dict().items() if getattr(config, k) != v}
    for k in changed.keys() - {
        "epochs",
        "minutes",
        "device",
        "threads",
        "patience",
        "min_delta",
        "prefetch",
        "precision",
    }:
        log.warning("--resume %s: keeping %s=%r from the checkpoint (ignoring %r)", run, k, *changed[k])
    if config.minutes is not None:  # a budget is planned once, when training starts
        log.warning(
            "--resume %s: continuing to the %d epochs planned at the start (--minutes is not re-planned)",
            run,
            stored.epochs,
        )
    else:
        stored.epochs = config.epochs
    stored.device, stored.threads = config.device, config.threads
    stored.prefetch, stored.precision = config.prefetch, config.precision
    stored.patience, stored.min_delta = config.patience, config.min_delta
    return stored


def _fit_budget(tr: _Trainer, config: TrainConfig, dist: Distributed) -> TrainConfig:
    """``config`` with the epochs that fit in ``config.minutes`` here, and the schedule set for them."""
    config = dataclasses.replace(
        config, epochs=planned_epochs(tr, config.minutes, dist, prefetch_views=config.prefetch)
    )
    tr.sched = make_scheduler(tr.opt, tr.steps_per_epoch, config)
    return config


def train(
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    rows: np.ndarray | None = None,
    distributed: Distributed | None = None,
) -> TrainResult:
    """Train a contrastive encoder on a survey and write ``RUN/encoder.pt`` and ``train_log.csv``.

    Parameters
    ----------
    survey : Survey or path
    run : path
        Run directory (created). Without ``resume`` an existing checkpoint there is replaced.
    config : TrainConfig, optional
        Defaults: :class:`TrainConfig` (eCALIFA-style maps encoder, 12 epochs).
    resume : bool
        Continue from ``RUN/encoder.pt`` if it exists, with its optimizer, scheduler and RNG
        states; only ``epochs``, ``device``, ``threads`` and early-stopping options may differ
        from the stored config. Without a checkpoint, training starts afresh.
    progress : callable, optional
        ``progress(galaxies_done, galaxies_total, "training")`` after every step.
    on_epoch : callable, optional
        Called with each epoch's log row.
    rows : array of int, optional
        Train (and validate) on these galaxies only, e.g. the training split of a held-out
        evaluation; default: all.
    distributed : Distributed, optional
        This process's place in a data-parallel job; default: read from the environment
        ``torchrun`` sets (a plain single process without it). ``config.batch_size`` is then the
        global batch, split evenly over the processes; only rank 0 writes the run.

    Returns
    -------
    TrainResult
    """
    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    run = Path(run)
    config = config or TrainConfig()
    dist = distributed or Distributed.from_env()
    created = dist.init(dist.device(resolve_device(config.device)))
    try:
        return _train(survey, run, config, resume, progress, on_epoch, rows, dist)
    finally:
        if created:
            import torch.distributed

            torch.distributed.destroy_process_group()


def _train(
    survey: Survey,
    run: Path,
    config: TrainConfig,
    resume: bool,
    progress: ProgressCallback | None,
    on_epoch: Callable[[dict[str, Any]], None] | None,
    rows: np.ndarray | None,
    dist: Distributed,
) -> TrainResult:
    ckpt = None
    if resume and RunPaths.of(run).encoder.is_file():
        ckpt = load_checkpoint(run)
        if "training" not in ckpt:
            raise StoreError(f"{RunPaths.of(run).encoder}: holds no training state to resume from")
        if ckpt["survey"]["fingerprint"] != survey.fingerprint:
            raise StoreError(
                f"{survey.path}: --resume needs the survey the run was trained on "
                f"(fingerprint {survey.fingerprint} != {ckpt['survey']['fingerprint']} of {ckpt['survey'].get('path')})"
            )
        config = _resume_config(ckpt, config, run)
    elif resume:
        log.info("%s: nothing to resume, starting afresh", run)
    tr = _Trainer(survey, run, config, progress, rows, dist)
    if ckpt is not None:
        tr.model_config = ckpt["model_config"]
        tr.build(ckpt["normalisation"])
        tr.restore(ckpt)
        history, start = list(ckpt["history"]), int(ckpt["epoch"])
        best, bad = float(ckpt["training"]["best_val"]), int(ckpt["training"]["bad_epochs"])
        if ckpt.get("stopped_early") and config.patience is not None:
            log.info("%s: training had stopped early at epoch %d", run, start)
            if dist.is_main:
                write_train_log(run, history)
            return TrainResult(run, start, history, True, tr.device.type, start)
    else:
        tr.build(fit_normalisation(tr.data, tr.model_config, config.seed))
        if config.minutes is not None:
            config = tr.config = _fit_budget(tr, config, dist)
        history, start, best, bad = [], 0, math.inf, 0
    if dist.is_main:
        write_train_log(run, history)  # re-syncs the log with the checkpoint after a kill
    sizes, dtype = (len(tr.train_rows), len(tr.val_rows)), tr.amp_dtype or torch.float32
    what = (config.modality, survey.path, *sizes, tr.device, dtype, start + 1)
    log.info("training %s on %s (%d train / %d val galaxies) on %s (%s) from epoch %d", *what)
    stopped = False
    for epoch in range(start + 1, config.epochs + 1):
        t0 = time.perf_counter()
        loss, n, t_train, terms = tr.train_epoch(epoch)
        val = tr.validate()
        lr = tr.opt.param_groups[0]["lr"]
        row = {
            "epoch": epoch,
            "loss": round(loss, 6),
            "val_loss": None if val is None else round(val, 6),
            "lr": lr,
            "seconds": round(time.perf_counter() - t0, 3),
            "samples_per_s": round(n / max(t_train, 1e-9), 2),
            **{k: round(v, 6) for k, v in terms.items()},
        }
        history.append(row)
        if val is not None and config.patience is not None:
            if val < best - config.min_delta:
                best, bad = val, 0
            else:
                bad += 1
            stopped = bad >= config.patience
        elif val is not None:
            best = min(best, val)
        finished = stopped or epoch == config.epochs
        if dist.is_main:
            save_checkpoint(run, tr.payload(epoch, history, best, bad, finished, stopped))
            write_train_log(run, history)
        dist.barrier()
        parts = "".join(f", {k[5:]} {v:.4f}" for k, v in terms.items())
        log.info("epoch %d: loss %.4f%s val %s (%.1f s)", epoch, loss, parts, val, row["seconds"])
        if on_epoch is not None:
            on_epoch(row)
        if stopped:
            log.info("early stop at epoch %d: validation loss has not improved for %d epochs", epoch, bad)
            break
    done = history[-1]["epoch"] if history else 0
    return TrainResult(run, done, history, stopped, tr.device.type, start)


__all__ = ["TrainResult", "make_scheduler", "survey_info", "train"]
