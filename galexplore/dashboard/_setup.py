"""Load the HoloViews Bokeh backend once (idempotent, no output outside notebooks)."""

from __future__ import annotations

import holoviews as hv


def ensure_bokeh() -> None:
    """Select HoloViews' Bokeh backend if it is not the current one."""
    if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)
