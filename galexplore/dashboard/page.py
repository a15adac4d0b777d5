"""The page: its template and how the views are assembled on it, for both explorers.

:class:`Page` is what the in-memory :class:`~galexplore.dashboard.app.Explorer` and the
:class:`~galexplore.dashboard.ooc.app.OutOfCoreExplorer` share: one session's state, the
colour-by control, the message line, and the layout: controls in the sidebar, and in the
main area a collapsed "How to use" card, the map beside the main sequence, the selection
beside the galaxy in focus, then one card per further view (:func:`page_main`).
"""

from __future__ import annotations

import panel as pn

from galexplore.dashboard._compat import guard_press_gestures, lean_document, prompt_model_cleanup
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.views.color_menu import color_by_select

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
        self._color = color_by_select(
            self.state, label="Colour by", css_classes=["gx-color-by"], sizing_mode="stretch_width"
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
        how_to_use(),
        pn.Row(
            pn.Card(galaxy_map, title="Embedding map", **card),
            pn.Card(main_sequence, title="Star-forming main sequence", **card),
            sizing_mode="stretch_width",
        ),
        pn.Row(
            pn.Card(gallery, title="Selection", **card),
            pn.Card(focus, title="Galaxy in focus", **card),
            sizing_mode="stretch_width",
        ),
        *[pn.Card(view, title=title, **card) for view, title in more],
        sizing_mode="stretch_width",
    )


HOW_TO_USE = """
- **Select** galaxies on the embedding map: drag a lasso or a box (the *Lasso / Box / Pan* switch
  above the map says which), or click a row of the cluster table. The gallery, the main sequence
  and the property plots then compare the selection with the whole survey.
- **Colour** the map by a property, a clustering or a tag with *Colour by* (left); hover a galaxy
  for its values.
- **Focus** on a galaxy: click a cutout in the gallery or a galaxy on the map. Its maps and
  catalog row appear; *Find similar* selects its nearest neighbours in the embedding (cosine
  similarity under each cutout). A new selection puts its most typical galaxy (nearest its mean
  embedding) in focus, unless the galaxy in focus is part of it.
- **Clusters**: pick a method and its setting (k, or HDBSCAN's minimum cluster size), then
  *Recompute clusters*. Grey is HDBSCAN's noise.
- **Share or export**: the link in the sidebar reopens this view; *Export* downloads the selection.
"""


def how_to_use() -> pn.Card:
    """A short guide to the page, collapsed until opened."""
    return pn.Card(
        pn.pane.Markdown(HOW_TO_USE, sizing_mode="stretch_width", margin=(0, 10)),
        title="How to use",
        collapsed=True,
        sizing_mode="stretch_width",
        margin=(5, 5),
        css_classes=["gx-help"],
    )


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
        sidebar_width=340,
        header_background="#1f4e79",
    )
