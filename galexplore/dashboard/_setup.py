"""Plotting set-up shared by the views: the HoloViews Bokeh backend (loaded once, no output outside
notebooks), batched updates, canvas output and ranges set by the server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import holoviews as hv

from galexplore.dashboard._compat import quiet_empty_rasters

#: HoloViews options drawing a plot on a 2-d canvas, not WebGL (HoloViews' default): our plots
#: are rasters plus at most a few thousand glyphs, which WebGL does not speed up, while every
#: repaint of a WebGL plot copies its GL canvas (slow where the GL is software, e.g. a browser
#: without GPU; ~1 s of a lasso's repaint in headless Chromium).
CANVAS = {"backend_opts": {"plot.output_backend": "canvas"}}
#: Pixels left of the map's frame (y axis, tick labels and title): wider than any tick label
#: of the projection's coordinates. Otherwise the labels change width as the view zooms, the
#: frame resizes by a few pixels, and the server renders and sends the old view again at the
#: new size before the new view arrives.
Y_AXIS_PX = 60
#: Bokeh reports a wheel zoom (``RangesUpdate``, what re-renders the map) once the wheel has been
#: still this long (its ``lod_timeout``, 500 ms by default): long enough to take a flick of
#: notches as one zoom, short enough that the new view arrives sooner.
WHEEL_SETTLE_MS = 200
#: Pixels right of the map's frame (the colour bar, its tick labels and title): wider than a
#: numeric colouring's bar needs. Otherwise the bar's labels of another colouring (``-10.5``
#: against ``40``) change the frame's width at the page's next re-layout, which comes later
#: (with the next selection), and the server renders and sends the map's layers again.
COLOUR_BAR_PX = 140
#: :data:`CANVAS` for the embedding map, with its fixed axis and colour-bar widths and wheel
#: settle time.
MAP_CANVAS = {
    "backend_opts": {
        **CANVAS["backend_opts"],
        "plot.min_border_left": Y_AXIS_PX,
        "plot.min_border_right": COLOUR_BAR_PX,
        "plot.lod_timeout": WHEEL_SETTLE_MS,
    }
}


def ensure_bokeh() -> None:
    """Select HoloViews' Bokeh backend if it is not the current one.

    Also silences HoloViews' warning for an all-NaN raster
    (:func:`~galexplore.dashboard._compat.quiet_empty_rasters`).
    """
    quiet_empty_rasters()
    if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Apply many view updates as one: freeze the session document's model graph and hold
    its events, so the graph is walked once and one message goes to the browser."""
    import panel as pn

    doc = pn.state.curdoc
    if doc is None:
        yield
        return
    with pn.io.hold(doc, freeze=True):
        yield


def fit_range(rng, *arrays, padding: float = 0.05, start: float | None = None) -> None:
    """Set a Bokeh ``Range1d`` to span the finite values of ``arrays``, padded by ``padding``
    of the span on each side (``start``: a fixed lower end, e.g. 0 for a histogram).

    The server computes the ranges of plots whose data it replaces: a ``DataRange1d`` would be
    recomputed by BokehJS on every new data and its new ``start``/``end`` sent back to the
    server, two messages per plot per selection that nothing on the server reads. Left
    unchanged when no value is finite.
    """
    import numpy as np

    values = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays]) if arrays else np.empty(0)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    lo = float(values.min()) if start is None else float(start)
    hi = float(max(values.max(), lo))
    pad = (hi - lo) * padding if hi > lo else 0.5
    rng.update(start=lo if start is not None else lo - pad, end=hi + pad)


def evaluate(obj) -> None:
    """Evaluate a DynamicMap, or the DynamicMaps of an overlay, once (pure HoloViews: compiles
    their Datashader kernels before a browser asks; no Bokeh document is touched)."""
    obj[()] if isinstance(obj, hv.DynamicMap) else [
        layer[()] for layer in obj if isinstance(layer, hv.DynamicMap)
    ]


def served() -> bool:
    """True while building or updating a page of a running server (a session's document)."""
    import panel as pn

    doc = pn.state.curdoc
    return doc is not None and doc.session_context is not None
