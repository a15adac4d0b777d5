"""Replaced Bokeh models leave the page's document promptly (BokehJS keeps them for a while).

When the server replaces part of a page (a new plot for the map when its colouring changes
from numbers to classes, a new layout child), BokehJS adds the new models to its document
at once but drops the models they replaced only when it next recomputes the document's
models, which it *schedules 30 s after the last message from the server*, postponing it at
every new message. An active session (the hover cursor alone brings a message whenever the
galaxy under the pointer changes) may never be quiet that long, so every rebuilt plot stays
in the browser's memory and in every later walk over the document: the page grows without
bound.

:data:`PROMPT_CLEANUP_JS` makes a server message that brought new models also set one timer,
:data:`CLEANUP_DELAY_MS` later and not postponed by later messages, to run that same
recomputation (BokehJS's ``Document._recompute_all_models``). Messages that only carry new
data (a selection, a zoom) add no model and start no timer. The recomputation walks the
models reachable from the document's roots, a few milliseconds for this page.
"""

from __future__ import annotations

from bokeh.document import Document
from bokeh.models import CustomJS

#: How long after a server message that added models the replaced ones are dropped (ms).
#: Not at once: the server may send one change as a burst of messages.
CLEANUP_DELAY_MS = 1500

#: Wraps ``Document.apply_json_patch`` of BokehJS once per page.
PROMPT_CLEANUP_JS = """
let Document = null;
try {
  Document = Bokeh.require("document/document").Document;
} catch (err) {}
const proto = Document?.prototype;
if (!proto?.apply_json_patch || !proto?._recompute_all_models) {
  console.warn("galexplore: BokehJS's Document has changed; prompt clean-up of replaced models not installed");
} else if (!proto._gx_prompt_cleanup) {
  const apply = proto.apply_json_patch;
  proto.apply_json_patch = function (...args) {
    const before = this._all_models.size;
    const result = apply.apply(this, args);
    if (this._all_models.size > before && this._gx_cleanup == null) {
      this._gx_cleanup = setTimeout(() => {
        this._gx_cleanup = null;
        if (this._all_models_freeze_count > 0) return;  // a batch of changes is under way: BokehJS recomputes at its end
        this._recompute_all_models();
        Document.gx_cleanups = (Document.gx_cleanups ?? 0) + 1;  // for tests and diagnosis
      }, DELAY);
    }
    return result;
  };
  proto._gx_prompt_cleanup = true;
}
""".replace("DELAY", str(CLEANUP_DELAY_MS))


def prompt_model_cleanup(doc: Document) -> None:
    """Install :data:`PROMPT_CLEANUP_JS` in every page that loads ``doc`` (once per page, idempotent)."""
    doc.js_on_event("document_ready", CustomJS(code=PROMPT_CLEANUP_JS))
