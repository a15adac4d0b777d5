"""Training contrastive encoders: one loop for maps, images and cross-modal pairs.

>>> from galexplore.training import TrainConfig, train
>>> result = train("survey/", "run/", TrainConfig(modality="maps", epochs=12))   # doctest: +SKIP
"""

from galexplore.training.checkpoint import load_checkpoint
from galexplore.training.config import TrainConfig
from galexplore.training.loop import TrainResult, train
from galexplore.training.setup import resolve_device

__all__ = ["TrainConfig", "TrainResult", "load_checkpoint", "resolve_device", "train"]
