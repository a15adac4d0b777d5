"""``RUN/encoder.pt``: one file with the encoder and, while training, the state to resume.

The file is a dict of tensors and plain containers only, so it loads with
``torch.load(path, weights_only=True)``::

    format_version    int
    model             state dict of the whole model
    model_config      plain-data config (galexplore.models.factory)
    normalisation     modality → normaliser statistics (lists of floats)
    survey            {"fingerprint", "name", "path", "n_galaxies", "inputs": modality → channels/shape}
    train_config      TrainConfig as a dict
    epoch             epochs completed
    history           one dict per completed epoch (the rows of train_log.csv)
    training          optimizer / scheduler / scaler / RNG states, best validation loss, patience
    finished          whether training ran to its end (or stopped early)

It is rewritten atomically after every epoch, then ``train_log.csv`` is rewritten from
``history``; a run killed at any moment therefore resumes from a consistent epoch.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import torch

from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import RunPaths
from galexplore.errors import StoreError

FORMAT_VERSION = 1
LOG_FIELDS = ("epoch", "loss", "val_loss", "lr", "seconds", "samples_per_s")


def save_checkpoint(run: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``RUN/encoder.pt`` atomically."""
    path = RunPaths.of(run).encoder
    with atomic_file(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **payload}, tmp)
    return path


def load_checkpoint(run: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read ``RUN/encoder.pt`` (``weights_only=True``); a clear error if it is missing or broken."""
    root = Path(run)
    path = root if root.suffix == ".pt" else RunPaths.of(run).encoder
    if not path.is_file():
        raise StoreError(
            f"{path}: no trained encoder (run `galexplore train SURVEY --out {path.parent}` first)"
        )
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt files
        raise StoreError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc})") from exc
    for key in ("model", "model_config", "normalisation", "survey"):
        if key not in ckpt:
            raise StoreError(f"{path}: not a galexplore checkpoint (missing {key!r})")
    return ckpt


def write_train_log(run: str | os.PathLike, history: list[dict[str, Any]]) -> Path:
    """Rewrite ``RUN/train_log.csv`` atomically from the per-epoch history.

    The columns are :data:`LOG_FIELDS`, then any ``loss_*`` terms the rows carry (the weighted
    extra losses inside ``loss``, e.g. ``loss_profile``), in order of first appearance.
    """
    path = RunPaths.of(run).train_log
    extra = list(
        dict.fromkeys(k for row in history for k in row if k.startswith("loss_") and k not in LOG_FIELDS)
    )
    fields = [*LOG_FIELDS, *extra]
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for row in history:
            w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    return path


__all__ = ["FORMAT_VERSION", "LOG_FIELDS", "load_checkpoint", "save_checkpoint", "write_train_log"]
