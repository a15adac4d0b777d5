"""Every patch of Bokeh, BokehJS, Panel, HoloViews and Dask internals that the dashboard makes.

Each one relies on something a library does not promise (a private method, a module path, a
log record's shape), so an upgrade can switch it off without an error. They are kept here,
in one place, and ``tests/dashboard/test_compat.py`` has a test per patch that fails when
what it relies on is gone from the installed version. ``pyproject.toml`` bounds bokeh, panel
and holoviews below their next minor release; lift a bound only with those tests green.

================================  ===================================  ==================================
patch                             relies on                            why
================================  ===================================  ==================================
:class:`LeanModelManager`         Bokeh ``DocumentModelManager``       no model-graph walk after a freeze
                                  (``_push_freeze``, ``_pop_freeze``,  in which nothing joined or left
                                  ``_freeze_count``, ``invalidate``)
:data:`PROMPT_CLEANUP_JS`         BokehJS ``Document``                 replaced models leave the page
                                  (``apply_json_patch``,               promptly, not 30 s after the last
                                  ``_recompute_all_models``,           message from the server
                                  ``_all_models_freeze_count``)
:data:`PRESS_GUARD_JS`            BokehJS ``UIGestures``               a lasso begun on a busy page is
                                  (``_start_timeout``,                 not turned into a "press"
                                  ``_pointer_timeout``,
                                  ``press_threshold``)
:func:`Markdown`, :func:`HTML`    Panel ``PaneBase._update(ref,        text updates do not re-send the
                                  model)``, ``_get_properties(doc)``   panes' stylesheets
:func:`colorbar_models`           HoloViews plot ``subplots`` and      the colour bar's title follows an
                                  ``handles["colorbar"]``              in-place recolouring
:func:`quiet_empty_rasters`       the warning's module,                no warning for an empty layer
                                  ``holoviews.core.data.image``
:func:`quick_datashader_tokens`   ``dask.tokenize.normalize_token``,   Dask names Datashader's closures
                                  ``normalize_object``                 without pickling them
:class:`ClosedSocketFilter`       Tornado's ``WebSocketClosedError``,  a tab closed mid-send is not
                                  ``StreamClosedError`` in asyncio's   logged as a server error
                                  "never retrieved" records
:func:`no_mathjax`                Panel ``io.resources``               the page does not load BokehJS's
                                  ``_panel_use_mathjax`` (looked up    MathJax bundle (1.8 MB, 620 kB
                                  by ``bundle_resources`` at each      gzipped) for panes that hold no TeX
                                  call)
:func:`prompt_view_events`        HoloViews plots' ``traverse``,       a zoom, a pan or the plot's first
                                  ``callbacks``, and the ``debounce``  size is rendered without
                                  of ``RangeXYCallback`` and           HoloViews' extra 100 ms wait
                                  ``PlotSizeCallback``
:func:`background_poll`           Panel ``PeriodicCallback``'s         a poll does not spin the page's
                                  ``background`` parameter (popped     busy indicator (nor send it) at
                                  in ``__init__``, not documented)     every period
================================  ===================================  ==================================

Nothing heavy is imported at module level: :mod:`galexplore.dashboard.server` (and so the
command line's ``--help``) imports this module.
"""

from __future__ import annotations

import functools
import logging
import warnings

# -- Bokeh (server side): the document's model manager ---------------------------------------


class LeanModelManager:
    """Mixin for a Bokeh document's model manager: skip the walk of the whole model graph
    when a ``freeze`` ends and nothing in the graph changed.

    Bokeh recomputes the document's set of models (visiting every model reachable from the
    roots) at the end of every ``doc.models.freeze()``, and HoloViews freezes around every
    plot update. A zoom or a new selection only replaces data arrays, so on a page of ~800
    models that walk was a third of the server's re-render time. Here the walk still runs
    whenever Bokeh marked the graph dirty during the freeze (a property now references other
    models: ``Model.trigger`` calls ``invalidate``) or the document's roots changed, which
    are the only ways models join or leave a document.
    """

    _gx_dirty = True
    _gx_roots: tuple = ()

    def _gx_root_ids(self) -> tuple:
        doc = self._document()
        return tuple(r.id for r in doc.roots) if doc is not None else ()

    def _push_freeze(self) -> None:
        if self._freeze_count == 0:
            self._gx_dirty, self._gx_roots = False, self._gx_root_ids()
        super()._push_freeze()

    def invalidate(self) -> None:
        self._gx_dirty = True
        super().invalidate()

    def _pop_freeze(self) -> None:
        if self._freeze_count == 1 and not self._gx_dirty and self._gx_roots == self._gx_root_ids():
            self._freeze_count = 0  # nothing joined or left the graph: no walk
            return
        super()._pop_freeze()


def lean_document(doc) -> None:
    """Give ``doc`` (a Bokeh Document) the :class:`LeanModelManager` behaviour (idempotent)."""
    models = getattr(doc, "models", None)
    if models is None or isinstance(models, LeanModelManager):
        return
    models.__class__ = _lean_class(type(models))


@functools.cache
def _lean_class(base: type) -> type:
    return type(f"Lean{base.__name__}", (LeanModelManager, base), {})


# -- BokehJS: replaced models leave the page promptly ----------------------------------------
#
# When the server replaces part of a page (a new plot for the map when its colouring changes
# from numbers to classes, a new layout child), BokehJS adds the new models to its document at
# once but drops the models they replaced only when it next recomputes the document's models,
# which it *schedules 30 s after the last message from the server*, postponing it at every new
# message. An active session (the hover cursor alone brings a message whenever the galaxy under
# the pointer changes) may never be quiet that long, so every rebuilt plot stays in the
# browser's memory and in every later walk over the document: the page grows without bound.
#
# PROMPT_CLEANUP_JS makes a server message that brought new models also set one timer,
# CLEANUP_DELAY_MS later and not postponed by later messages, to run that same recomputation
# (BokehJS's ``Document._recompute_all_models``). Messages that only carry new data (a
# selection, a zoom) add no model and start no timer. The recomputation walks the models
# reachable from the document's roots, a few milliseconds for this page.

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
        if (this._all_models_freeze_count > 0) return;  // a batch is under way: BokehJS recomputes at its end
        this._recompute_all_models();
        Document.gx_cleanups = (Document.gx_cleanups ?? 0) + 1;  // for tests and diagnosis
      }, DELAY);
    }
    return result;
  };
  proto._gx_prompt_cleanup = true;
}
""".replace("DELAY", str(CLEANUP_DELAY_MS))


def prompt_model_cleanup(doc) -> None:
    """Install :data:`PROMPT_CLEANUP_JS` in every page that loads ``doc`` (a Bokeh Document;
    once per page, idempotent)."""
    from bokeh.models import CustomJS

    doc.js_on_event("document_ready", CustomJS(code=PROMPT_CLEANUP_JS))


# -- BokehJS: lassos and boxes drawn on a busy page are not lost -----------------------------
#
# BokehJS tells a drag from a press with a timer: a pointer that goes down starts a 300 ms
# timer, and if the timer fires before the first pointer move arrives, the gesture becomes a
# "press" and every later move is ignored, so the lasso or box the user then draws selects
# nothing and no error shows. Pointer moves reach a page with its next animation frame, so when
# the page is busy at that moment (rendering an update from the server, or many pages sharing
# a small machine), the timer fires *late*, after the moves were made but before they were
# delivered, and a lasso begun right away is lost.
#
# The guard makes a press need 300 ms during which the page could have seen the pointer move:
# when the timer fires more than LATE_MS after it was due, the page was blocked, so it is
# started again instead of declaring a press (and counted in the page's
# ``Bokeh.require("core/ui_gestures").UIGestures.gx_late_timers``). A real press on an idle
# page is recognised as before; on a busy one, a little later.

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


def guard_press_gestures(doc) -> None:
    """Install the press guard in every page that loads ``doc`` (a Bokeh Document; once per
    page, idempotent)."""
    from bokeh.models import CustomJS

    doc.js_on_event("document_ready", CustomJS(code=PRESS_GUARD_JS))


# -- Panel: text panes that do not re-send their stylesheets ---------------------------------


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
    return type(
        kind, (_KeepStylesheets, base), {"__doc__": f"{base.__doc__}\n\nSee :class:`_KeepStylesheets`."}
    )


def Markdown(*args, **kwargs):  # noqa: N802 - a pane class, built lazily (Panel is imported late)
    """``pn.pane.Markdown`` whose text updates leave its stylesheets alone (see :class:`_KeepStylesheets`)."""
    return _text_pane("Markdown")(*args, **kwargs)


def HTML(*args, **kwargs):  # noqa: N802
    """``pn.pane.HTML`` whose text updates leave its stylesheets alone (see :class:`_KeepStylesheets`)."""
    return _text_pane("HTML")(*args, **kwargs)


# -- HoloViews ------------------------------------------------------------------------------


def colorbar_models(plot) -> list:
    """The Bokeh ``ColorBar`` models of a HoloViews (overlay) plot's layers.

    HoloViews keeps the colour bar it built with a plot; a hook that recolours a layer in
    place (the embedding map) sets the bar's title itself, through the layers' ``handles``.
    """
    return [bar for sub in plot.subplots.values() if (bar := sub.handles.get("colorbar")) is not None]


#: The module of HoloViews that warns about an all-NaN raster.
EMPTY_RASTER_WARNING_MODULE = r"holoviews\.core\.data\.image"


def quiet_empty_rasters() -> None:
    """Silence the one warning HoloViews gives for an all-NaN raster (an empty selection
    layer, a view zoomed where no galaxy lies): the layer is meant to be empty."""
    warnings.filterwarnings(
        "ignore",
        message="All-NaN slice encountered",
        category=RuntimeWarning,
        module=EMPTY_RASTER_WARNING_MODULE,
    )


# -- Dask: tokens of Datashader's closures -----------------------------------------------------


def quick_datashader_tokens() -> None:
    """Let Dask name Datashader's per-call closures without pickling them (idempotent).

    Datashader's Dask pipeline builds new closures around Numba kernels on every aggregation,
    and Dask tokenises them by pickling, which walks every loaded module for every kernel:
    ~0.2–0.7 s per view whatever the number of galaxies. A fresh unique token per closure is
    what a new closure means anyway (as ``pure=False``); every other function is tokenised
    by Dask as before.
    """
    import types
    import uuid

    from dask.tokenize import normalize_object, normalize_token

    def normalize_function(func):
        if (getattr(func, "__module__", None) or "").startswith("datashader."):
            return "datashader-closure", func.__qualname__, uuid.uuid4().hex
        return normalize_object(func)

    normalize_token.register(types.FunctionType)(normalize_function)


# -- Tornado / asyncio: closed websockets --------------------------------------------------------


class ClosedSocketFilter(logging.Filter):
    """Drop asyncio's "Task exception was never retrieved" reports of a websocket closed by
    the browser (a tab closed while the server was still sending): not a server error."""

    def filter(self, record: logging.LogRecord) -> bool:
        from tornado.iostream import StreamClosedError
        from tornado.websocket import WebSocketClosedError

        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, (WebSocketClosedError, StreamClosedError))


def quiet_closed_sockets() -> None:
    """Add :class:`ClosedSocketFilter` to the ``asyncio`` logger (idempotent)."""
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, ClosedSocketFilter) for f in asyncio_log.filters):
        asyncio_log.addFilter(ClosedSocketFilter())


# -- Panel: polls that do not spin the busy indicator ---------------------------------------------


def background_poll(callback, period_ms: int, *, count: int | None = None):
    """Call ``callback`` every ``period_ms`` in the current session (``count`` times at most;
    None: until the session ends), as a *background* callback.

    ``pn.state.add_periodic_callback`` marks the page busy while its callback runs, so a poll
    turns the busy indicator on and off at every period, in every open page, and sends two
    patches each time (and a session's "last message" never ages). Panel's
    ``PeriodicCallback`` has an undocumented ``background`` parameter that leaves the busy
    state alone; it is registered with the session as ``add_periodic_callback`` does, so it
    stops when the session ends.
    """
    import panel as pn
    from panel.io.callbacks import PeriodicCallback

    cb = PeriodicCallback(callback=callback, period=period_ms, count=count, background=True)
    doc = pn.state.curdoc
    if doc is not None:
        pn.state._periodic.setdefault(doc, []).append(cb)
    cb.start()
    return cb


# -- Panel: no MathJax for pages without TeX ------------------------------------------------------


def no_mathjax() -> None:
    """Stop Panel from adding BokehJS's MathJax bundle to the pages of this process.

    Panel adds ``bokeh-mathjax.min.js`` (1.8 MB; 620 kB gzipped, a quarter of a first page's
    bytes at 10⁶ galaxies) to every page that holds an HTML or Markdown pane, because such a
    pane *might* contain TeX. galexplore writes no TeX: units and symbols are Unicode
    (:mod:`galexplore.dashboard.views.formatting`). Bokeh's own test (a Bokeh model with TeX labels) and an
    explicit ``pn.extension("mathjax")`` still load it. Idempotent; for the server process.
    """
    from panel.io import resources

    if not getattr(resources._panel_use_mathjax, "_gx_off", False):
        off = lambda roots: False  # noqa: E731
        off._gx_off, off._gx_original = True, resources._panel_use_mathjax
        resources._panel_use_mathjax = off


# -- HoloViews: range events handled without a second debounce -------------------------------------


def prompt_view_events(plot, element) -> None:
    """Plot hook: handle this plot's range events (zoom, pan) and size reports as soon as they
    arrive.

    BokehJS already sends one ``RangesUpdate`` per gesture: after a pan ends, and after a
    wheel zoom once the wheel has been still for the plot's ``lod_timeout``
    (:data:`~galexplore.dashboard._setup.WHEEL_SETTLE_MS`). HoloViews' range callback then
    waits for 100 ms without events (``debounce``, polled every 50 ms) before it renders, a
    second settle that only delays every zoom and pan by 100–150 ms. Its size callback waits
    the same way for the plot's size, which in a served page the first image waits for
    (:func:`~galexplore.dashboard.compute.raster.view_layer`); BokehJS reports the width and
    the height together, once laid out. This sets ``debounce`` to None (HoloViews then yields
    for 10 ms, and events that come meanwhile are handled together) on the range and size
    callbacks of the plot and its layers.
    """
    from holoviews.plotting.bokeh.callbacks import PlotSizeCallback, RangeXYCallback

    for callbacks in plot.traverse(lambda p: p.callbacks):
        for cb in callbacks:
            if isinstance(cb, RangeXYCallback | PlotSizeCallback):
                cb.debounce = None
