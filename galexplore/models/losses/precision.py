"""Losses in full precision inside a mixed-precision training step."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable[..., torch.Tensor])


def float32_loss(forward: F) -> F:
    """Run a loss's ``forward`` with autocast off and its tensor arguments in float32.

    Under ``torch.autocast`` (float16 on CUDA, bfloat16 on CPUs with native support) a
    similarity matrix ``z @ z.T`` would be computed in half precision even from float32
    inputs; its logits divided by a temperature of 0.1–0.2 would then carry errors of a few
    per cent. The encoders run in half precision, the loss in float32.
    """

    @functools.wraps(forward)
    def wrapped(self, *args, **kwargs):
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        device = tensors[0].device.type if tensors else "cpu"
        args = tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)
        with torch.autocast(device_type=device, enabled=False):
            return forward(self, *args, **kwargs)

    return wrapped  # type: ignore[return-value]


__all__ = ["float32_loss"]
