"""What the embedding map shows beside its plot: the selection-mode switch and the legend.

The map's drag tools (lasso, box, pan) are chosen with a labelled switch above the plot, not
with the Bokeh toolbar: a toolbar button turns its tool *off* when clicked while active, and
the next lasso then silently selects nothing. The drag tools are therefore hidden from the
toolbar (:func:`set_drag_mode`), and exactly one of them is always active.

A categorical colouring is shaded by Datashader into an RGB image, which carries no legend;
:func:`legend_html` draws one from the same colour key (:mod:`~galexplore.dashboard.palettes`).
"""

from __future__ import annotations

import html

from galexplore.analysis.clustering import NOISE_NAME

#: Selection mode → its label on the switch.
MODES = {"lasso": "Lasso", "box": "Box", "pan": "Pan"}
#: Selection mode → the HoloViews name of its tool (``active_tools``).
HV_TOOLS = {"lasso": "lasso_select", "box": "box_select", "pan": "pan"}


def drag_tool_types() -> dict[str, type]:
    from bokeh.models import BoxSelectTool, LassoSelectTool, PanTool

    return {"lasso": LassoSelectTool, "box": BoxSelectTool, "pan": PanTool}


def set_drag_mode(fig, mode: str) -> None:
    """Make ``mode``'s tool the active drag of the Bokeh figure ``fig`` (BokehJS then deactivates
    the others) and the drag tools invisible in the toolbar (the switch chooses them)."""
    from bokeh.models.tools import Drag

    wanted = drag_tool_types()[mode]
    chosen = None
    for tool in fig.tools:
        if not isinstance(tool, Drag):
            continue
        if tool.visible:
            tool.visible = False
        if chosen is None and type(tool) is wanted:
            chosen = tool
    if chosen is not None and fig.toolbar.active_drag is not chosen:
        fig.toolbar.active_drag = chosen


def legend_html(colors: dict[str, str], title: str) -> str:
    """A one-line legend: a coloured dot and the name of each category (noise last, in grey)."""
    items = [c for c in colors if c != NOISE_NAME] + ([NOISE_NAME] if NOISE_NAME in colors else [])
    spans = "".join(
        f'<span class="gx-legend-item" style="margin-right:12px;white-space:nowrap">'
        f'<span style="color:{colors[c]};font-size:16px">●</span> {html.escape(str(c))}</span> '
        for c in items
    )
    return f'<span class="gx-legend-title" style="font-weight:600;margin-right:8px">{html.escape(title)}:</span>{spans}'
