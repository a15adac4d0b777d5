"""Training options: one plain dataclass, stored with the checkpoint as a dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from galexplore.models.factory import HEADS, MODALITY_CHOICES

DEVICES = ("auto", "cpu", "cuda")
#: ``precision`` choices: ``auto`` is float16 mixed precision on CUDA and bfloat16 mixed
#: precision on CPUs with native bfloat16 (AVX512-BF16 or AMX), float32 elsewhere.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


#: Training defaults that depend on ``--modality`` (fields left None in :class:`TrainConfig`).
#: The images defaults were screened on real SDSS images (docs/training.md): 20 epochs reach the
#: plateau of longer runs, and MoCo v2 (as in Hayat et al. 2021 and Stein et al. 2022) scored
#: above SimCLR on 3 seeds at about half the cost of an epoch (one view per galaxy is back-propagated).
MODALITY_DEFAULTS: dict[str, dict[str, Any]] = {
    "maps": {"epochs": 12, "batch_size": 64, "lr": 3e-3},
    "images": {"epochs": 20, "batch_size": 256, "lr": 2e-3, "loss": "moco"},
}
#: Defaults of the cross-modal choices and of anything not listed above.
GENERIC_DEFAULTS: dict[str, Any] = {"epochs": 12, "batch_size": 64, "lr": 3e-3}


def modality_defaults(modality: str) -> dict[str, Any]:
    """``epochs``, ``batch_size`` and ``lr`` of a ``--modality`` choice when not given."""
    return dict(MODALITY_DEFAULTS.get(modality, GENERIC_DEFAULTS))


@dataclass
class TrainConfig:
    """How to train an encoder.

    Parameters
    ----------
    modality : {"maps", "images", "maps+images", "images+spectra"}
        What to train on: one modality (SimCLR/eCALIFA style) or two aligned with CLIP.
    epochs : int or None
        Passes over the training galaxies (None: the modality's default,
        :data:`MODALITY_DEFAULTS`). For maps, 12 train the 2,000-galaxy synthetic survey in
        about 2–4 minutes on a 2-core CPU; longer runs improve the structural features further.
        For images, 20 train 10⁴ 64-pixel images in about 10 minutes on 2 cores with bfloat16.
    minutes : float or None
        A time budget instead of ``epochs``: a short timed probe of the training step on this
        machine sets the number of epochs that fits in this many minutes (at least one), and
        the learning-rate schedule follows it (:mod:`galexplore.training.budget`). The epochs
        chosen replace ``epochs`` in the stored config.
    batch_size : int or None
        Galaxies per step (each contrastive step sees two views of each); None: the
        modality's default (64; 256 for images).
    lr : float or None
        Peak learning rate (None: the modality's default, 3·10⁻³; 2·10⁻³ for images).
    weight_decay : float
        AdamW; the learning rate warms up linearly over ``warmup_epochs`` and then follows a
        cosine to zero at ``epochs``.
    val_fraction : float
        Galaxies held out for the validation loss (0 disables it).
    patience : int or None
        Stop early when the validation loss has not improved by ``min_delta`` for this many
        epochs (None: never).
    seed : int
        Seeds weights, data order, the split and the augmentations.
    device : {"auto", "cpu", "cuda"}
        ``auto`` picks CUDA when available. On CUDA training uses mixed precision,
        channels-last tensors and pinned-memory loading.
    width, depth : int or None
        Override the convolutional encoders' width / number of stages.
    loss, temperature : str or None, float or None
        The loss (``infonce``, ``ntxent``, ``moco``) and its temperature for single-modality
        runs. None: the modality's default, MoCo v2 for images (``moco``: a momentum-averaged
        key encoder and a queue of 1,024 negatives, τ = 0.2, momentum 0.99), InfoNCE for maps;
        ``ntxent`` is SimCLR's.
    head : {"mlp", "none"} or None
        Projection head of single-modality runs (None: ``"mlp"``). ``"mlp"`` (SimCLR): a
        2-layer MLP maps the encoder features to the 64-d space of the loss and the features
        before it are the embedding. ``"none"`` (eCALIFA): the encoder ends in a 64-d linear
        layer whose output feeds the loss and is used directly as the embedding.
    azimuthal_orders : list of int or None
        Azimuthal Fourier orders whose amplitudes the maps encoder pools per annulus (bars,
        spiral arms); None: the default (:data:`~galexplore.models.factory.AZIMUTHAL_ORDERS`),
        ``[]``: ring means only.
    azimuthal_loss : float or None
        Weight of an auxiliary contrastive loss on the maps encoder's azimuthal amplitudes
        alone, through their own head, added to the main loss (None: the default,
        :data:`~galexplore.models.factory.AZIMUTHAL_LOSS_WEIGHT`; 0: none).
    azimuthal_loss_rings : int or None
        That loss sees the amplitudes of the innermost this many annuli only (None: the
        default, :data:`~galexplore.models.factory.AZIMUTHAL_LOSS_RINGS`).
    profile_loss : float or None
        Weight of the profile reconstruction loss of maps runs: the encoder features must
        predict each view's radial profile through a linear layer (None: the default,
        :data:`~galexplore.models.factory.PROFILE_LOSS_WEIGHT`; 0: none).
    threads : int or None
        CPU threads for torch (None: torch's default).
    prefetch : bool
        Read and augment the next batch in a background thread while the model steps.
    precision : {"auto", "fp32", "bf16", "fp16"}
        Arithmetic of the forward and backward passes (the weights, the optimizer and the
        losses stay float32). ``auto``: float16 mixed precision with a gradient scaler on CUDA;
        on a CPU, bfloat16 mixed precision where the CPU computes bfloat16 natively (AVX512-BF16
        or AMX, 2–6× faster than float32 there), float32 otherwise. ``fp16`` needs CUDA.
    """

    modality: str = "maps"
    epochs: int | None = None
    minutes: float | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    val_fraction: float = 0.1
    patience: int | None = None
    min_delta: float = 0.0
    seed: int = 0
    device: str = "auto"
    width: int | None = None
    depth: int | None = None
    loss: str | None = None
    temperature: float | None = None
    head: str | None = None
    azimuthal_orders: list[int] | None = None
    azimuthal_loss: float | None = None
    azimuthal_loss_rings: int | None = None
    profile_loss: float | None = None
    threads: int | None = None
    max_cache_bytes: int = 4 * 1024**3
    prefetch: bool = True
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.modality not in MODALITY_CHOICES:
            raise ValueError(f"modality must be one of {sorted(MODALITY_CHOICES)}, got {self.modality!r}")
        for key, value in modality_defaults(self.modality).items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.epochs < 1 or self.batch_size < 2 or not self.lr > 0:
            raise ValueError("epochs must be ≥ 1, batch_size ≥ 2 and lr > 0")
        if self.minutes is not None and not self.minutes > 0:
            raise ValueError(f"minutes must be > 0, got {self.minutes}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.loss not in (None, "infonce", "ntxent", "moco"):
            raise ValueError(f"loss must be infonce, ntxent or moco, got {self.loss!r}")
        if self.azimuthal_orders is not None and any(int(m) < 1 for m in self.azimuthal_orders):
            raise ValueError(f"azimuthal_orders must be ≥ 1, got {self.azimuthal_orders}")
        if self.azimuthal_loss is not None and self.azimuthal_loss < 0:
            raise ValueError(f"azimuthal_loss must be ≥ 0, got {self.azimuthal_loss}")
        if self.azimuthal_loss_rings is not None and self.azimuthal_loss_rings < 1:
            raise ValueError(f"azimuthal_loss_rings must be ≥ 1, got {self.azimuthal_loss_rings}")
        if self.profile_loss is not None and self.profile_loss < 0:
            raise ValueError(f"profile_loss must be ≥ 0, got {self.profile_loss}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.head is not None and self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        if d.get("modality") == "images" and d.get("loss") is None:
            # stored before MoCo v2 became the images default, when no loss meant SimCLR's
            d["loss"] = "ntxent"
        return cls(**d)


__all__ = [
    "DEVICES",
    "GENERIC_DEFAULTS",
    "MODALITY_DEFAULTS",
    "PRECISIONS",
    "TrainConfig",
    "modality_defaults",
]
