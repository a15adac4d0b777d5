"""Reading a weights file and loading it into a model, with errors that name the file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from galexplore.errors import GalexploreError

#: Weight file names looked for in a weights folder, in order.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.pth", "checkpoint.pt")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a torch file (``torch.load(weights_only=True)``;
    a ``{"state_dict": …}`` or ``{"model": …}`` wrapper and ``module.`` prefixes are undone)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt files raise many types
        raise GalexploreError(
            f"{path}: not a readable weights file ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
        ) from exc
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GalexploreError(f"{path}: not a state dict of tensors")
    return {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}


def load_checked(
    model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, *, ignore: Iterable[str] = ()
) -> None:
    """Load ``state`` into ``model``: every parameter and buffer of the model must be in it with
    its shape, or tied to one that is (safetensors stores a shared tensor once); extra keys are
    allowed only under the ``ignore`` prefixes (e.g. a classifier)."""
    ignore = tuple(f"{p}." for p in ignore)
    own = model.state_dict()
    tied: dict[int, list[str]] = {}
    for k, v in own.items():
        tied.setdefault(v.data_ptr(), []).append(k)
    extra = [k for k in state if k not in own and not k.startswith(ignore)]
    missing = [
        k for k, v in own.items() if k not in state and not any(t in state for t in tied[v.data_ptr()])
    ]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    what = type(model).__name__
    if missing:
        raise GalexploreError(
            f"{path}: weights do not fit {what}: no {missing[0]!r}"
            + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    if wrong:
        k = wrong[0]
        raise GalexploreError(
            f"{path}: weights do not fit {what}: {k!r} is {tuple(state[k].shape)}, the model's {tuple(own[k].shape)}"
        )
    if extra:
        raise GalexploreError(
            f"{path}: weights do not fit {what}: unexpected {extra[0]!r}"
            + (f" (+{len(extra) - 1} more)" if len(extra) > 1 else "")
        )
    model.load_state_dict(
        {k: v for k, v in state.items() if k in own}, strict=False
    )  # complete but for tied keys


__all__ = ["WEIGHT_FILES", "load_checked", "read_state_dict"]
