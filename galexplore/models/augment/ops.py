"""Batched tensor operations behind the augmentations.

Every function acts on a whole batch at once with per-sample random parameters, on whatever
device the batch lives on; none loops over samples in Python. Missing data travels as NaN:
geometric operations and blurs use normalised convolution (the data weighted by its validity
mask, divided by the blurred mask), so a pixel next to a hole is never polluted by a fill
value, and a pixel is valid afterwards where more than half of its weight came from data.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

#: A resampled pixel is kept when at least this fraction of its weight came from valid data.
VALID_FRACTION = 0.5


def split_valid(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) with NaN → zero-filled values and the (B, 1, H, W) validity mask."""
    mask = torch.isfinite(x).all(dim=1, keepdim=True).to(x.dtype)
    return torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) * mask, mask


def join_valid(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`split_valid` after resampling: divide by the weight, NaN where it is low."""
    out = values / weight.clamp_min(1e-6)
    return out.masked_fill(weight < VALID_FRACTION, float("nan"))


def affine_matrices(
    n: int,
    *,
    generator: torch.Generator | None,
    device: torch.device,
    rotate: bool = True,
    flip: bool = True,
    max_shift: float = 0.0,
    scale_range: tuple[float, float] = (1.0, 1.0),
) -> torch.Tensor:
    """Random output→input affine matrices (n, 2, 3) in ``affine_grid``'s normalised coordinates.

    ``rotate`` draws an angle in [0, 2π); ``flip`` mirrors half of the samples; ``max_shift``
    is the largest translation as a fraction of the half-width; ``scale_range`` zooms
    (values < 1 zoom in, i.e. crop).
    """
    kw = {"generator": generator, "device": device}
    angle = torch.rand(n, **kw) * (2 * math.pi) if rotate else torch.zeros(n, device=device)
    sign = torch.where(torch.rand(n, **kw) < 0.5, -1.0, 1.0) if flip else torch.ones(n, device=device)
    lo, hi = scale_range
    scale = lo + (hi - lo) * torch.rand(n, **kw)
    shift = (2 * torch.rand(n, 2, **kw) - 1) * max_shift
    c, s = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([c * sign, -s, shift[:, 0]], dim=1), torch.stack([s * sign, c, shift[:, 1]], dim=1)],
        dim=1,
    )
    return theta


def to_weighted(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) with NaN → (B, C + 1, H, W): values × validity, then the validity weight.

    Linear operations (resampling, blurring, block averaging) act on this stack as a whole;
    :func:`from_weighted` divides by the weight once at the end (normalised convolution).
    """
    values, mask = split_valid(x)
    return torch.cat([values, mask], dim=1)


def from_weighted(t: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`to_weighted`: NaN where less than half the weight came from data."""
    return join_valid(t[:, :-1], t[:, -1:])


def warp_weighted(t: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample a weighted stack (see :func:`to_weighted`) through affine matrices (B, 2, 3)."""
    grid = F.affine_grid(theta.to(t.dtype), list(t.shape), align_corners=False)
    return F.grid_sample(t, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def warp(x: torch.Tensor, theta: torch.Tensor, *, outside: float | None = None) -> torch.Tensor:
    """Resample (B, C, H, W) with NaN through affine matrices (B, 2, 3); NaN outside the data.

    With ``outside`` a number, pixels that fall outside the input frame take that value (sky
    beyond a cutout's edge, for example) while NaN inside the frame stays NaN.
    """
    if outside is None:
        return from_weighted(warp_weighted(to_weighted(x), theta))
    t = warp_weighted(torch.cat([to_weighted(x), torch.ones_like(x[:, :1])], dim=1), theta)
    return from_weighted(t[:, :-1]).masked_fill(t[:, -1:] < VALID_FRACTION, float(outside))


def gaussian_kernels(sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Normalised 1-D Gaussian kernels (B, 2·radius + 1) for per-sample σ (B,) in pixels.

    σ = 0 gives the identity kernel.
    """
    x = torch.arange(-radius, radius + 1, device=sigma.device, dtype=sigma.dtype)
    s = sigma.clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (x[None] / s) ** 2)
    return k / k.sum(dim=1, keepdim=True)


def blur_weighted(t: torch.Tensor, sigma: torch.Tensor, *, radius: int | None = None) -> torch.Tensor:
    """Separable Gaussian blur of a (B, C, H, W) stack with σ (B,) pixels per sample.

    The whole batch is one grouped convolution per axis (each sample × channel is a group).
    """
    b, c, h, w = t.shape
    radius = radius if radius is not None else max(1, int(math.ceil(3 * float(sigma.max()))))
    k = gaussian_kernels(sigma.to(t.dtype), radius).repeat_interleave(c, dim=0)  # (B·C, K)
    y = t.reshape(1, b * c, h, w)
    # Edges are replicated (zero padding would erode the weight of the outermost pixels).
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="replicate"), k[:, None, :, None], groups=b * c)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="replicate"), k[:, None, None, :], groups=b * c)
    return y.reshape(b, c, h, w)


def blur(x: torch.Tensor, sigma: torch.Tensor, *, radius: int | None = None) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W) with σ (B,) pixels per sample; NaN-aware."""
    return from_weighted(blur_weighted(to_weighted(x), sigma, radius=radius))


def block_average(x: torch.Tensor, factors: torch.Tensor, choices: tuple[int, ...]) -> torch.Tensor:
    """Lose resolution by averaging f×f blocks (then repeating them), f per sample.

    Parameters
    ----------
    x : Tensor (B, C, H, W) with NaN
    factors : Tensor (B,) of int
        The block size of each sample, one of ``choices`` (1 leaves a sample unchanged).
    choices : tuple of int
        The distinct block sizes; each must divide H and W.
    """
    return from_weighted(block_average_weighted(to_weighted(x), factors, choices))


def block_average_weighted(t: torch.Tensor, factors: torch.Tensor, choices: tuple[int, ...]) -> torch.Tensor:
    """:func:`block_average` of a weighted stack (one pooling pass per block size, no indexing)."""
    out = t
    for f in choices:
        if f == 1:
            continue
        p = F.avg_pool2d(t, f)
        b, c, hh, ww = p.shape
        pooled = p[:, :, :, None, :, None].expand(b, c, hh, f, ww, f).reshape(t.shape)
        out = torch.where((factors == f)[:, None, None, None], pooled, out)
    return out


def star_masks(
    shape: tuple[int, int, int],
    *,
    max_stars: int,
    radius_px: tuple[float, float],
    p_star: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    """Random circular foreground-star masks (B, 1, H, W) bool, True where a star hides data.

    Each sample gets up to ``max_stars`` stars, each present with probability ``p_star``,
    at a uniform position with a radius in ``radius_px``.
    """
    b, h, w = shape
    kw = {"generator": generator, "device": device}
    cy = torch.rand(b, max_stars, **kw) * h
    cx = torch.rand(b, max_stars, **kw) * w
    r = radius_px[0] + (radius_px[1] - radius_px[0]) * torch.rand(b, max_stars, **kw)
    present = torch.rand(b, max_stars, **kw) < p_star
    yy = torch.arange(h, device=device, dtype=torch.float32)[None, None, :, None] + 0.5
    xx = torch.arange(w, device=device, dtype=torch.float32)[None, None, None, :] + 0.5
    d2 = (yy - cy[..., None, None]) ** 2 + (xx - cx[..., None, None]) ** 2
    hit = (d2 < (r * r)[..., None, None]) & present[..., None, None]
    return hit.any(dim=1, keepdim=True)


def jitter_colour(
    x: torch.Tensor, *, brightness: torch.Tensor, contrast: torch.Tensor, saturation: torch.Tensor
) -> torch.Tensor:
    """Per-sample brightness, contrast and saturation factors applied to (B, C, H, W) images.

    ``contrast`` scales each image about its own mean, ``saturation`` scales each pixel's bands
    about their mean (the grey level), ``brightness`` multiplies the result; each factor is a
    (B,) tensor, 1 leaving the image unchanged. NaN pixels stay NaN.
    """
    c = contrast[:, None, None, None]
    mean = torch.nanmean(x.flatten(1), dim=1)[:, None, None, None]
    x = (x - mean) * c + mean
    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * saturation[:, None, None, None]
    return x * brightness[:, None, None, None]


def swap_background(
    x: torch.Tensor, radius: torch.Tensor, *, perm: torch.Tensor, softness: float = 0.05
) -> torch.Tensor:
    """Replace the outskirts of each image by those of another image of the batch.

    Pixels farther than ``radius`` (B,) half-widths from the centre (with a logistic edge of
    width ``softness``) come from image ``perm[i]`` instead: neighbouring objects and sky then
    stop identifying a galaxy, while the galaxy in the middle is kept. Missing data (NaN) is
    blended by its validity weight (:func:`to_weighted`): a pixel is NaN where less than half
    of its weight came from data.
    """
    h, w = x.shape[-2:]
    yy = torch.arange(h, device=x.device, dtype=x.dtype)[:, None] - (h - 1) / 2
    xx = torch.arange(w, device=x.device, dtype=x.dtype)[None, :] - (w - 1) / 2
    r = torch.sqrt(yy * yy + xx * xx) / (min(h, w) / 2)
    weight = torch.sigmoid((r[None, None] - radius[:, None, None, None]) / softness)
    t = to_weighted(x)
    return from_weighted(t * (1 - weight) + t[perm] * weight)


def uniform(
    n: int, lo: float, hi: float, *, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """n draws from U(lo, hi)."""
    return lo + (hi - lo) * torch.rand(n, generator=generator, device=device)


__all__ = [
    "affine_matrices",
    "block_average",
    "block_average_weighted",
    "blur",
    "blur_weighted",
    "from_weighted",
    "to_weighted",
    "warp_weighted",
    "gaussian_kernels",
    "jitter_colour",
    "swap_background",
    "join_valid",
    "split_valid",
    "star_masks",
    "uniform",
    "warp",
]
