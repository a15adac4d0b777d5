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
    lo, hi = float(lims[0]), float(lims[1])
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        k = np.floor((v - lo) * (1.0 / (hi - lo)) / (1.0 / n))
        k = np.where(v == hi, n - 1, k)
        k = np.clip(k, 0, n - 1)
    return np.where(np.isfinite(v), k, -1).astype(np.int64)


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
    k = colour_bin(v, lims, n)
    width = (float(lims[1]) - float(lims[0])) / n
    middles = (float(lims[0]) + (np.arange(n) + 0.5) * width).astype(np.float32)
    if not np.array_equal(colour_bin(middles, lims, n), np.arange(n)):
        return v
    return np.where(k >= 0, middles[np.maximum(k, 0)], np.float32(np.nan)).astype(np.float32)
