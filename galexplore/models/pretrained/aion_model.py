"""``aion:<size>``: AION-1 (Polymathic AI), through ``polymathic-aion``, on Legacy Survey images.

AION reads Legacy Survey g, r, i, z fluxes (nanomaggies) at 0.262″ a pixel, 96 × 96 pixels:
its image codec turns them into 576 tokens and the transformer's encoder embeds the tokens; the
embedding is the mean of the encoder's output over the tokens (``model.encode``, as in AION's
README). Bands named g, r, i, z (or DES-G …) are passed as ``DES-G`` …; missing bands are left
to AION's band padding. Images with a known pixel scale (``grid.pixel_arcsec``) are resampled
to 0.262″; others are resized to 96 × 96. Either way the total flux is conserved.

Weights: ``polymathic-ai/aion-<size>`` on the hub (``config.json``, ``model.safetensors``,
``codecs/image/config.json``, ``codecs/image/model.safetensors``), or ``--weights`` (a folder
with those files). The package's own loaders cannot read a local folder for the codec
(``CodecManager`` always asks the hub repo ``polymathic-ai/aion-base``, and
``CodecPytorchHubMixin.from_pretrained`` on a folder looks for ``codecs/image/config.json``
with ``os.listdir``, which never lists a file in a subfolder): both the transformer and the
codec are built here from their ``config.json`` with the package's classes, and their
safetensors loaded strictly.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from galexplore.data.store import ModalitySpec
from galexplore.errors import GalexploreError
from galexplore.models.pretrained.base import PretrainedEncoder, register, require
from galexplore.models.pretrained.images import is_display
from galexplore.models.pretrained.state_dicts import load_checked
from galexplore.models.pretrained.weights import HubWeights, find_file, resolve

LS_PIXEL_ARCSEC = 0.262
LS_SIZE = 96
N_TOKENS = 576


def aion_bands(channels: list[str]) -> list[str]:
    """Survey band names → AION's Legacy Survey band names (``g`` → ``DES-G``)."""
    out = []
    for c in channels:
        b = c.strip().upper().removeprefix("DES-").removeprefix("DECAM-")
        if b not in ("G", "R", "I", "Z"):
            raise GalexploreError(f"AION reads Legacy Survey g, r, i, z images; this survey has band {c!r}")
        out.append(f"DES-{b}")
    return out


def to_legacy_grid(flux: torch.Tensor, grid: dict[str, Any]) -> torch.Tensor:
    """(B, C, H, W) fluxes per pixel → (B, C, 96, 96) at 0.262″ (or resized), total flux kept."""
    h, w = flux.shape[-2:]
    scale = grid.get("pixel_arcsec")
    if scale:
        side = max(1, round(h * float(scale) / LS_PIXEL_ARCSEC))
        out = F.interpolate(flux, size=(side, side), mode="bilinear", align_corners=False, antialias=True) * (
            h * w / side**2
        )
        pad = LS_SIZE - side
        if pad > 0:
            return F.pad(out, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
        top = (side - LS_SIZE) // 2
        return out[..., top : top + LS_SIZE, top : top + LS_SIZE]
    return F.interpolate(
        flux, size=(LS_SIZE, LS_SIZE), mode="bilinear", align_corners=False, antialias=True
    ) * (h * w / LS_SIZE**2)


@register
class AIONEncoder(PretrainedEncoder):
    """AION-1 on images (see module doc)."""

    family = "aion"
    packages = ("polymathic-aion", "torch", "huggingface_hub")

    def hub(self) -> HubWeights:
        return HubWeights(
            f"polymathic-ai/aion-{self.variant}",
            (
                ("config.json",),
                ("model.safetensors",),
                ("codecs/image/config.json",),
                ("codecs/image/model.safetensors",),
            ),
        )

    def check(self, spec: ModalitySpec) -> None:
        if len(spec.shape) != 3:
            raise GalexploreError(
                f"{self.name} embeds images (B, H, W); this survey's {spec.name} have shape {list(spec.shape)}"
            )
        if is_display(spec):
            raise GalexploreError(
                f"{self.name} reads Legacy Survey fluxes (nanomaggies); "
                "this survey's images are display values (PNG/JPEG)"
            )
        self.bands = aion_bands(spec.channels)

    def load(self, weights: str | os.PathLike | None, device: torch.device) -> None:
        require("aion", "pretrained")
        from aion import AION
        from aion.codecs.image import ImageCodec
        from safetensors.torch import load_file

        root = resolve(self.name, weights, None if weights is not None else self.hub())
        if not root.is_dir():
            raise GalexploreError(
                f"{root}: AION weights are a folder (config.json, model.safetensors, codecs/image/…)"
            )
        self.weights_file = find_file(root, ("model.safetensors",), self.name)
        codec_dir = root / "codecs" / "image"
        try:
            model = AION(json.loads((root / "config.json").read_text()))
            codec = ImageCodec(**json.loads((codec_dir / "config.json").read_text()))
        except FileNotFoundError as exc:
            raise GalexploreError(f"{exc.filename}: missing (AION weights folder {root})") from exc
        except (TypeError, KeyError, ValueError) as exc:
            raise GalexploreError(f"{root}: not an AION config ({type(exc).__name__}: {exc})") from exc
        load_checked(model, load_file(str(self.weights_file)), self.weights_file)
        codec_file = find_file(codec_dir, ("model.safetensors",), self.name)
        load_checked(codec, load_file(str(codec_file)), codec_file)
        self.model, self.codec, self.device = model.to(device).eval(), codec.to(device).eval(), device

    @torch.no_grad()
    def embed(self, batch: np.ndarray, spec: ModalitySpec) -> np.ndarray:
        from aion.modalities import LegacySurveyImage

        flux = torch.from_numpy(np.nan_to_num(np.asarray(batch, dtype=np.float32), nan=0.0)).to(self.device)
        image = LegacySurveyImage(flux=to_legacy_grid(flux, spec.grid), bands=self.bands)
        tokens = self.codec.encode(image)
        out = self.model.encode({LegacySurveyImage.token_key: tokens}, num_encoder_tokens=N_TOKENS)
        return out.mean(dim=1).float().cpu().numpy()

    def preprocessing(self) -> dict[str, Any]:
        return {
            "bands": getattr(self, "bands", None),
            "pixel_arcsec": LS_PIXEL_ARCSEC,
            "size": LS_SIZE,
            "tokens": N_TOKENS,
            "embedding": "mean over tokens of model.encode",
        }


__all__ = ["AIONEncoder", "aion_bands", "to_legacy_grid"]
