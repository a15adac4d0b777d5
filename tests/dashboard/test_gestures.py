"""The press guard (``galexplore.dashboard.gestures``) in a served page, in Debian's Chromium.

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
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle",
                           timeout=120_000)
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
