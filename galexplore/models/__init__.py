"""Encoders, projection heads, contrastive losses, augmentations and the models built from them.

>>> from galexplore.models import ConvEncoder, ContrastiveModel, InfoNCELoss, IdentityHead
>>> model = ContrastiveModel(ConvEncoder(5, out_dim=64), IdentityHead(64), InfoNCELoss(0.5))
"""

from galexplore.models.contrastive import CLIPModel, ContrastiveModel, MoCoModel, Tower
from galexplore.models.encoders import ConvEncoder, masked_input
from galexplore.models.factory import (
    MODALITY_CHOICES,
    build_augment,
    build_model,
    default_config,
)
from galexplore.models.heads import IdentityHead, ProjectionHead
from galexplore.models.losses import CLIPLoss, InfoNCELoss, MoCoLoss, NTXentLoss
from galexplore.models.preprocess import SpectrumNorm, Standardize
from galexplore.models.spectrum import SpectrumEncoder

__all__ = [
    "CLIPLoss",
    "CLIPModel",
    "ContrastiveModel",
    "ConvEncoder",
    "IdentityHead",
    "InfoNCELoss",
    "MODALITY_CHOICES",
    "MoCoLoss",
    "MoCoModel",
    "NTXentLoss",
    "ProjectionHead",
    "SpectrumEncoder",
    "SpectrumNorm",
    "Standardize",
    "Tower",
    "build_augment",
    "build_model",
    "default_config",
    "masked_input",
]
