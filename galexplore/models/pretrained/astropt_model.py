"""``astropt:<size>``: AstroPT (Smith et al. 2024), a GPT over image patches, through the ``astropt`` package.

Weights: ``Smith42/astroPT_v2.0`` on the hub, ``astropt/<size>/ckpt.pt`` (sizes ``015M``,
``095M``, ``850M``), or ``--weights`` (that ``ckpt.pt`` or its folder). The checkpoint holds
``model_args``, the ``modality_registry`` and the ``model`` state dict; it is read with
``torch.load(weights_only=True)``, allowing only astropt's two registry classes.

Preprocessing, as AstroPT's own embedding example (``GalaxyImageDataset.process_galaxy``
with ``spiral=True`` and its per-patch ``normalise``): the RGB image as JPEG values (0–255),
resized to ``patch_size × √block_size`` pixels a side, cut into ``patch_size²`` patches
(``c (h p1) (w p2) -> (h w) (p1 p2 c)``), each patch standardised to mean 0 and standard
deviation 1, patches put in spiral order, positions 0…n−1. The embedding is
``generate_embeddings`` (the mean over patches of the middle transformer block's output).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from galexplore.data.store import ModalitySpec
from galexplore.errors import GalexploreError
from galexplore.models.pretrained.base import PretrainedEncoder, register, require
from galexplore.models.pretrained.images import display_rgb, resize
from galexplore.models.pretrained.state_dicts import load_checked
from galexplore.models.pretrained.timm_models import check_images
from galexplore.models.pretrained.weights import HubWeights, find_file, resolve

REPO = "Smith42/astroPT_v2.0"


def spiral_order(n: int) -> np.ndarray:
    """The patch order of AstroPT's ``spiralise`` for an n × n grid (raster index per position)."""
    from astropt.local_datasets import GalaxyImageDataset

    return np.argsort(GalaxyImageDataset._spiral(n).reshape(-1), kind="stable")


def patches(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) → (B, (H/p)(W/p), p·p·C), as ``c (h p1) (w p2) -> (h w) (p1 p2 c)``."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // patch) * (w // patch), patch * patch * c)


@register
class AstroPTEncoder(PretrainedEncoder):
    """AstroPT (see module doc)."""

    family = "astropt"
    packages = ("astropt", "torch")

    def hub(self) -> HubWeights:
        return HubWeights(REPO, ((f"astropt/{self.variant}/ckpt.pt",),))

    def check(self, spec: ModalitySpec) -> None:
        check_images(self.name, spec)

    def load(self, weights: str | os.PathLike | None, device: torch.device) -> None:
        require("astropt")
        from galexplore.models.pretrained._torchvision import import_torchvision

        import_torchvision()  # astropt.local_datasets imports torchvision.io
        from astropt.model import GPT, GPTConfig, ModalityConfig, ModalityRegistry

        root = resolve(self.name, weights, None if weights is not None else self.hub())
        self.weights_file = find_file(root, ("ckpt.pt", f"astropt/{self.variant}/ckpt.pt"), self.name)
        try:
            with torch.serialization.safe_globals([ModalityRegistry, ModalityConfig]):
                ckpt = torch.load(self.weights_file, map_location="cpu", weights_only=True)
            config, registry = GPTConfig(**ckpt["model_args"]), ckpt["modality_registry"]
        except Exception as exc:  # corrupt or foreign checkpoints raise many types
            raise GalexploreError(
                f"{self.weights_file}: not an AstroPT checkpoint ({type(exc).__name__}: {str(exc)[:160]})"
            ) from exc
        if "images" not in registry.modalities:
            raise GalexploreError(
                f"{self.weights_file}: this AstroPT model has no image modality ({registry.names()})"
            )
        model = GPT(config, registry, master_process=False)
        state = {k.removeprefix("_orig_mod."): v for k, v in ckpt["model"].items()}
        load_checked(model, state, self.weights_file)
        self.model, self.device = model.to(device).eval(), device
        img = registry.get_config("images")
        self.patch = int(img.patch_size)
        self.channels = int(img.input_size) // self.patch**2
        self.grid = math.isqrt(int(config.block_size))
        self.order = torch.from_numpy(spiral_order(self.grid))

    @torch.no_grad()
    def embed(self, batch: np.ndarray, spec: ModalitySpec) -> np.ndarray:
        rgb = torch.from_numpy(display_rgb(batch, spec)).to(self.device) * 255.0  # JPEG values
        if self.channels == 1:
            rgb = rgb.mean(dim=1, keepdim=True)
        x = patches(resize(rgb, self.patch * self.grid), self.patch)
        std, mean = torch.std_mean(x, dim=-1, keepdim=True)
        x = ((x - mean) / (std + 1e-8))[:, self.order.to(self.device)]
        pos = torch.arange(x.shape[1], device=self.device).expand(len(x), -1)
        return (
            self.model.generate_embeddings({"images": x, "images_positions": pos})["images"]
            .float()
            .cpu()
            .numpy()
        )

    def preprocessing(self) -> dict[str, Any]:
        side = self.patch * self.grid
        return {
            "rgb": "Lupton asinh composite of the flux bands, or the display values, as 0-255",
            "image_size": side,
            "patch_size": self.patch,
            "patch_norm": "mean 0, std 1 per patch",
            "order": "spiral",
            "embedding": "generate_embeddings: mean over patches of the middle block",
        }


__all__ = ["AstroPTEncoder", "patches", "spiral_order"]
