"""The press guard (``galexplore.dashboard._compat``) in a served page, in Debian's Chromium.

BokehJS's gesture recogniser is driven here with synthetic pointer events on a detached
element, so the page's timing is exact: the main thread is blocked on purpose between the
pointer down and the moves, as a long task (a render) would block it.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

#: Runs one gesture on a fresh ``UIGestures``; returns the gestures it recognised.
GESTURE_JS = """async ([busy_ms, hold_ms, moves]) => {
  const {UIGestures} = Bokeh.require("core/ui_gestures");
  const calls = [];
  const rec = (name) => () => calls.push(name);
  const area = document.createElement("div");
  area.setPointerCapture = () => {};  // a synthetic pointer cannot be captured
  document.body.append(area);
  const gestures = new UIGestures(area, {on_tap: rec("tap"), on_press: rec("press"), on_pressup: rec("pressup"),
                                         on_pan_start: rec("pan_start"), on_pan_end: rec("pan_end")});
  gestures.connect_signals();
  const fire = (type, x) => area.dispatchEvent(new PointerEvent(type, {
    pointerId: 1, isPrimary: true, pointerType: "mouse", buttons: type === "pointerup" ? 0 : 1,
    clientX: x, clientY: 10, bubbles: true}));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  fire("pointerdown", 10);
  const t = performance.now();
  while (performance.now() - t < busy_ms) {}  // the page is busy: the press timer comes due meanwhile
  await sleep(hold_ms);  // a delayed task: the press timer, due earlier, runs first (and late if busy)
  for (let i = 1; i <= moves; i++) fire("pointermove", 10 + 10 * i);
  fire("pointerup", 10 + 10 * moves);
  gestures.remove();
  area.remove();
  return calls;
}"""


@pytest.fixture(scope="module")
def page(browser, dashboard_server):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(dashboard_server.url, timeout=180_000)
    # the document is idle: its "document_ready" callbacks (where the guard is installed) have run
    page.wait_for_function(
        "() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle", timeout=120_000
    )
    yield page
    ctx.close()


def gesture(page, busy_ms: int, hold_ms: int, moves: int) -> list[str]:
    return page.evaluate(GESTURE_JS, [busy_ms, hold_ms, moves])


def test_a_drag_whose_moves_arrive_after_a_late_press_timer_is_a_drag(page):
    # BokehJS alone: ["press", "pressup"], the lasso or box is lost
    assert gesture(page, busy_ms=450, hold_ms=5, moves=3) == ["pan_start", "pan_end"]


def test_a_press_and_a_tap_are_unchanged(page):
    # held still (long enough for the timer to come due in time even on a loaded machine)
    assert gesture(page, busy_ms=0, hold_ms=1500, moves=0) == ["press", "pressup"]
    assert gesture(page, busy_ms=0, hold_ms=1500, moves=3) == ["press", "pressup"]  # then moved
    assert gesture(page, busy_ms=0, hold_ms=5, moves=0) == ["tap"]
    assert gesture(page, busy_ms=0, hold_ms=5, moves=3) == ["pan_start", "pan_end"]


def test_a_press_held_through_a_busy_page_is_still_a_press(page):
    # late timer re-armed, the pointer still does not move: a press, 300 ms later
    assert gesture(page, busy_ms=450, hold_ms=1500, moves=0) == ["press", "pressup"]


#: Sends ``n`` MouseMove events through the map (every ``spacing`` ms, 0: all at once) the way
#: BokehJS does for real pointer moves, then the pointer leaves; returns what the cursor sent.
CURSOR_JS = """async ([n, spacing, x, y]) => {
  const doc = Bokeh.documents[0];
  const cursor = doc.get_model_by_name("gx-cursor");
  const ring = doc.get_model_by_name("gx-hover");
  const plot = [...doc._all_models.values()].find((m) => Array.isArray(m.renderers) && m.renderers.includes(ring));
  const {MouseMove, MouseLeave} = Bokeh.require("core/bokeh_events");
  const mods = {shift: false, ctrl: false, alt: false};
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const sent = () => cursor._gx_sent ?? 0;
  const sent0 = sent();
  for (let i = n - 1; i >= 0; i--) {  // towards (x, y), which the last move reaches
    plot.trigger_event(new MouseMove(0, 0, x + i, y - i, mods));
    if (spacing > 0) await sleep(spacing);
  }
  await sleep(5);
  const at_once = sent() - sent0;
  await sleep(250);
  const out = {at_once, total: sent() - sent0, last: [cursor.data.x[0], cursor.data.y[0]]};
  return out;
}"""

LEAVE_JS = """async () => {
  const doc = Bokeh.documents[0];
  const cursor = doc.get_model_by_name("gx-cursor");
  const ring = doc.get_model_by_name("gx-hover");
  const plot = [...doc._all_models.values()].find((m) => Array.isArray(m.renderers) && m.renderers.includes(ring));
  const {MouseLeave} = Bokeh.require("core/bokeh_events");
  plot.trigger_event(new MouseLeave(0, 0, NaN, NaN, {shift: false, ctrl: false, alt: false}));
  await new Promise((resolve) => setTimeout(resolve, 50));  // a CustomJS may compile on its first call
  return [cursor.data.x[0], cursor.data.y[0]];
}"""

HOVERED_JS = "() => Bokeh.documents[0].get_model_by_name('gx-hover-source').data.galaxy_id[0] ?? null"


def test_a_burst_of_pointer_moves_sends_two_cursor_positions_the_last_included(page):
    # 40 moves at once (a fast sweep across the map): the first goes out at once, the last
    # when the 50 ms interval has passed; without the throttle every move was a message
    got = page.evaluate(CURSOR_JS, [40, 0, 1000.0, 2000.0])
    assert got == {"at_once": 1, "total": 2, "last": [1000.0, 2000.0]}
    # moves further apart than the interval all go out
    got = page.evaluate(CURSOR_JS, [5, 120, 3000.0, 4000.0])
    assert got["total"] == 5 and got["last"] == [3000.0, 4000.0]


def test_the_galaxy_under_the_cursor_is_ringed_and_the_ring_goes_when_the_pointer_leaves(page, browser_run):
    from galexplore.artifacts.runs import read_projection

    proj, _ = read_projection(browser_run)
    gid, x, y = proj["galaxy_id"].iloc[7], float(proj["x"].iloc[7]), float(proj["y"].iloc[7])
    page.evaluate(CURSOR_JS, [1, 0, x, y])
    page.wait_for_function(f"() => ({HOVERED_JS})() === {str(gid)!r}", timeout=30_000)
    left = page.evaluate(LEAVE_JS)
    assert all(v != v for v in left)  # NaN: no cursor
    page.wait_for_function(f"() => ({HOVERED_JS})() === null", timeout=30_000)
