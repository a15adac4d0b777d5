"""Load the HoloViews Bokeh backend once (idempotent, no output outside notebooks)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import holoviews as hv


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
