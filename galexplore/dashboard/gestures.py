"""Pointer input on the map: lassos that are not lost, and a cursor that does not flood the server.

*Lassos and boxes drawn on a busy page are not lost.*

BokehJS tells a drag from a press with a timer: a pointer that goes down starts a 300 ms
timer, and if the timer fires before the first pointer move arrives, the gesture becomes a
"press" and every later move is ignored, so the lasso or box the user then draws selects
nothing and no error shows. Pointer moves reach a page with its next animation frame, so
when the page is busy at that moment (rendering an update from the server, or many pages
sharing a small machine), the timer fires *late*, after the moves were made but before they
were delivered, and a lasso begun right away is lost.

The guard below makes a press need 300 ms during which the page could have seen the pointer
move: when the timer fires more than :data:`LATE_MS` after it was due, the page was blocked,
so it is started again instead of declaring a press (and counted in the page's
``Bokeh.require("core/ui_gestures").UIGestures.gx_late_timers``). A real press on an idle page is
recognised as before; on a busy one, a little later.

*The hover cursor is throttled in the page* (:func:`throttled_cursor`). A server-side
``MouseMove`` subscription sends every pointer move over the map to the server (dozens a
second per user); the cursor source sends at most one position per
:data:`CURSOR_INTERVAL_MS`, always including the last one.
"""

from __future__ import annotations

from bokeh.document import Document
from bokeh.models import CustomJS

#: A press timer firing this much after it was due means the page was blocked meanwhile (ms).
LATE_MS = 50

#: Patches ``UIGestures`` (module ``core/ui_gestures`` of BokehJS) once per page.
PRESS_GUARD_JS = """
let UIGestures = null;
try {
  UIGestures = Bokeh.require("core/ui_gestures").UIGestures;
} catch (err) {}  // a BokehJS without this module (before 3.5): nothing to guard
const proto = UIGestures?.prototype;
if (!proto?._start_timeout || !proto?._pointer_timeout) {
  console.warn("galexplore: BokehJS's gesture recogniser has changed; press guard not installed");
} else if (!proto._gx_press_guard) {
  const start = proto._start_timeout, fire = proto._pointer_timeout;
  proto._start_timeout = function () {
    start.call(this);
    this._gx_due = performance.now() + UIGestures.press_threshold;
  };
  proto._pointer_timeout = function () {
    const now = performance.now();
    if (now - this._gx_due > LATE_MS) {  // the page was busy: moves may still be on their way
      this._gx_due = now + UIGestures.press_threshold;
      this.press_timer = setTimeout(() => this._pointer_timeout(), UIGestures.press_threshold);
      UIGestures.gx_late_timers = (UIGestures.gx_late_timers ?? 0) + 1;  // for tests and diagnosis
      return;
    }
    fire.call(this);
  };
  proto._gx_press_guard = true;
}
""".replace("LATE_MS", str(LATE_MS))


#: Shortest time between two cursor positions sent to the server (ms): 20 a second at most.
CURSOR_INTERVAL_MS = 50

#: Throttles pointer moves into ``src.data``: leading and trailing, at most one per interval.
CURSOR_MOVE_JS = """
const now = performance.now();
src._gx_pending = [cb_obj.x, cb_obj.y];
if (src._gx_timer != null) return;  // the trailing send will carry this position
const send = () => {
  src._gx_timer = null;
  const p = src._gx_pending;
  if (p == null) return;
  src._gx_pending = null;
  src._gx_last = performance.now();
  src._gx_sent = (src._gx_sent ?? 0) + 1;  // for tests and diagnosis
  src.data = {x: [p[0]], y: [p[1]]};
};
const wait = (src._gx_last ?? -Infinity) + INTERVAL - now;
if (wait <= 0) send(); else src._gx_timer = setTimeout(send, wait);
""".replace("INTERVAL", str(CURSOR_INTERVAL_MS))

#: The pointer left the map: drop a pending position and send "no cursor" (NaN).
CURSOR_LEAVE_JS = """
if (src._gx_timer != null) { clearTimeout(src._gx_timer); src._gx_timer = null; }
src._gx_pending = null;
src.data = {x: [NaN], y: [NaN]};
"""


def throttled_cursor(fig, on_move) -> None:
    """Report the pointer's data position over ``fig`` to ``on_move(x, y)`` on the server, throttled.

    Parameters
    ----------
    fig : bokeh.models.Plot
    on_move : callable
        Called as ``on_move(x, y)`` in the server with the data coordinates of the pointer,
        at most once per :data:`CURSOR_INTERVAL_MS` and once more with the last position;
        ``(nan, nan)`` when the pointer leaves the plot.
    """
    from bokeh.events import MouseLeave, MouseMove
    from bokeh.models import ColumnDataSource

    src = ColumnDataSource({"x": [float("nan")], "y": [float("nan")]}, name="gx-cursor")
    fig.js_on_event(MouseMove, CustomJS(args={"src": src}, code=CURSOR_MOVE_JS))
    fig.js_on_event(MouseLeave, CustomJS(args={"src": src}, code=CURSOR_LEAVE_JS))

    def changed(_attr, _old, new) -> None:
        xs, ys = new.get("x") or [None], new.get("y") or [None]
        on_move(_number(xs[-1]), _number(ys[-1]))

    src.on_change("data", changed)


def _number(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def guard_press_gestures(doc: Document) -> None:
    """Install the press guard in every page that loads ``doc`` (once per page, idempotent)."""
    doc.js_on_event("document_ready", CustomJS(code=PRESS_GUARD_JS))


def select_on_release(plot, element) -> None:
    """HoloViews hook: a lasso sends one message to the server, when it is closed.

    BokehJS's lasso tool is *continuous* by default: every pointer move hit-tests the plot's
    glyphs and sends the growing polygon to the server as a ``selectiongeometry`` event,
    which HoloViews then drops because it is not final (about 20 such messages per lasso,
    each a little longer). With ``continuous=False`` the server hears of a lasso once.
    """
    from bokeh.models import LassoSelectTool

    for tool in plot.state.tools:
        if isinstance(tool, LassoSelectTool) and tool.continuous:
            tool.continuous = False
