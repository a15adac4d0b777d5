"""Background prefetching of training batches: same batches, same order, same training."""

from __future__ import annotations

import threading

import pytest
import torch

from galexplore.training import load_checkpoint, train
from galexplore.training.data import prefetch

from .conftest import tiny


def test_prefetch_yields_the_same_items_in_order_in_a_worker_thread():
    threads = []

    def make(i):
        threads.append(threading.current_thread().name)
        return i * i

    assert list(prefetch(range(7), make)) == [i * i for i in range(7)]
    assert all(name.startswith("galexplore-prefetch") for name in threads)
    assert list(prefetch(range(7), make, enabled=False)) == [i * i for i in range(7)]
    assert threads[-1] == threading.current_thread().name
    assert list(prefetch([], make)) == []


def test_prefetch_draws_at_most_one_item_ahead():
    drawn = []

    def items():
        for i in range(100):
            drawn.append(i)
            yield i

    it = prefetch(items(), lambda i: i)
    assert next(it) == 0
    assert next(it) == 1
    it.close()  # the consumer stops early: the worker finishes its one pending item only
    assert drawn == [0, 1, 2]


def test_prefetch_propagates_errors():
    def make(i):
        if i == 3:
            raise ValueError("bad batch 3")
        return i

    with pytest.raises(ValueError, match="bad batch 3"):
        list(prefetch(range(10), make))


def test_training_with_and_without_prefetch_is_identical(tiny_survey, tmp_path):
    """Batches and augmentations are drawn in the same order, so the weights agree bit for bit."""
    a = train(tiny_survey, tmp_path / "a", tiny(epochs=2, prefetch=True))
    b = train(tiny_survey, tmp_path / "b", tiny(epochs=2, prefetch=False))
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    sa, sb = load_checkpoint(tmp_path / "a")["model"], load_checkpoint(tmp_path / "b")["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
