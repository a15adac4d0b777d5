"""Computations shared by the server's sessions while they run: one computation per key.

Clustering 10⁶ × 1,024 vectors or scoring their anomalies takes minutes. :class:`InFlight` lets a
second session (or the server's start-up warm-up) that asks for the same result wait for the
computation already running instead of starting it again; the result itself is cached by the
function it runs (e.g. :func:`~galexplore.dashboard.data.per_server_cache`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class InFlight:
    """The futures of the computations running now, by key (thread-safe)."""

    def __init__(self) -> None:
        self._futures: dict[Hashable, Future] = {}
        self._guard = threading.Lock()

    def claim(self, key: Hashable, compute: Callable[[], Any]) -> tuple[Future, Callable[[], None] | None]:
        """The future of ``key``'s result and, if no one is computing it yet, the function that
        computes it (runs ``compute`` and sets the future's result or exception); None if it is
        in flight elsewhere."""
        with self._guard:
            if key in self._futures:
                return self._futures[key], None
            fut = self._futures[key] = Future()

        def work() -> None:
            try:
                fut.set_result(compute())
            except BaseException as exc:  # the waiters get it (a thread has no one else to raise to)
                fut.set_exception(exc)
            finally:
                with self._guard:
                    self._futures.pop(key, None)

        return fut, work

    def run(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` here, or the result of the same key's computation already running."""
        fut, work = self.claim(key, compute)
        if work is not None:
            work()
        return fut.result()

    def start(self, key: Hashable, compute: Callable[[], Any], *, name: str) -> Future:
        """``compute()`` in a daemon thread called ``name`` (unless the key is already being
        computed): its future, for the event loop to await (``asyncio.wrap_future``)."""
        fut, work = self.claim(key, compute)
        if work is not None:
            threading.Thread(target=work, name=name, daemon=True).start()
        return fut
