"""The one small interface every pretrained encoder adapter implements, and the name registry.

An adapter turns one survey modality into vectors: :meth:`PretrainedEncoder.check` says whether
the survey's modality fits, :meth:`~PretrainedEncoder.load` builds the model and loads its
weights, :meth:`~PretrainedEncoder.embed` applies the model's own preprocessing to a batch of
the survey's raw arrays and returns (B, D) vectors. Names are ``family:variant``:
``timm:resnet50``, ``zoobot:convnext_nano``, ``astropt:095M``, ``aion:base``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from galexplore.data.store import ModalitySpec
from galexplore.errors import GalexploreError

#: family → adapter class, filled by :func:`register`.
ADAPTERS: dict[str, type[PretrainedEncoder]] = {}


class PretrainedEncoder(ABC):
    """One pretrained model behind the common interface (see module doc).

    Parameters
    ----------
    variant : str
        The part of the name after ``family:`` (an architecture or a size).
    """

    family: ClassVar[str]
    #: The survey modality it reads.
    modality: ClassVar[str] = "images"
    #: Python packages whose versions are recorded as provenance.
    packages: ClassVar[tuple[str, ...]] = ()

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.weights_file: Path | None = None
        self.device = torch.device("cpu")

    @property
    def name(self) -> str:
        return f"{self.family}:{self.variant}"

    @abstractmethod
    def check(self, spec: ModalitySpec) -> None:
        """Raise :class:`GalexploreError` if the survey's modality cannot feed this model."""

    @abstractmethod
    def load(self, weights: str | os.PathLike | None, device: torch.device) -> None:
        """Build the model in eval mode on ``device`` with weights from ``weights`` (a file or
        folder) or the hub cache; sets :attr:`weights_file`."""

    @abstractmethod
    def embed(self, batch: np.ndarray, spec: ModalitySpec) -> np.ndarray:
        """Raw survey arrays (B, …) of the modality → vectors (B, D) float32."""

    def preprocessing(self) -> dict[str, Any]:
        """What :meth:`embed` does to the input, recorded as provenance."""
        return {}


def register(cls: type[PretrainedEncoder]) -> type[PretrainedEncoder]:
    ADAPTERS[cls.family] = cls
    return cls


def require(package: str, extra: str = "pretrained") -> None:
    """A clear one-line error when an optional package is missing."""
    import importlib.util

    if importlib.util.find_spec(package) is None:
        raise GalexploreError(
            f'the Python package {package!r} is not installed: pip install "galexplore[{extra}]"'
        )


__all__ = ["ADAPTERS", "PretrainedEncoder", "register", "require"]
