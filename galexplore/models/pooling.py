"""Rotation-invariant pooling over annuli about the galaxy centre.

The grids and weights :class:`~galexplore.models.encoders.ConvEncoder` pools with: the radius
of every pixel (:func:`radius_grid`), soft annuli for ring means (:func:`ring_weights`), and
azimuthal Fourier amplitudes per annulus (:func:`azimuthal_bases`, :func:`azimuthal_amplitudes`),
taken from the network's features or from the input with its azimuthal mean removed
(:func:`azimuthal_residual`).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def radius_grid(
    h: int, w: int, *, device: torch.device | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Distance of every pixel centre from the centre of an H×W grid, (H, W), in half-widths.

    1 is the middle of an edge of a square grid (for maps over ±2.5 Rₑ, r = 1 is 2.5 Rₑ).
    """
    yy = torch.arange(h, device=device, dtype=dtype)[:, None] - (h - 1) / 2
    xx = torch.arange(w, device=device, dtype=dtype)[None, :] - (w - 1) / 2
    return torch.sqrt(yy * yy + xx * xx) / (min(h, w) / 2)


def ring_weights(r: torch.Tensor, n_rings: int) -> torch.Tensor:
    """Soft annuli over a radius grid (H, W) → (n_rings, H, W), each summing to 1.

    Triangular weights about ``n_rings`` centres evenly spaced over r ∈ [0, 1] (the corners
    beyond r = 1 belong to the outer ring), so ring means vary smoothly with the radius.
    """
    centres = torch.linspace(0.0, 1.0, n_rings, device=r.device, dtype=r.dtype)
    step = 1.0 / max(n_rings - 1, 1)
    w = (1 - (r.clamp(max=1.0)[None] - centres[:, None, None]).abs() / step).clamp_min(0)
    return w / w.sum(dim=(1, 2), keepdim=True).clamp_min(1e-6)


def azimuthal_bases(
    h: int,
    w: int,
    orders: tuple[int, ...],
    n_rings: int,
    max_radius: float = 1.0,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Ring-weighted azimuthal Fourier bases over an H×W grid, (2, n_rings, M, H, W).

    ``[0]`` holds w_k(r)·cos(mθ) and ``[1]`` w_k(r)·sin(mθ) for the ``M = len(orders)`` orders
    m, about ``n_rings`` triangular annuli centred at r = (k + 1)·``max_radius``/``n_rings``
    (half-widths, see :func:`radius_grid`; none at r = 0, where a grid of a few pixels has no
    usable azimuth; pixels beyond the last centre by more than a ring step get no weight), each
    summing to 1. The ring mean of each basis is subtracted, so a feature that is constant
    around a ring has amplitude 0 at every order, also m = 4 on a square grid.
    """
    yy = torch.arange(h, device=device, dtype=dtype)[:, None] - (h - 1) / 2
    xx = torch.arange(w, device=device, dtype=dtype)[None, :] - (w - 1) / 2
    r = torch.sqrt(yy * yy + xx * xx) / (min(h, w) / 2)
    theta = torch.atan2(yy, xx)
    step = max_radius / n_rings
    centres = step * torch.arange(1, n_rings + 1, device=device, dtype=dtype)
    wk = (1 - (r[None] - centres[:, None, None]).abs() / step).clamp_min(0)
    wk = wk / wk.sum(dim=(1, 2), keepdim=True).clamp_min(1e-6)  # (K, H, W)
    m = torch.as_tensor(orders, device=device, dtype=dtype)[:, None, None]
    trig = torch.stack([torch.cos(m * theta), torch.sin(m * theta)])  # (2, M, H, W)
    bases = wk[None, :, None] * trig[:, None]  # (2, K, M, H, W)
    ring_mean = (wk[None, :, None] * trig[:, None]).sum(dim=(-2, -1), keepdim=True)  # (2, K, M, 1, 1)
    return bases - wk[None, :, None] * ring_mean


def azimuthal_amplitudes(x: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
    """Rotation-invariant azimuthal Fourier amplitudes of feature maps, (B, C, K, M).

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W)
        Feature maps centred on the galaxy.
    bases : Tensor, shape (2, K, M, H, W)
        From :func:`azimuthal_bases`.

    Returns
    -------
    Tensor, shape (B, C, K, M)
        |Σ w_k(r)·x·e^{imθ}| per channel, ring and order: the strength of an m-fold pattern
        (m = 2: a bar or two arms) in each annulus, whatever its orientation (exactly invariant
        under 90° rotations of the grid, approximately under any rotation).
    """
    re = torch.einsum("bchw,kmhw->bckm", x, bases[0])
    im = torch.einsum("bchw,kmhw->bckm", x, bases[1])
    return torch.sqrt(re * re + im * im + 1e-8)


def azimuthal_residual(x: torch.Tensor, mask: torch.Tensor, n_rings: int) -> torch.Tensor:
    """Subtract from every pixel the masked mean of its thin annulus: what is not axisymmetric.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W)
        Values, finite (0 where ``mask`` is 0).
    mask : Tensor, shape (B, 1, H, W)
        Validity in [0, 1].
    n_rings : int
        Hard annuli of equal width over r ∈ [0, 1] half-widths (:func:`radius_grid`; the
        corners beyond r = 1 join the outer one).

    Returns
    -------
    Tensor, shape (B, C, H, W)
        ``(x − ⟨x⟩_ring) · mask``: zero for a map that is constant around every annulus
        (whatever its radial profile and level), so bars, arms, inclined discs and clumps are
        all that is left.
    """
    r = radius_grid(*x.shape[-2:], device=x.device, dtype=x.dtype)
    idx = (r.clamp(max=1.0) * n_rings).long().clamp(max=n_rings - 1)
    onehot = F.one_hot(idx, n_rings).to(x.dtype)  # (H, W, K)
    num = torch.einsum("bchw,hwk->bck", x * mask, onehot)
    den = torch.einsum("bhw,hwk->bk", mask[:, 0], onehot).clamp_min(1e-6)
    mean = torch.einsum("bck,hwk->bchw", num / den[:, None], onehot)
    return (x - mean) * mask


__all__ = ["azimuthal_amplitudes", "azimuthal_bases", "azimuthal_residual", "radius_grid", "ring_weights"]
