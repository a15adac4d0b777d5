"""The per-modality parts of the default model config (see :mod:`galexplore.models.factory`).

:func:`~galexplore.models.factory.default_config` assembles them: the images encoder, its views
and input pooling, the description of each input, the maps encoder's azimuthal Fourier
amplitudes and the projection head of a single-modality run. :mod:`galexplore.models.factory`
re-exports the constants as the same objects (a change to ``IMAGE_VIEWS`` through either module
is seen by both); rebind them here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from galexplore.models.augment import extinction_coefficients, is_display_image

#: The images encoder: a ResNet 32 channels wide at the stem (stride 2), one residual block at
#: that resolution, then three stride-2 stages to 256 channels, mean-pooled (256-d embedding);
#: on real SDSS images it scored best per CPU second of those screened (docs/training.md).
IMAGE_ENCODER: dict[str, Any] = {"width": 32, "depth": 3, "blocks": 1, "stem_stride": 2, "stem_blocks": 1}
#: Images are fed at about this many pixels across (larger ones are block-averaged on reading).
IMAGE_INPUT = 64
#: The default views of images (:class:`~galexplore.models.augment.ImageAugment`); sizes in
#: input pixels of a 64-pixel input.
IMAGE_VIEWS: dict[str, Any] = {
    "max_shift": 0.1,
    "scale_range": [0.6, 1.0],
    "max_blur_px": 1.0,
    "p_blur": 0.5,
    "max_noise": 2.0,
}


def image_pooling(size: int) -> int:
    """k of the k×k block average that brings ``size``-pixel images to about :data:`IMAGE_INPUT` pixels."""
    k = max(1, size // IMAGE_INPUT)
    while size % k:
        k -= 1
    return k


def _images(
    spec: Mapping[str, Any], width: int | None, depth: int | None
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Encoder config, augmentation config and input pooling of the images modality.

    The encoder is :data:`IMAGE_ENCODER` (``width`` / ``depth`` override it). The views follow
    Hayat et al. (2021) and Stein et al. (2022): any rotation and a flip, a jitter-crop zooming
    in by up to :data:`IMAGE_VIEWS` ``scale_range``, PSF blur, noise at the survey's sky level,
    and, for linear fluxes, Galactic reddening. Display renderings (JPEG/PNG) get no reddening
    and no colour jitter: their colours are the physics the embedding should keep, and every
    jitter screened lowered the scores (docs/training.md).
    """
    c, h = len(spec["channels"]), int(spec["shape"][-1])
    pool = image_pooling(h)
    enc = {"kind": "conv", "in_channels": c, **IMAGE_ENCODER}
    if width:
        enc["width"] = width
    if depth:
        enc["depth"] = depth
    display = is_display_image(spec.get("units", []))
    aug = {
        "kind": "images",
        "extinction": extinction_coefficients(spec["channels"]),
        "sky_noise": [1.0] * c,
        **IMAGE_VIEWS,
        "max_ebv": 0.0 if display else 0.1,
    }
    aug["max_blur_px"] = (
        float(aug["max_blur_px"]) * IMAGE_INPUT / (h / pool) if h / pool < IMAGE_INPUT else aug["max_blur_px"]
    )
    return enc, aug, pool


def _input_cfg(modality: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "channels": list(spec["channels"]),
        "shape": list(spec["shape"]),
        "units": list(spec.get("units", [])),
    }


def _azimuthal(orders: Sequence[int], width: int) -> dict[str, Any]:
    """Encoder options for azimuthal Fourier amplitudes of the given orders (none if empty).

    From a two-layer branch ``width`` channels wide (16 by default) on the input with the mean
    of every one-pixel annulus removed, in six annuli out to 0.45 half-widths (1.1 Rₑ for maps
    over ±2.5 Rₑ: a bar is 0.6–1.3 Rₑ long), well inside the field of view so that its edge
    adds no azimuthal structure. 16 × 6 amplitudes per order: fewer leave the bar too small a
    share of the k-NN distance, more cost the integrated properties (docs/training.md).
    """
    if not orders:
        return {}
    return {
        "fourier_orders": [int(m) for m in orders],
        "fourier_source": "residual",
        "fourier_channels": width,
        "fourier_rings": 6,
        "fourier_radius": 0.45,
    }


def _single_head(
    encoder: dict[str, Any], head: str, *, hidden: int = 256, out_dim: int = 64
) -> tuple[dict[str, Any], str]:
    """The head config and ``embed_from`` of a single-modality run; sets the encoder's ``out_dim``.

    ``"mlp"`` (SimCLR): the pooled encoder features are the embedding and a 2-layer MLP maps
    them into the 64-d space of the loss. ``"none"`` (eCALIFA): the encoder ends in a 64-d
    linear layer whose output is compared by the loss and used directly as the embedding.
    """
    if head == "none":
        encoder["out_dim"] = 64
        return {"kind": "identity"}, "projection"
    encoder.pop("out_dim", None)
    return {"kind": "mlp", "out_dim": out_dim, "hidden": hidden, "n_layers": 2}, "features"


__all__ = ["IMAGE_ENCODER", "IMAGE_INPUT", "IMAGE_VIEWS", "image_pooling"]
