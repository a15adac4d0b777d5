"""The page: its template and how the views are assembled on it, for both explorers.

:class:`Page` is what the in-memory :class:`~galexplore.dashboard.app.Explorer` and the
:class:`~galexplore.dashboard.ooc.app.OutOfCoreExplorer` share: one session's state, the
colour-by control, the message line, and the layout: controls in the sidebar, and in the
main area the map beside the main sequence, the selection beside the galaxy in focus, then
one card per further view (:func:`page_main`).
"""

from __future__ import annotations

import panel as pn

from galexplore.dashboard._compat import guard_press_gestures, lean_document, prompt_model_cleanup
from galexplore.dashboard.state import ExplorerState

#: Panel extensions the page needs (``pn.extension(*EXTENSIONS)`` before the first page).
EXTENSIONS = ("tabulator",)


class Page(pn.viewable.Viewer):
    """One browser session's page; subclasses add the views, :meth:`controls` and :meth:`main`.

    Parameters
    ----------
    data : ExplorerData or OutOfCoreData
        Shared, read-only data.
    """

    def __init__(self, data, **params) -> None:
        super().__init__(**params)
        if pn.state.curdoc is not None:  # the session's document (served, or rendered by a benchmark)
            lean_document(pn.state.curdoc)
        self.data = data
        self.state = ExplorerState(data)
        self._color = pn.widgets.Select.from_param(
            self.state.param.color_by,
            label="Colour by",
            css_classes=["gx-color-by"],
            sizing_mode="stretch_width",
        )
        self._message = pn.pane.Alert("", alert_type="warning", visible=False, css_classes=["gx-message"])
        self.state.param.watch(self._on_message, ["message"])

    def _on_message(self, event) -> None:
        self._message.object = event.new
        self._message.visible = bool(event.new)

    def controls(self) -> pn.viewable.Viewable:
        raise NotImplementedError

    def main(self) -> pn.viewable.Viewable:
        raise NotImplementedError

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=300), self.main(), sizing_mode="stretch_width")

    def template(self) -> pn.template.BaseTemplate:
        """The page in a template with the controls in the sidebar (for serving)."""
        return page_template(self.data.title, self.controls(), self.main())


def page_main(galaxy_map, main_sequence, gallery, focus, *more: tuple) -> pn.Column:
    """The page's main area: the map beside the main sequence, the selection beside the galaxy
    in focus, then one card per ``(view, title)`` of ``more``."""
    card = dict(sizing_mode="stretch_width", collapsible=False, margin=(5, 5))
    return pn.Column(
        pn.Row(pn.Card(galaxy_map, title="Embedding map", **card),
               pn.Card(main_sequence, title="Star-forming main sequence", **card), sizing_mode="stretch_width"),
        pn.Row(pn.Card(gallery, title="Selection", **card),
               pn.Card(focus, title="Galaxy in focus", **card), sizing_mode="stretch_width"),
        *[pn.Card(view, title=title, **card) for view, title in more],
        sizing_mode="stretch_width",
    )  # fmt: skip


def page_template(title: str, controls, main) -> pn.template.BaseTemplate:
    """The page: ``controls`` in the sidebar, ``main`` beside them (for serving).

    The session's document also gets the press guard (lassos and boxes begun while the page
    is busy are not lost) and the prompt clean-up (the models of replaced plots leave the
    page) of :mod:`~galexplore.dashboard._compat`.
    """
    if pn.state.curdoc is not None:
        guard_press_gestures(pn.state.curdoc)
        prompt_model_cleanup(pn.state.curdoc)
    # Bootstrap: no web fonts fetched from the internet (the page works offline)
    return pn.template.BootstrapTemplate(
        title=f"galexplore · {title}",
        sidebar=[controls],
        main=[main],
        sidebar_width=320,
        header_background="#1f4e79",
    )
