"""Load the HoloViews Bokeh backend once (idempotent, no output outside notebooks)."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator

import holoviews as hv


#: HoloViews options drawing a plot on a 2-d canvas, not WebGL (HoloViews' default): our plots
#: are rasters plus at most a few thousand glyphs, which WebGL does not speed up, while every
#: repaint of a WebGL plot copies its GL canvas (slow where the GL is software, e.g. a browser
#: without GPU; ~1 s of a lasso's repaint in headless Chromium).
CANVAS = {"backend_opts": {"plot.output_backend": "canvas"}}


def ensure_bokeh() -> None:
    """Select HoloViews' Bokeh backend if it is not the current one.

    Also silences the one warning HoloViews gives for an all-NaN raster (an empty selection
    layer, a view zoomed where no galaxy lies): the layer is meant to be empty.
    """
    warnings.filterwarnings("ignore", message="All-NaN slice encountered", category=RuntimeWarning,
                            module=r"holoviews\.core\.data\.image")
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


class LeanModelManager:
    """Mixin for a Bokeh document's model manager: skip the walk of the whole model graph
    when a ``freeze`` ends and nothing in the graph changed.

    Bokeh recomputes the document's set of models (visiting every model reachable from the
    roots) at the end of every ``doc.models.freeze()``, and HoloViews freezes around every
    plot update. A zoom or a new selection only replaces data arrays, so on a page of ~800
    models that walk was a third of the server's re-render time. Here the walk still runs
    whenever Bokeh marked the graph dirty during the freeze (a property now references other
    models: ``Model.trigger`` calls ``invalidate``) or the document's roots changed, which
    are the only ways models join or leave a document.
    """

    _gx_dirty = True
    _gx_roots: tuple = ()

    def _gx_root_ids(self) -> tuple:
        doc = self._document()
        return tuple(r.id for r in doc.roots) if doc is not None else ()

    def _push_freeze(self) -> None:
        if self._freeze_count == 0:
            self._gx_dirty, self._gx_roots = False, self._gx_root_ids()
        super()._push_freeze()

    def invalidate(self) -> None:
        self._gx_dirty = True
        super().invalidate()

    def _pop_freeze(self) -> None:
        if self._freeze_count == 1 and not self._gx_dirty and self._gx_roots == self._gx_root_ids():
            self._freeze_count = 0  # nothing joined or left the graph: no walk
            return
        super()._pop_freeze()


def lean_document(doc) -> None:
    """Give ``doc`` (a Bokeh Document) the :class:`LeanModelManager` behaviour (idempotent)."""
    models = getattr(doc, "models", None)
    if models is None or isinstance(models, LeanModelManager):
        return
    models.__class__ = _lean_class(type(models))


@functools.cache
def _lean_class(base: type) -> type:
    return type(f"Lean{base.__name__}", (LeanModelManager, base), {})


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
