"""Make ``import torchvision`` (and so ``import timm``) work beside a torch build it was not made for.

timm imports torchvision at import time (``torchvision.ops.misc.FrozenBatchNorm2d``,
``torchvision.transforms``). PyPI's torchvision wheel for x86-64 Linux is built against the CUDA
torch; beside the CPU build of the same torch release (``torch==2.13.0+cpu``, the CPU wheel this
project pins), its compiled ops (``torchvision._C``) cannot load (``libc10_cuda.so`` is missing).
torchvision tolerates that for every op but two: it registers fake kernels for
``torchvision::nms`` and ``torchvision::qnms`` unconditionally, and that registration fails with
``RuntimeError: operator torchvision::nms does not exist`` (pytorch/vision#9337; the fix,
pytorch/vision#9649, guards it with ``_has_ops()`` as the other ops already are).

:func:`import_torchvision` does what that fix does from the outside: if the import fails that
way, it declares the two operators' schemas (without kernels) and imports again. Everything
pure-Python in torchvision then works (what timm uses); calling ``nms`` itself would raise
"no kernel", which no encoder here does. Where torchvision's ops load, nothing is changed.
"""

from __future__ import annotations

import sys
import warnings

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY = None  # the torch.library.Library that holds the declared schemas; must stay alive
MISSING_OPS_ERROR = "operator torchvision::nms does not exist"


def import_torchvision():
    """Import torchvision, declaring ``nms``/``qnms`` first if its compiled ops cannot load."""
    global _LIBRARY
    try:
        import torchvision
    except RuntimeError as exc:
        if MISSING_OPS_ERROR not in str(exc):
            raise
    else:
        return torchvision
    import torch

    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the half-imported package
    if _LIBRARY is None:
        _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
        for schema in _SCHEMAS.values():
            _LIBRARY.define(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Failed to load image Python extension": the same cause
        import torchvision
    return torchvision


def import_timm():
    """``import timm`` (see the module doc)."""
    import_torchvision()
    import timm

    return timm


__all__ = ["import_timm", "import_torchvision"]
