"""Colours shared by every view, so a class or cluster has one colour on the whole page."""

from __future__ import annotations

from collections.abc import Sequence

from bokeh.palettes import Category10_10, Category20_20

from galexplore.analysis.clustering import NOISE_NAME

#: EW(Hα) classes: blue star-forming, green green-valley, red retired.
SF_CLASS_COLORS = {"star-forming": "#1f77b4", "green-valley": "#2ca02c", "retired": "#d62728"}
NOISE_COLOR = "#9e9e9e"
HIGHLIGHT = "#ff1493"
FOCUS = "#000000"
CONTINUOUS_CMAP = "viridis"
DENSITY_CMAP = ["#d4d4d4", "#a0a0a0", "#606060", "#202020"]


def category_colors(column: str, categories: Sequence[str]) -> dict[str, str]:
    """One colour per category; EW classes and cluster noise get their fixed colours."""
    cats = [str(c) for c in categories]
    if column == "sf_class" and set(cats) <= set(SF_CLASS_COLORS):
        return {c: SF_CLASS_COLORS[c] for c in cats}
    palette = Category10_10 if len(cats) <= 10 else Category20_20
    out, i = {}, 0
    for c in cats:
        if c == NOISE_NAME:
            out[c] = NOISE_COLOR
            continue
        out[c] = palette[i % len(palette)]
        i += 1
    return out
