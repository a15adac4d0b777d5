"""From a survey and a :class:`TrainConfig` to a model config, normalisation and the view maker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from galexplore.data.store import Survey
from galexplore.errors import GalexploreError
from galexplore.models.augment import is_display_image
from galexplore.models.factory import build_augment, default_config
from galexplore.models.preprocess import SpectrumNorm, Standardize, border_noise
from galexplore.training.config import TrainConfig
from galexplore.training.data import NORM_SAMPLE, SurveyArrays


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA if available, else CPU; ``cuda`` without a GPU is a clear error."""
    from galexplore.errors import GalexploreError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise GalexploreError(
            "--device cuda: this torch build sees no CUDA GPU "
            f"(torch {torch.__version__}; see docs/training.md to install a CUDA build)"
        )
    return torch.device(device)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX tiles)."""
    cpu = getattr(torch, "cpu", None)
    checks = (getattr(cpu, "_is_avx512_bf16_supported", None), getattr(cpu, "_is_amx_tile_supported", None))
    return any(bool(f()) for f in checks if f is not None)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a training step (None: float32 throughout).

    ``auto``: float16 on CUDA, bfloat16 on a CPU with native bfloat16, else None. ``fp16``
    on a CPU is a clear error (CPUs have no fast float16 training path).
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type != "cuda":
            raise GalexploreError("--precision fp16 needs a CUDA device; on a CPU use bf16 or fp32")
        return torch.float16
    if device.type == "cuda":
        return torch.float16
    return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None


def model_config_for(survey: Survey, config: TrainConfig) -> dict[str, Any]:
    """The default model config for ``config.modality`` on this survey, with overrides applied."""
    from galexplore.models.factory import MODALITY_CHOICES

    for m in MODALITY_CHOICES[config.modality]:
        survey.spec(m)  # clear error if the survey lacks it
    specs = {m: s.to_json() for m, s in survey.modalities.items()}
    if config.azimuthal_loss and (config.modality != "maps" or config.loss == "moco"):
        raise GalexploreError(
            "--azimuthal-loss applies to maps runs with the infonce or ntxent loss, "
            f"not {config.modality} / {config.loss}"
        )
    if config.profile_loss and (config.modality != "maps" or config.loss == "moco"):
        raise GalexploreError(
            "--profile-loss applies to maps runs with the infonce or ntxent loss, "
            f"not {config.modality} / {config.loss}"
        )
    try:
        cfg = default_config(
            config.modality,
            specs,
            width=config.width,
            depth=config.depth,
            head=config.head,
            azimuthal_orders=config.azimuthal_orders,
            azimuthal_loss=config.azimuthal_loss,
            azimuthal_loss_rings=config.azimuthal_loss_rings,
            profile_loss=config.profile_loss,
        )
    except ValueError as e:
        raise GalexploreError(f"{survey.path}: {e}") from None
    if cfg["family"] != "clip":
        (m,) = cfg["modalities"]
        if config.loss == "moco":
            cfg.pop("auxiliary", None)  # MoCo's key tower takes no auxiliary loss
            cfg.pop("reconstruction", None)
            cfg["family"] = "moco"
            cfg["loss"] = {"kind": "moco", "queue_size": 1024, "temperature": 0.2, "momentum": 0.99}
        elif config.loss is not None:
            cfg["loss"] = {"kind": config.loss, "temperature": cfg["loss"].get("temperature", 0.5)}
        if config.temperature is not None:
            cfg["loss"]["temperature"] = float(config.temperature)
    return cfg


def input_pooling(model_config: Mapping[str, Any]) -> dict[str, int]:
    """modality → k of the k×k pooling applied when reading its arrays (1: none)."""
    return {m: int(v.get("pool", 1)) for m, v in model_config.get("inputs", {}).items()}


def fit_normalisation(
    data: SurveyArrays, model_config: dict[str, Any], seed: int
) -> dict[str, dict[str, Any]]:
    """Normalisation statistics of each modality, fitted on a seeded sample of galaxies.

    Also fills in the image augmentation's per-band sky noise (from the same sample).
    """
    rows = data.sample_rows(NORM_SAMPLE, seed)
    sample = data.read(rows)
    check_has_data(sample, data)
    out = {}
    for m in model_config["modalities"]:
        if m == "spectra":
            out[m] = SpectrumNorm.fit(sample[m]).stats()
        elif m == "images":
            # linear fluxes are compressed with asinh; display renderings are already stretched
            display = is_display_image(model_config["inputs"][m].get("units", []))
            out[m] = Standardize.fit(sample[m], asinh=not display).stats()
            model_config["augment"][m]["sky_noise"] = [max(float(s), 1e-6) for s in border_noise(sample[m])]
        else:
            out[m] = Standardize.fit(sample[m]).stats()
    return out


def check_has_data(sample: Mapping[str, np.ndarray], data: SurveyArrays) -> None:
    """Refuse to train on a modality whose channels hold no finite value at all (all NaN)."""
    for m, x in sample.items():
        finite = (
            np.isfinite(x).reshape(len(x), x.shape[1], -1).any(axis=(0, 2))
            if x.ndim == 4
            else [np.isfinite(x).any()]
        )
        if not np.all(finite):
            spec = data.survey.spec(m)
            empty = [c for c, ok in zip(spec.channels, finite, strict=False) if not ok]
            raise GalexploreError(
                f"{data.survey.path}: {m} has no valid data (all NaN) in channel(s) {', '.join(empty)} "
                f"of {len(x)} sampled galaxies; nothing to train on"
            )


class ViewMaker(nn.Module):
    """Makes the inputs of one training step from a raw batch: two augmented views of one
    modality (SimCLR, MoCo) or one augmented view of each of two modalities (CLIP)."""

    def __init__(self, model_config: Mapping[str, Any]) -> None:
        super().__init__()
        self.modalities = list(model_config["modalities"])
        self.augment = nn.ModuleDict({m: build_augment(model_config["augment"][m]) for m in self.modalities})
        self.paired = model_config["family"] == "clip"

    @torch.no_grad()
    def forward(
        self, batch: Mapping[str, torch.Tensor], generator: torch.Generator | None
    ) -> tuple[torch.Tensor, ...]:
        if self.paired:
            return tuple(self.augment[m](batch[m], generator) for m in self.modalities)
        (m,) = self.modalities
        return self.augment[m](batch[m], generator), self.augment[m](batch[m], generator)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


__all__ = [
    "ViewMaker",
    "cpu_has_native_bf16",
    "fit_normalisation",
    "input_pooling",
    "model_config_for",
    "resolve_device",
    "resolve_precision",
    "seed_everything",
]
