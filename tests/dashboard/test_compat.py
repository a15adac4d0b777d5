"""Every patch in :mod:`galexplore.dashboard._compat` still applies to the installed libraries.

Each patch relies on internals a library does not promise. These tests fail when what a
patch relies on is gone or changed (a private method, its signature, a module path, the
behaviour it works around), so an upgrade of bokeh, panel, holoviews or dask cannot switch a
patch off silently. The browser tests (``test_gestures.py``, ``test_document_size.py``) show
the two BokehJS patches working in a page.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import re
import types
import warnings
from pathlib import Path

import bokeh
import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from galexplore.dashboard import _compat
from galexplore.dashboard._compat import LeanModelManager, lean_document

BOKEHJS = Path(bokeh.__file__).parent / "server" / "static" / "js"


def _doc():
    doc = Document()
    lean_document(doc)
    lean_document(doc)  # idempotent
    fig = figure()
    src = ColumnDataSource({"x": np.arange(3.0), "y": np.arange(3.0)})
    fig.scatter("x", "y", source=src)
    doc.add_root(fig)
    walks = []
    original = type(doc.models).recompute
    type(doc.models).recompute = lambda self: (walks.append(1), original(self))[1]
    return doc, fig, src, walks, original


def test_a_data_only_update_skips_the_walk_and_a_new_model_is_still_registered():
    doc, fig, src, walks, original = _doc()
    try:
        assert isinstance(doc.models, LeanModelManager)
        with doc.models.freeze():
            src.data = {"x": np.arange(5.0), "y": np.ones(5)}
        assert walks == []  # only arrays changed
        new_range = Range1d(0, 10)
        with doc.models.freeze():
            fig.x_range = new_range  # a property now references a model the document lacks
        assert walks == [1]
        assert doc.get_model_by_id(new_range.id) is new_range and new_range.document is doc
        # the replaced range left the document
        with doc.models.freeze():
            src.data = {"x": np.arange(2.0), "y": np.ones(2)}
        assert walks == [1]
    finally:
        type(doc.models).recompute = original


def test_roots_added_or_removed_inside_a_freeze_are_registered():
    doc, fig, src, walks, original = _doc()
    try:
        other = figure()
        with doc.models.freeze():
            doc.add_root(other)
        assert doc.get_model_by_id(other.x_range.id) is other.x_range
        with doc.models.freeze():
            doc.remove_root(other)
        assert doc.get_model_by_id(other.x_range.id) is None
        assert doc.get_model_by_id(src.id) is src
    finally:
        type(doc.models).recompute = original


# -- LeanModelManager --------------------------------------------------------------------------


def test_bokeh_model_manager_still_walks_the_graph_when_the_last_freeze_ends():
    """What the lean manager skips: ``_pop_freeze`` recomputes at count 0, and a property that
    now references other models calls ``invalidate`` (the mixin's dirty mark)."""
    from bokeh.document.models import DocumentModelManager
    from bokeh.model import Model

    for name in ("_push_freeze", "_pop_freeze", "invalidate", "recompute"):
        assert callable(getattr(DocumentModelManager, name, None)), name
    doc = Document()
    assert doc.models._freeze_count == 0 and doc.models._document() is doc
    assert "self.recompute()" in inspect.getsource(DocumentModelManager._pop_freeze)
    assert "models.invalidate()" in inspect.getsource(Model.trigger)


# -- the two BokehJS patches -------------------------------------------------------------------


def _declared(module: str, cls: str) -> str:
    """The declaration of class ``cls`` in BokehJS's ``lib/<module>.d.ts`` (the page's source)."""
    text = (BOKEHJS / "lib" / f"{module}.d.ts").read_text()
    start = text.index(f"export declare class {cls}")
    return text[start : text.index("\n}", start)]


def test_bokehjs_document_still_has_what_prompt_cleanup_wraps():
    doc = _declared("document/document", "Document")
    for member in (
        r"apply_json_patch\(",
        r"_recompute_all_models\(\): void",
        r"_all_models: Map<",
        r"_all_models_freeze_count: number",
        r"_schedule_recompute_all_models\(\): void",
    ):
        assert re.search(member, doc), member
    bundle = (BOKEHJS / "bokeh.min.js").read_text()
    assert '"document/document"' in bundle and "_recompute_all_models" in bundle
    for name in ("apply_json_patch", "_recompute_all_models", "_all_models_freeze_count"):
        assert name in _compat.PROMPT_CLEANUP_JS


def test_bokehjs_gesture_recogniser_still_has_what_the_press_guard_wraps():
    gestures = _declared("core/ui_gestures", "UIGestures")
    for member in (
        r"_start_timeout\(\): void",
        r"_pointer_timeout\(\): void",
        r"static readonly press_threshold",
        r"press_timer: number \| null",
    ):
        assert re.search(member, gestures), member
    bundle = (BOKEHJS / "bokeh.min.js").read_text()
    assert '"core/ui_gestures"' in bundle and "_pointer_timeout" in bundle
    for name in ("_start_timeout", "_pointer_timeout", "press_threshold", "press_timer"):
        assert name in _compat.PRESS_GUARD_JS


# -- Panel text panes ------------------------------------------------------------------------------


def _stylesheet_models(pane) -> tuple[list, list]:
    """The pane's stylesheet models before and after a new text."""
    model = pane.get_root(Document())
    before = [s for s in model.stylesheets if not isinstance(s, str)]
    pane.object = "new **text**"
    return before, [s for s in model.stylesheets if not isinstance(s, str)]


def test_panel_text_panes_still_resend_stylesheets_and_ours_do_not():
    import panel as pn

    for kind in ("Markdown", "HTML"):
        base = getattr(pn.pane, kind)
        assert list(inspect.signature(base._update).parameters) == ["self", "ref", "model"]
        assert "doc" in inspect.signature(base._get_properties).parameters
        before, after = _stylesheet_models(base("old"))
        assert before and {s.id for s in before}.isdisjoint(s.id for s in after)  # what the patch avoids
        before, after = _stylesheet_models(getattr(_compat, kind)("old"))
        assert [s.id for s in before] == [s.id for s in after]
        assert isinstance(getattr(_compat, kind)("x"), base)


# -- HoloViews ---------------------------------------------------------------------------------------


def test_holoviews_overlay_plots_still_hand_out_their_colour_bars():
    import holoviews as hv
    from bokeh.models import ColorBar

    from galexplore.dashboard._setup import ensure_bokeh

    ensure_bokeh()
    overlay = hv.Image(np.random.default_rng(0).random((4, 4))).opts(colorbar=True) * hv.Points([(0, 0)])
    plot = hv.renderer("bokeh").get_plot(overlay)
    bars = _compat.colorbar_models(plot)
    assert len(bars) == 1 and isinstance(bars[0], ColorBar) and bars[0] in plot.state.right


def test_the_all_nan_raster_warning_still_comes_from_the_filtered_module():
    import holoviews as hv

    from galexplore.dashboard._setup import ensure_bokeh

    ensure_bokeh()

    def warnings_of_an_empty_raster(quiet: bool) -> list[warnings.WarningMessage]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if quiet:
                _compat.quiet_empty_rasters()
            hv.renderer("bokeh").get_plot(hv.Image(np.full((3, 3), np.nan, np.float32)))
        return [w for w in caught if "All-NaN slice" in str(w.message)]

    loud = warnings_of_an_empty_raster(False)
    assert loud and all(
        re.search(_compat.EMPTY_RASTER_WARNING_MODULE.replace("\\.", "/"), w.filename) for w in loud
    )
    assert warnings_of_an_empty_raster(True) == []


# -- Dask ----------------------------------------------------------------------------------------------


def test_dask_tokens_of_datashader_closures_are_fresh_and_others_unchanged():
    from dask.base import tokenize
    from datashader.utils import lnglat_to_meters

    def plain(x):
        return x

    assert isinstance(lnglat_to_meters, types.FunctionType) and lnglat_to_meters.__module__.startswith(
        "datashader."
    )
    _compat.quick_datashader_tokens()
    _compat.quick_datashader_tokens()  # idempotent
    assert tokenize(lnglat_to_meters) != tokenize(lnglat_to_meters)
    assert tokenize(plain) == tokenize(plain)


# -- Tornado / asyncio ------------------------------------------------------------------------------


def test_a_websocket_closed_mid_send_is_still_logged_by_asyncio_and_filtered_out():
    from tornado.websocket import WebSocketClosedError

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    log = logging.getLogger("asyncio")
    installed = [
        f for f in log.filters if isinstance(f, _compat.ClosedSocketFilter)
    ]  # by a server started earlier
    for f in installed:
        log.removeFilter(f)
    log.addHandler(handler)

    async def send():
        raise WebSocketClosedError()

    async def main():
        task = asyncio.ensure_future(send())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        del task  # never retrieved

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
        gc.collect()
    finally:
        loop.close()
        log.removeHandler(handler)
        for f in installed:
            log.addFilter(f)
    closed = [r for r in records if r.exc_info and isinstance(r.exc_info[1], WebSocketClosedError)]
    assert closed and "never retrieved" in closed[0].getMessage()
    assert not any(_compat.ClosedSocketFilter().filter(r) for r in closed)
    other = logging.LogRecord(
        "asyncio", logging.ERROR, __file__, 1, "a real error", None, (ValueError, ValueError(), None)
    )
    assert _compat.ClosedSocketFilter().filter(other)


def test_a_background_poll_leaves_the_busy_indicator_alone_and_a_plain_one_still_sets_it():
    import panel as pn
    from panel.io.callbacks import PeriodicCallback

    seen = {}

    def run_once(**params) -> bool:
        seen.clear()
        cb = PeriodicCallback(
            callback=lambda: seen.setdefault("busy", pn.state.busy), period=10**6, running=True, **params
        )
        asyncio.run(cb._periodic_callback())
        return seen["busy"]

    assert run_once() is True  # what the patch works around: a plain periodic callback is "busy"
    assert run_once(background=True) is False  # the parameter background_poll relies on
    assert pn.state.busy is False
    doc = Document()
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        cb = _compat.background_poll(lambda: None, 10**6)
        try:
            assert cb._background and cb in pn.state._periodic[doc] and cb.running
            assert pn.state.busy is False
        finally:
            cb.stop()
        calls = []
        once = _compat.background_poll(lambda: calls.append(pn.state.busy), 10**6, count=1)
        try:
            asyncio.run(once._periodic_callback())
            assert calls == [False] and not once.running  # one call, not busy, then stopped
        finally:
            once.stop()


def test_pages_with_markdown_still_get_mathjax_from_panel_but_not_after_no_mathjax(monkeypatch):
    import panel as pn
    from bokeh.resources import CDN
    from panel.io import resources

    # Panel's own test, even where a server of this process already switched it off; undone after
    original = getattr(resources._panel_use_mathjax, "_gx_original", resources._panel_use_mathjax)
    monkeypatch.setattr(resources, "_panel_use_mathjax", original)
    doc = Document()
    pn.pane.Markdown("log SFR [M☉ yr⁻¹]").server_doc(doc)  # a root that is a pane, as in a template

    def js(roots) -> str:
        return " ".join(map(str, resources.bundle_resources(roots, CDN).js_files))

    assert "bokeh-mathjax" in js(doc.roots)  # what the patch works around
    _compat.no_mathjax()
    _compat.no_mathjax()  # idempotent
    assert "bokeh-mathjax" not in js(doc.roots)
    forced = resources.bundle_resources(doc.roots, CDN, enable_mathjax=True)
    assert "bokeh-mathjax" in " ".join(map(str, forced.js_files))


def test_range_and_size_callbacks_still_debounce_and_the_hook_makes_both_plots_prompt(tiny_data):
    import holoviews as hv
    from holoviews.plotting.bokeh.callbacks import PlotSizeCallback, RangeXYCallback

    from galexplore.dashboard.state import ExplorerState
    from galexplore.dashboard.views.embedding_map import EmbeddingMap
    from galexplore.dashboard.views.main_sequence import MainSequence

    hv.extension("bokeh", logo=False)

    def view_callbacks(obj):
        plot = hv.renderer("bokeh").get_plot(obj)
        cbs = [cb for cbs in plot.traverse(lambda p: p.callbacks) for cb in cbs]
        return [cb for cb in cbs if isinstance(cb, RangeXYCallback | PlotSizeCallback)]

    dmap = hv.DynamicMap(
        lambda x_range, y_range, width, height, scale: hv.Points([]),
        streams=[hv.streams.RangeXY(), hv.streams.PlotSize()],
    )
    assert [cb.debounce for cb in view_callbacks(dmap)] == [100, 100]  # what the hook works around
    state = ExplorerState(tiny_data)
    for view in (EmbeddingMap(state)._build(), MainSequence(state)._build()):
        prompt = view_callbacks(view)
        assert {type(cb) for cb in prompt} == {RangeXYCallback, PlotSizeCallback}
        assert all(cb.debounce is None for cb in prompt)  # every layer's
