"""Small RGB thumbnails of galaxies: Lupton colour composites of images, or a map channel.

Pure functions of arrays (no Panel): the gallery and the galaxy-in-focus panel call them on
the few galaxies they show, read lazily with :meth:`Survey.read`.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from astropy.visualization import make_lupton_rgb

#: Band triplets used for (R, G, B), first match wins.
RGB_BANDS = (("i", "r", "g"), ("z", "r", "g"), ("r", "g", "u"))


def rgb_band_indices(bands: list[str]) -> tuple[int, int, int]:
    """Indices of the bands that become red, green and blue.

    Falls back to the last, middle and first band (or one band for all three).
    """
    for triple in RGB_BANDS:
        if all(b in bands for b in triple):
            return tuple(bands.index(b) for b in triple)  # type: ignore[return-value]
    n = len(bands)
    return (n - 1, n // 2, 0)


def lupton_rgb(cube: np.ndarray, bands: list[str], *, q: float = 8.0) -> np.ndarray:
    """Lupton et al. (2004) asinh colour composite of one galaxy.

    Parameters
    ----------
    cube : ndarray, shape (B, H, W), float
        Linear fluxes (e.g. nanomaggies) per band; NaN is treated as zero.
    bands : list of str
        Band names of ``cube``'s first axis.
    q : float
        Asinh softening; the stretch adapts to the galaxy's brightness.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
    """
    ir, ig, ib = rgb_band_indices(bands)
    planes = [np.nan_to_num(np.asarray(cube[i], dtype=float), nan=0.0) for i in (ir, ig, ib)]
    total = planes[0] + planes[1] + planes[2]
    positive = total[total > 0]
    stretch = float(np.percentile(positive, 99.5)) / 3.0 if positive.size else 1.0
    return make_lupton_rgb(*planes, stretch=max(stretch, 1e-12), Q=q)


def colormap_rgb(image: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """A single channel as an RGBA uint8 image, NaN transparent, scaled to its 1–99 %."""
    from matplotlib import colormaps

    img = np.asarray(image, dtype=float)
    finite = np.isfinite(img)
    out = np.zeros((*img.shape, 4), dtype=np.uint8)
    if not finite.any():
        return out
    lo, hi = np.percentile(img[finite], [1, 99])
    scaled = np.clip((img - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    rgba = colormaps[cmap](np.where(finite, scaled, 0.0), bytes=True)
    rgba[~finite] = 0
    return rgba


def png_data_uri(rgb: np.ndarray) -> str:
    """Encode an (H, W, 3|4) uint8 image (row 0 at the top) as a ``data:image/png;base64,…`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
