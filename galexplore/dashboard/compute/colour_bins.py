"""Numeric map layers snapped to their colour bins: the same colours in fewer bytes.

A numeric layer of the map (the mean of a column per pixel) is colour-mapped in the browser by
Bokeh's ``LinearColorMapper``: a value ``v`` gets palette entry
``floor((v - lo) / (hi - lo) * n)``, clamped to the palette's ends, and NaN is transparent.
Nothing else reads the layer's pixel values (the hover shows the galaxy's own catalog values).
Moving every value to the middle of its colour bin therefore draws exactly the same colour in
every pixel, while the layer then holds at most ``n`` distinct values: the websocket's
compression sends about half as much per zoom, pan and colour change (``bench/remote.py``).
"""

from __future__ import annotations

import numpy as np

#: Colours in a numeric layer's palette (HoloViews samples a named colormap to 256 colours;
#: tests/dashboard/compute/test_colour_bins.py checks the map's colour mapper has this many).
PALETTE_SIZE = 256


def colour_bin(values: np.ndarray, lims: tuple[float, float], n: int = PALETTE_SIZE) -> np.ndarray:
    """The palette entry Bokeh's ``LinearColorMapper`` gives each value, in float64 as it
    computes it (-1 for NaN; values outside ``lims`` clamp to the ends, as with no
    ``low_color``/``high_color``)."""
    v = np.asarray(values)
    k = np.full(v.shape, -1, np.int64)
    finite = np.isfinite(v)
    k[finite] = _finite_bins(v[finite], lims, n)
    return k


def _finite_bins(v: np.ndarray, lims: tuple[float, float], n: int) -> np.ndarray:
    """:func:`colour_bin` of finite values (1-d), Bokeh's arithmetic in float64, in place."""
    lo, hi = float(lims[0]), float(lims[1])
    at_hi = v == np.float64(hi)  # compared in float64, as Bokeh does
    x = v.astype(np.float64)
    x -= lo
    x *= 1.0 / (hi - lo)
    x /= 1.0 / n
    np.floor(x, out=x)
    x[at_hi] = n - 1
    np.clip(x, 0, n - 1, out=x)
    return x.astype(np.intp)


def snap_to_colour_bins(
    values: np.ndarray, lims: tuple[float, float] | None, n: int = PALETTE_SIZE
) -> np.ndarray:
    """``values`` (any shape) as float32 moved to the middle of their colour bins; NaN kept.

    Returned unchanged (as float32) when the limits are missing or not finite, or when float32
    cannot hold the bins' middles apart (a range tiny against the values' size): the colours
    must come out the same, or nothing is changed.
    """
    v = np.asarray(values, dtype=np.float32)
    if lims is None or not np.all(np.isfinite(lims)) or not lims[1] > lims[0]:
        return v
    width = (float(lims[1]) - float(lims[0])) / n
    middles = (float(lims[0]) + (np.arange(n) + 0.5) * width).astype(np.float32)
    if not np.array_equal(colour_bin(middles, lims, n), np.arange(n)):
        return v
    # only the finite pixels are binned (most of a map's pixels are empty)
    out = np.full(v.shape, np.nan, np.float32)
    finite = np.isfinite(v)
    out[finite] = middles[_finite_bins(v[finite], lims, n)]
    return out
