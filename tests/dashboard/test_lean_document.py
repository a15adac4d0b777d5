"""The lean model manager skips Bokeh's model-graph walk only when nothing joined or left."""

from __future__ import annotations

import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure

from galexplore.dashboard._setup import LeanModelManager, lean_document


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
