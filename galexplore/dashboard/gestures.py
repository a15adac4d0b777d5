"""Pointer input on the map: a cursor that does not flood the server, and lassos sent once.

*The hover cursor is throttled in the page* (:func:`throttled_cursor`). A server-side
``MouseMove`` subscription sends every pointer move over the map to the server (dozens a
second per user); the cursor source sends at most one position per
:data:`CURSOR_INTERVAL_MS`, always including the last one.

*A lasso is sent when it is closed* (:func:`select_on_release`), not at every pointer move.

The press guard that keeps lassos begun on a busy page from being lost patches BokehJS, so it
lives with the other patches in :mod:`galexplore.dashboard._compat`.
"""

from __future__ import annotations

from bokeh.models import CustomJS

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
