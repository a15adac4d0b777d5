"""A grid of clickable thumbnails (one Bokeh model for a whole page of the gallery)."""

from __future__ import annotations

import param
from panel.custom import JSComponent

_CSS = """
.gx-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(var(--gx-size, 104px), 1fr));
           gap: 6px; }
.gx-tile { margin: 0; padding: 3px; border: 2px solid transparent; border-radius: 4px; cursor: pointer;
           background: #111; text-align: center; }
.gx-tile:hover { border-color: #888; }
.gx-tile.gx-focus { border-color: #ff1493; }
.gx-tile img { width: 100%; image-rendering: pixelated; display: block; }
.gx-tile figcaption { color: #eee; font: 11px monospace; overflow: hidden; text-overflow: ellipsis;
                      white-space: nowrap; }
.gx-tile figcaption.gx-score { color: #ffd54f; }
.gx-empty { color: #777; font-style: italic; padding: 1em; }
"""

_ESM = """
export function render({ model, el }) {
  const grid = document.createElement('div')
  grid.className = 'gx-grid'
  function draw() {
    grid.replaceChildren()
    if (!model.tiles.length) {
      const p = document.createElement('div')
      p.className = 'gx-empty'
      p.textContent = model.placeholder
      grid.append(p)
      return
    }
    for (const t of model.tiles) {
      const fig = document.createElement('figure')
      fig.className = 'gx-tile' + (t.id === model.focus ? ' gx-focus' : '')
      fig.dataset.galaxy = t.id
      fig.title = t.title
      const img = document.createElement('img')
      img.src = t.src
      img.alt = t.id
      const cap = document.createElement('figcaption')
      cap.textContent = t.id
      fig.append(img, cap)
      if (t.score) {
        const score = document.createElement('figcaption')
        score.className = 'gx-score'
        score.textContent = t.score
        fig.append(score)
      }
      fig.addEventListener('click', () => model.send_msg({ galaxy: t.id }))
      grid.append(fig)
    }
  }
  draw()
  model.on(['tiles', 'focus', 'placeholder'], draw)
  el.append(grid)
}
"""


class CutoutGrid(JSComponent):
    """Thumbnails with their ids; clicking one sets :attr:`clicked` (and fires even if unchanged).

    ``tiles`` is a list of ``{"id": str, "src": data-URI, "title": str}``, optionally with
    ``"score"`` (str, a second caption line, e.g. the cosine similarity of a search hit).
    """

    tiles = param.List(default=[], doc="Thumbnails to show, in order.")
    focus = param.String(default="", doc="Id drawn with a highlighted border.")
    placeholder = param.String(default="Nothing selected.")
    clicked = param.String(default="", doc="Id of the last tile clicked.")

    _esm = _ESM
    _stylesheets = [_CSS]

    def _handle_msg(self, msg) -> None:
        galaxy = msg.get("galaxy") if isinstance(msg, dict) else None
        if isinstance(galaxy, str):
            self.param.update(clicked=galaxy)
            self.param.trigger("clicked")
