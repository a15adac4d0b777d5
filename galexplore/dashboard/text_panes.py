"""Panel text panes (Markdown, HTML) for text that changes with every interaction."""

from __future__ import annotations

import functools


class _KeepStylesheets:
    """Mixin for Panel's HTML and Markdown panes: a new ``object`` updates the model's
    properties but not its ``stylesheets``.

    Panel re-sends a text pane's stylesheets (as new ``ImportedStyleSheet`` models) with every
    new text, which makes the browser rebuild the pane's styles and re-lay out the page (a
    forced style recalculation per pane; four panes change on every selection) and the server
    walk the whole model graph. Our panes never change their stylesheets after they are built.
    """

    def _update(self, ref: str, model) -> None:
        props = self._get_properties(model.document)
        props.pop("stylesheets", None)
        model.update(**props)


@functools.cache
def _text_pane(kind: str) -> type:
    import panel as pn

    base = getattr(pn.pane, kind)
    return type(kind, (_KeepStylesheets, base), {"__doc__": f"{base.__doc__}\n\nSee :class:`_KeepStylesheets`."})


def Markdown(*args, **kwargs):  # noqa: N802 - a pane class, built lazily (Panel is imported late)
    """``pn.pane.Markdown`` whose text updates leave its stylesheets alone (see :class:`_KeepStylesheets`)."""
    return _text_pane("Markdown")(*args, **kwargs)


def HTML(*args, **kwargs):  # noqa: N802
    """``pn.pane.HTML`` whose text updates leave its stylesheets alone (see :class:`_KeepStylesheets`)."""
    return _text_pane("HTML")(*args, **kwargs)


__all__ = ["HTML", "Markdown"]
