"""Build models and augmenters from a plain-data model config (the one stored in ``encoder.pt``).

The config holds only strings, numbers, booleans, lists and dicts, so a checkpoint with it
loads under ``torch.load(weights_only=True)``. The model classes themselves never see it:
this module turns it into parts and passes those in. The per-modality pieces of
:func:`default_config` (the images encoder and views, the maps encoder's azimuthal amplitudes,
the single-modality heads) are in :mod:`galexplore.models.modality_config`.

A config looks like::

    {"family": "contrastive",                  # or "moco", "clip"
     "modalities": ["maps"],                    # clip: two, e.g. ["images", "spectra"]
     "encoders": {"maps": {"kind": "conv", "in_channels": 5, "width": 32, "depth": 3, ...}},
     "heads": {"maps": {"kind": "identity"}},   # or {"kind": "mlp", "out_dim": 64, ...}
     "loss": {"kind": "infonce", "temperature": 0.2},
     "embed_from": "projection",
     "augment": {"maps": {"kind": "maps", "log_channels": [...], ...}}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from galexplore.models.augment import ImageAugment, MapAugment, SpectrumAugment, is_log_channel
from galexplore.models.auxiliary import ProfileReconstruction, SubsetContrast
from galexplore.models.contrastive import CLIPModel, ContrastiveModel, MoCoModel
from galexplore.models.encoders import ConvEncoder
from galexplore.models.heads import IdentityHead, ProjectionHead
from galexplore.models.losses import InfoNCELoss, MoCoLoss, NTXentLoss
from galexplore.models.modality_config import (
    IMAGE_ENCODER,
    IMAGE_INPUT,
    IMAGE_VIEWS,
    _azimuthal,
    _images,
    _input_cfg,
    _single_head,
    image_pooling,
)
from galexplore.models.preprocess import from_stats
from galexplore.models.spectrum import SpectrumEncoder

FAMILIES = ("contrastive", "moco", "clip")
#: Projection-head choices of single-modality runs: ``"mlp"`` (SimCLR: a 2-layer MLP feeds the
#: loss, the encoder features before it are the embedding) or ``"none"`` (eCALIFA: the 64-d
#: encoder output feeds the loss and is used directly as the embedding).
HEADS = ("mlp", "none")
#: Azimuthal Fourier orders m whose amplitudes the default maps encoder pools per annulus
#: (:class:`~galexplore.models.encoders.ConvEncoder` ``fourier_*``): m = 2, bars and two-armed
#: spirals, which ring means cannot see. They come from a small branch of their own on the
#: input with its azimuthal mean removed (``fourier_source="residual"``, 16 channels, six
#: annuli out to 0.45 half-widths, about 1.1 Rₑ, where a bar lies), so that they carry no levels
#: (docs/training.md, "Fourth round"). Earlier versions took m = 2–4 from the first stage's
#: feature map (``fourier_source="features"``); their checkpoints load unchanged.
AZIMUTHAL_ORDERS: tuple[int, ...] = (2,)
#: Weight of the auxiliary contrastive loss on the maps encoder's azimuthal amplitudes alone
#: (:func:`build_auxiliary`; 0: none) and the annuli it sees (the innermost four of six, to
#: ~0.75 Rₑ; None: all). With the residual branch it makes the amplitudes tell galaxies apart by
#: their non-axisymmetric inner structure: k-NN on the amplitudes alone scores has_bar 0.86–0.89.
#: (On amplitudes of the network's own features, as before, it made them carry log Σ* instead.)
AZIMUTHAL_LOSS_WEIGHT: float = 1.0
AZIMUTHAL_LOSS_RINGS: int | None = 4
#: Weight of the profile reconstruction loss of maps runs (:func:`build_reconstruction`; 0:
#: none): a linear layer must predict each view's radial profile (ring means of its normalised
#: maps, :data:`PROFILE_LOSS_RINGS` annuli) from the encoder features. It keeps the plain
#: levels of the maps (log Σ*, age) in the embedding, which contrastive training alone lets
#: shrink. Weight 3 lifted log Σ* from 0.907 ± 0.010 to 0.926 ± 0.004 over 3 seeds (EW(Hα)
#: 0.940 → 0.922); weight 10 lifted it further but cost EW(Hα) more (docs/training.md).
#: (Standardised maps: the loss starts near 1 per ring and channel.)
PROFILE_LOSS_WEIGHT: float = 3.0
PROFILE_LOSS_RINGS: int = 5
#: The ``--modality`` choices and the modalities each trains on.
MODALITY_CHOICES: dict[str, tuple[str, ...]] = {
    "maps": ("maps",),
    "images": ("images",),
    "maps+images": ("maps", "images"),
    "images+spectra": ("images", "spectra"),
}


def _kwargs(d: Mapping[str, Any], drop: tuple[str, ...] = ("kind",)) -> dict[str, Any]:
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k not in drop}


def build_encoder(cfg: Mapping[str, Any]) -> nn.Module:
    kind = cfg.get("kind", "conv")
    if kind == "conv":
        return ConvEncoder(**_kwargs(cfg))
    if kind == "spectrum":
        return SpectrumEncoder(**_kwargs(cfg))
    raise ValueError(f"unknown encoder kind {kind!r}")


def build_head(cfg: Mapping[str, Any] | None, in_dim: int) -> nn.Module:
    cfg = cfg or {"kind": "identity"}
    kind = cfg.get("kind", "identity")
    if kind == "identity":
        return IdentityHead(in_dim)
    if kind == "mlp":
        return ProjectionHead(in_dim, **_kwargs(cfg))
    raise ValueError(f"unknown head kind {kind!r}")


def build_augment(cfg: Mapping[str, Any]) -> nn.Module:
    kind = cfg.get("kind")
    if kind == "maps":
        return MapAugment(**_kwargs(cfg))
    if kind == "images":
        return ImageAugment(**_kwargs(cfg))
    if kind == "spectra":
        return SpectrumAugment(**_kwargs(cfg))
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown augmentation kind {kind!r}")


def build_auxiliary(
    cfg: Mapping[str, Any] | None, encoder: nn.Module, loss_kind: str, temperature: float
) -> nn.Module | None:
    """The auxiliary loss a config describes (None if it has none).

    ``{"kind": "azimuthal", "weight": w, "rings": K or None, "head": {...}}``: a contrastive
    loss of the main loss's kind and temperature on the azimuthal amplitudes of the encoder
    (those of its innermost ``rings`` annuli), through a head of their own
    (:class:`~galexplore.models.auxiliary.SubsetContrast`).
    """
    if not cfg:
        return None
    if cfg.get("kind") != "azimuthal":
        raise ValueError(f"unknown auxiliary loss kind {cfg.get('kind')!r}")
    dims = encoder.fourier_feature_indices(cfg.get("rings"))
    loss = {"infonce": InfoNCELoss, "ntxent": NTXentLoss}[loss_kind](temperature)
    return SubsetContrast(build_head(cfg.get("head"), len(dims)), loss, dims, float(cfg["weight"]))


def build_reconstruction(cfg: Mapping[str, Any] | None, in_dim: int) -> nn.Module | None:
    """The reconstruction loss a config describes (None if it has none).

    ``{"kind": "profile", "weight": w, "rings": K, "head": {...}}``: the encoder features
    (``in_dim``) through ``head`` must predict the ring-mean profile of the normalised input
    (:class:`~galexplore.models.auxiliary.ProfileReconstruction`).
    """
    if not cfg:
        return None
    if cfg.get("kind") != "profile":
        raise ValueError(f"unknown reconstruction loss kind {cfg.get('kind')!r}")
    return ProfileReconstruction(build_head(cfg.get("head"), in_dim), int(cfg["rings"]), float(cfg["weight"]))


def build_model(config: Mapping[str, Any], normalisation: Mapping[str, Mapping[str, Any]]) -> nn.Module:
    """The model a config describes, with its input normalisation built from ``normalisation``.

    Parameters
    ----------
    config : mapping
        Model config (see the module docstring).
    normalisation : mapping modality → stats
        ``stats()`` of each modality's normaliser (:mod:`galexplore.models.preprocess`).
    """
    family = config["family"]
    mods = list(config["modalities"])
    loss_cfg = dict(config.get("loss", {}))
    parts = {}
    for m in mods:
        enc = build_encoder(config["encoders"][m])
        head = build_head(config.get("heads", {}).get(m), enc.out_dim)
        parts[m] = (enc, head, from_stats(normalisation[m]))
    if family == "clip":
        if len(mods) != 2:
            raise ValueError(f"a clip model needs two modalities, got {mods}")
        (ea, ha, pa), (eb, hb, pb) = parts[mods[0]], parts[mods[1]]
        return CLIPModel(
            ea,
            eb,
            heads=(ha, hb),
            preprocess=(pa, pb),
            modalities=(mods[0], mods[1]),
            logit_scale=float(loss_cfg.get("logit_scale", 15.5)),
            learnable_scale=bool(loss_cfg.get("learnable", False)),
        )
    if len(mods) != 1:
        raise ValueError(f"a {family} model takes one modality, got {mods}")
    (m,) = mods
    enc, head, pre = parts[m]
    embed_from = config.get("embed_from", "features")
    if family == "moco":
        out_dim = getattr(head, "out_dim", None) or enc.out_dim
        loss = MoCoLoss(
            out_dim, int(loss_cfg.get("queue_size", 1024)), float(loss_cfg.get("temperature", 0.2))
        )
        return MoCoModel(
            enc,
            head,
            loss,
            preprocess=pre,
            momentum=float(loss_cfg.get("momentum", 0.99)),
            modality=m,
            embed_from=embed_from,
        )
    if family == "contrastive":
        kind = loss_cfg.get("kind", "infonce")
        t = float(loss_cfg.get("temperature", 0.5))
        loss = {"infonce": InfoNCELoss, "ntxent": NTXentLoss}[kind](t)
        aux = build_auxiliary(config.get("auxiliary"), enc, kind, t)
        rec = build_reconstruction(config.get("reconstruction"), enc.out_dim)
        return ContrastiveModel(
            enc,
            head,
            loss,
            preprocess=pre,
            modality=m,
            embed_from=embed_from,
            auxiliary=aux,
            reconstruction=rec,
        )
    raise ValueError(f"unknown model family {family!r} (expected one of {FAMILIES})")


def default_config(
    choice: str,
    specs: Mapping[str, Mapping[str, Any]],
    *,
    width: int | None = None,
    depth: int | None = None,
    head: str | None = None,
    azimuthal_orders: Sequence[int] | None = None,
    azimuthal_loss: float | None = None,
    azimuthal_loss_rings: int | None = None,
    profile_loss: float | None = None,
) -> dict[str, Any]:
    """The default model config for a ``--modality`` choice on a survey.

    Parameters
    ----------
    choice : {"maps", "images", "maps+images", "images+spectra"}
    specs : mapping modality → ``ModalitySpec.to_json()``
        The layout of the survey's modalities (channels, shape, units).
    width, depth : int, optional
        Override the convolutional encoders' width and number of stages.
    head : {"mlp", "none"}, optional
        Projection head of a single-modality run (see :data:`HEADS`; default ``"mlp"``).
        Ignored by the cross-modal choices, which always project into a shared space.
    azimuthal_orders : sequence of int, optional
        Azimuthal Fourier orders the maps encoder pools (default :data:`AZIMUTHAL_ORDERS`;
        empty: ring means only, the encoder of earlier versions).
    azimuthal_loss : float, optional
        Weight of an auxiliary contrastive loss on the maps encoder's azimuthal amplitudes
        alone, through a head of their own (default :data:`AZIMUTHAL_LOSS_WEIGHT`; 0: none).
        Only for a maps run with the ``"mlp"`` head and azimuthal amplitudes.
    azimuthal_loss_rings : int, optional
        The auxiliary loss sees the amplitudes of the innermost this many annuli only
        (default :data:`AZIMUTHAL_LOSS_RINGS`; None: all of them).
    profile_loss : float, optional
        Weight of the profile reconstruction loss of a maps run (default
        :data:`PROFILE_LOSS_WEIGHT`; 0: none). Only for the ``"maps"`` choice.
    """
    if choice not in MODALITY_CHOICES:
        raise ValueError(f"unknown modality {choice!r}; choose one of {sorted(MODALITY_CHOICES)}")
    if head is not None and head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    mods = MODALITY_CHOICES[choice]
    encoders, heads, augment, inputs = {}, {}, {}, {}
    for m in mods:
        spec = specs[m]
        inputs[m] = _input_cfg(m, spec)
        if m == "spectra":
            encoders[m] = {"kind": "spectrum", "in_channels": 2, "width": 16, "depth": 6, "kernel": 7}
            augment[m] = {"kind": "spectra", "max_calib_mag": 0.1, "max_noise": 0.05}
            continue
        c = len(spec["channels"])
        h = int(spec["shape"][-1])
        if m == "images":
            encoders[m], augment[m], inputs[m]["pool"] = _images(spec, width, depth)
            continue
        # 64×64 maps are oversampled (PSF FWHM ≈ 3 pixels): pool 2×2 on reading, which makes
        # augmentation and the encoder 4× cheaper for little loss. (Full-resolution maps through a
        # stride-2 stem cost the network the same and scored a little better, but their
        # augmentation costs as much as the optimizer step on a CPU; docs/training.md.)
        pool = 2 if h >= 64 and h % 2 == 0 else 1
        inputs[m]["pool"] = pool
        encoders[m] = {
            "kind": "conv",
            "in_channels": c,
            "width": width or 16,
            "depth": depth or 3,
            "blocks": 1,
            "stem_stride": 1,
        }
        px = 1.0 / pool  # augmentation sizes below are in native (64-grid) pixels
        if m == "maps":
            # A radius channel and pooling over rings about the centre keep the radial structure
            # (gradients, bulge, quenching radius) that a plain global mean washes out. Two
            # stages leave an 8×8 feature map (of 32×32 inputs) for five rings 0.625 Rₑ apart;
            # three stages (4×4) with three rings scored 0.1 lower on the gradients and the bulge
            # fraction (docs/training.md).
            encoders[m].update(depth=depth or 2, radius_channel=True, pool="rings", n_rings=5)
            encoders[m].update(
                _azimuthal(AZIMUTHAL_ORDERS if azimuthal_orders is None else azimuthal_orders, width or 16)
            )
            units = list(spec.get("units", [""] * c))
            augment[m] = {
                "kind": "maps",
                "log_channels": [is_log_channel(n, u) for n, u in zip(spec["channels"], units, strict=True)],
                # Light blur and no block-averaging by default: a bar is 1–3 pixels wide here, and
                # views that wipe it out teach the encoder to ignore it (has_bar 0.767 → 0.781
                # over 3 seeds; docs/training.md). Both stay available for degraded data.
                "max_shift": 0.08,
                "p_block": 0.0,
                "block_choices": [2],
                "max_blur_px": 1.0 * px,
                "sn_range": [1.0, 10.0],
                "p_noise": 0.5,
                "max_stars": 2,
                "p_star": 0.25,
                "star_radius_px": [2.0 * px, 5.0 * px],
                "p_aperture": 0.8,
                "aperture_range": [0.6, 0.95],
                "binning": pool,
            }
    if len(mods) == 2:
        for m in mods:
            heads[m] = {"kind": "mlp", "out_dim": 128, "hidden": 256, "n_layers": 2}
        loss = {"kind": "clip", "logit_scale": 15.5, "learnable": False}
        family, embed_from = "clip", "projection"
    else:
        (m,) = mods
        # SimCLR's head for images (512 hidden, 128 out; MoCo's query head too); the maps encoder's is smaller
        heads[m], embed_from = _single_head(
            encoders[m], head or "mlp", **({"hidden": 512, "out_dim": 128} if m == "images" else {})
        )
        # InfoNCE without the positive in the denominator (eCALIFA) for maps, NT-Xent (SimCLR)
        # for images. eCALIFA's τ = 0.5 (``--temperature 0.5``) gave lower k-NN scores here
        # than τ = 0.2 (docs/training.md). Training turns an images model into MoCo v2 by
        # default (galexplore.training.config.MODALITY_DEFAULTS; ``--loss ntxent``: this one).
        loss = {"kind": "infonce" if m == "maps" else "ntxent", "temperature": 0.2}
        family = "contrastive"
        aux = _auxiliary(
            encoders[m],
            heads[m],
            azimuthal_loss,
            AZIMUTHAL_LOSS_RINGS if azimuthal_loss_rings is None else azimuthal_loss_rings,
        )
    rec = _reconstruction(mods, encoders, profile_loss)
    out = {
        "family": family,
        "modality": choice,
        "modalities": list(mods),
        "encoders": encoders,
        "heads": heads,
        "loss": loss,
        "embed_from": embed_from,
        "augment": augment,
        "inputs": inputs,
    }
    if len(mods) == 1 and aux:
        out["auxiliary"] = aux
    if rec:
        out["reconstruction"] = rec
    return out


def _reconstruction(
    mods: Sequence[str], encoders: Mapping[str, Mapping[str, Any]], weight: float | None
) -> dict[str, Any]:
    """The config of the profile reconstruction loss ({} when off).

    On by default (:data:`PROFILE_LOSS_WEIGHT`) for a maps run; an explicit weight > 0 for
    any other choice is an error.
    """
    applicable = tuple(mods) == ("maps",)
    if weight is None:
        weight = PROFILE_LOSS_WEIGHT if applicable else 0.0
    if weight <= 0:
        return {}
    if not applicable:
        raise ValueError(f"the profile loss applies to maps runs only, not {'+'.join(mods)}")
    n_out = int(encoders["maps"]["in_channels"]) * PROFILE_LOSS_RINGS
    return {
        "kind": "profile",
        "weight": float(weight),
        "rings": PROFILE_LOSS_RINGS,
        "head": {"kind": "mlp", "out_dim": n_out, "n_layers": 1},
    }


def _auxiliary(
    encoder: Mapping[str, Any], head: Mapping[str, Any], weight: float | None, rings: int | None
) -> dict[str, Any]:
    """The config of the auxiliary loss on the azimuthal amplitudes ({} when off).

    The default weight applies to maps encoders with azimuthal amplitudes and the ``"mlp"``
    head only; an explicit weight > 0 for any other encoder is an error.
    """
    applicable = (
        bool(encoder.get("fourier_orders")) and encoder.get("out_dim") is None and head.get("kind") == "mlp"
    )
    if weight is None:
        weight = AZIMUTHAL_LOSS_WEIGHT if applicable else 0.0
    if weight <= 0:
        return {}
    if not applicable:
        raise ValueError(
            "the azimuthal loss needs a maps encoder with azimuthal amplitudes and the 'mlp' head"
        )
    return {
        "kind": "azimuthal",
        "weight": float(weight),
        "rings": rings,
        "head": {"kind": "mlp", "out_dim": 32, "hidden": 128, "n_layers": 2},
    }


__all__ = [
    "AZIMUTHAL_LOSS_RINGS",
    "AZIMUTHAL_LOSS_WEIGHT",
    "AZIMUTHAL_ORDERS",
    "PROFILE_LOSS_RINGS",
    "PROFILE_LOSS_WEIGHT",
    "IMAGE_ENCODER",
    "IMAGE_INPUT",
    "IMAGE_VIEWS",
    "image_pooling",
    "build_auxiliary",
    "build_reconstruction",
    "FAMILIES",
    "HEADS",
    "MODALITY_CHOICES",
    "build_augment",
    "build_encoder",
    "build_head",
    "build_model",
    "default_config",
]
