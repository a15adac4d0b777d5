"""Tiny, fast training configs shared by the training tests."""

from __future__ import annotations

import pytest

from galexplore.training import TrainConfig


def tiny(**kw) -> TrainConfig:
    """A training config small enough for the test suite (seconds on a CPU)."""
    base = dict(epochs=2, batch_size=32, width=4, depth=2, device="cpu", val_fraction=0.2, threads=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def tiny_config():
    return tiny
