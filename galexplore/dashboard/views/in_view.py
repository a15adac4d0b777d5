"""A marker that tells the server when its place on the page has scrolled into view."""

from __future__ import annotations

import param
from panel.custom import JSComponent

_ESM = """
export function render({ model, el }) {
  const mark = document.createElement('div')
  mark.className = 'gx-in-view'
  mark.style.height = '1px'
  el.append(mark)
  if (model.seen) return
  const watch = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      watch.disconnect()
      model.seen = true
    }
  }, { rootMargin: `${model.margin_px}px 0px` })
  watch.observe(mark)
}
"""


class InView(JSComponent):
    """One pixel high and invisible: :attr:`seen` turns True (once) when the browser shows it,
    or would within ``margin_px`` of scrolling (an ``IntersectionObserver`` in the page).

    Put it just above a view that is costly to build and below the fold: the view can wait
    for :attr:`seen` and then cost nothing (server time, bytes, the browser's time building
    its models) in pages that are never scrolled that far.
    """

    seen = param.Boolean(default=False, doc="The marker has been in view (or within the margin).")
    margin_px = param.Integer(default=200, bounds=(0, None), doc="How far from view counts as in view.")

    _esm = _ESM

    def __init__(self, **params) -> None:
        params.setdefault("height", 1)
        params.setdefault("margin", 0)
        params.setdefault("sizing_mode", "stretch_width")
        super().__init__(**params)
