"""Batched, on-device augmentations: every sample draws its own parameters, no Python loops.

Each augmenter is an ``nn.Module`` taking a batch in physical units (NaN where there is no
data) and an optional ``torch.Generator`` for reproducibility, and returning a new batch.
"""

from galexplore.models.augment.images import (
    EXTINCTION_COEFFICIENTS,
    ImageAugment,
    extinction_coefficients,
    is_display_image,
)
from galexplore.models.augment.maps import MapAugment, is_log_channel
from galexplore.models.augment.spectra import SpectrumAugment

__all__ = [
    "EXTINCTION_COEFFICIENTS",
    "ImageAugment",
    "MapAugment",
    "SpectrumAugment",
    "extinction_coefficients",
    "is_display_image",
    "is_log_channel",
]
