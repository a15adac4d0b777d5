"""``timm:<arch>`` (any timm backbone) and ``zoobot:<name>`` (Zoobot 2's encoders, which are timm models).

timm: the backbone with ``num_classes=0`` (pooled features), fed as timm evaluates it: RGB in
0–1, resized to ``input_size / crop_pct`` and centre-cropped to ``input_size`` (the architecture's
``pretrained_cfg``, or the weights folder's ``config.json``), normalised by its mean and std.

Zoobot: ``hf_hub:mwalmsley/zoobot-encoder-<name>`` (e.g. ``convnext_nano``; ``greyscale-<arch>``
for the one-channel encoders), preprocessed as Zoobot 2 (galaxy-datasets' view transforms) does:
the colour image in 0–1 (a JPEG's values / 255, ``ToDtype(float32, scale=True)``), resized to
224 × 224 with bilinear interpolation and antialiasing, and no mean/std normalisation
(``normalize=False``); greyscale encoders take the unweighted mean of the three channels
(``GrayscaleUnweighted``). Flux images are first made into Lupton RGB composites
(:mod:`galexplore.models.pretrained.images`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from galexplore.data.store import ModalitySpec
from galexplore.errors import GalexploreError
from galexplore.models.pretrained._torchvision import import_timm
from galexplore.models.pretrained.base import PretrainedEncoder, register, require
from galexplore.models.pretrained.images import display_rgb, is_display, resize, resize_crop
from galexplore.models.pretrained.state_dicts import WEIGHT_FILES, load_checked, read_state_dict
from galexplore.models.pretrained.weights import HubWeights, find_file, resolve

#: Zoobot 2's input: 224 × 224, values in 0–1, no normalisation.
ZOOBOT_SIZE = 224


def check_images(name: str, spec: ModalitySpec) -> None:
    if len(spec.shape) != 3:
        raise GalexploreError(
            f"{name} embeds images (B, H, W); this survey's {spec.name} have shape {list(spec.shape)}"
        )


def folder_config(root: Path) -> dict[str, Any]:
    """The ``config.json`` of a weights folder (Hugging Face timm format), or {}."""
    path = root / "config.json" if root.is_dir() else root.parent / "config.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise GalexploreError(f"{path}: not readable JSON ({exc})") from exc


@register
class TimmEncoder(PretrainedEncoder):
    """Any timm backbone (see module doc)."""

    family = "timm"
    packages = ("timm", "torch", "torchvision")
    in_chans = 3

    @property
    def arch(self) -> str:
        return self.variant

    def hub(self) -> HubWeights | None:
        cfg = import_timm().models.get_pretrained_cfg(self.arch)
        hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
        return HubWeights(hub_id, (("model.safetensors", "pytorch_model.bin"),)) if hub_id else None

    def check(self, spec: ModalitySpec) -> None:
        check_images(self.name, spec)

    def load(self, weights: str | os.PathLike | None, device: torch.device) -> None:
        require("timm")
        timm = import_timm()
        root = resolve(self.name, weights, None if weights is not None else self.hub())
        config = folder_config(root)
        arch = config.get("architecture", self.arch)
        if not timm.is_model(arch):
            raise GalexploreError(f"{self.name}: timm has no architecture {arch!r} (timm {timm.__version__})")
        self.weights_file = find_file(root, WEIGHT_FILES, self.name)
        model = timm.create_model(arch, pretrained=False, num_classes=0, in_chans=self.in_chans)
        head = model.pretrained_cfg.get("classifier") or ()
        load_checked(
            model,
            read_state_dict(self.weights_file),
            self.weights_file,
            ignore=(head,) if isinstance(head, str) else head,
        )
        self.model = model.to(device).eval()
        self.device = device
        self.cfg = {**model.pretrained_cfg, **config.get("pretrained_cfg", {})}

    def _to_input(self, rgb: torch.Tensor) -> torch.Tensor:
        size = int(self.cfg.get("input_size", (3, 224, 224))[-1])
        mode = "bicubic" if self.cfg.get("interpolation") == "bicubic" else "bilinear"
        x = resize_crop(rgb, size, float(self.cfg.get("crop_pct", 1.0)), mode=mode)
        mean = torch.tensor(self.cfg.get("mean", (0.485, 0.456, 0.406)), dtype=x.dtype, device=x.device).view(
            1, -1, 1, 1
        )
        std = torch.tensor(self.cfg.get("std", (0.229, 0.224, 0.225)), dtype=x.dtype, device=x.device).view(
            1, -1, 1, 1
        )
        return (x - mean) / std

    @torch.no_grad()
    def embed(self, batch: np.ndarray, spec: ModalitySpec) -> np.ndarray:
        rgb = torch.from_numpy(display_rgb(batch, spec)).to(self.device)
        return self.model(self._to_input(rgb)).float().cpu().numpy()

    def preprocessing(self) -> dict[str, Any]:
        keys = ("input_size", "crop_pct", "interpolation", "mean", "std")
        return {
            "rgb": "Lupton asinh composite of the flux bands, or the display values",
            **{k: self.cfg.get(k) for k in keys},
        }


@register
class ZoobotEncoder(TimmEncoder):
    """Zoobot 2's encoders (see module doc)."""

    family = "zoobot"

    @property
    def greyscale(self) -> bool:
        return self.variant.startswith("greyscale-")

    @property
    def arch(self) -> str:
        return self.variant.removeprefix("greyscale-")

    @property
    def in_chans(self) -> int:  # type: ignore[override]
        return 1 if self.greyscale else 3

    def hub(self) -> HubWeights:
        return HubWeights(
            f"mwalmsley/zoobot-encoder-{self.variant}",
            (("config.json",), ("model.safetensors", "pytorch_model.bin")),
        )

    def _to_input(self, rgb: torch.Tensor) -> torch.Tensor:
        x = rgb.mean(dim=1, keepdim=True) if self.greyscale else rgb
        return resize(x, ZOOBOT_SIZE, mode="bilinear")

    def preprocessing(self) -> dict[str, Any]:
        return {
            "rgb": "Lupton asinh composite of the flux bands, or the display values",
            "input_size": [self.in_chans, ZOOBOT_SIZE, ZOOBOT_SIZE],
            "interpolation": "bilinear, antialiased",
            "scale": "0-1 (JPEG values / 255)",
            "normalize": False,
            "greyscale": "unweighted mean of R, G, B" if self.greyscale else False,
        }


__all__ = ["TimmEncoder", "ZOOBOT_SIZE", "ZoobotEncoder", "check_images", "folder_config", "is_display"]
