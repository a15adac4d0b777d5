"""Unusual galaxies: the anomaly score as a colouring, and the most unusual galaxies as a selection.

The scores are :func:`galexplore.analysis.anomaly_store.run_anomaly`'s: an isolation forest on a
PCA of the L2-normalised embedding, higher = more unusual, cached in ``RUN/anomaly.parquet`` (a
restarted server reads them back) and across sessions by the data's token. They are computed the
first time a session asks for them (colouring by :data:`~galexplore.dashboard.state.ANOMALY`, or
"Select the most unusual"), in a thread of their own so the page stays responsive; a session asking
while another one's computation runs waits for that one.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future

import numpy as np
import panel as pn

from galexplore.analysis.anomaly import AnomalyScorer, most_unusual
from galexplore.dashboard import _compat
from galexplore.dashboard.compute.in_flight import InFlight
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.state import ANOMALY, ExplorerState
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: How many of the most unusual galaxies the button selects by default.
DEFAULT_N = 24

#: The anomaly scores being computed, by data token.
_RUNNING = InFlight()


def compute_anomaly(data: ExplorerData) -> np.ndarray:
    """Anomaly score (N,) float32 of every galaxy of ``data`` (higher = more unusual), read-only.

    From the run's cache when it is fresh, else computed (and cached in the run); once per
    server. Raises :class:`GalexploreError` when the run has no embeddings.
    """
    if data.embeddings is None:
        raise GalexploreError("anomaly scores need the run's embeddings (embeddings.parquet)")
    return _cached_anomaly(data)


@per_server_cache(2)
def _cached_anomaly(data: ExplorerData) -> np.ndarray:
    from galexplore.analysis.anomaly_store import run_anomaly

    if data.run is None:
        scores = AnomalyScorer().fit_score(data.embeddings.get(data.embeddings.modalities[0]))
    else:
        scores = run_anomaly(data.run, embeddings=data.embeddings).aligned(data.galaxy_ids)
    scores = np.asarray(scores, dtype=np.float32)
    scores.setflags(write=False)
    return scores


def anomaly_future(data: ExplorerData) -> Future:
    """:func:`compute_anomaly` in a daemon thread (unless already being computed): its future."""
    return _RUNNING.start(data.token, lambda: compute_anomaly(data), name="galexplore-anomaly")


class UnusualGalaxies(pn.viewable.Viewer):
    """How many, a "Select the most unusual" button, a busy indicator and "Colour map by anomaly score".

    Parameters
    ----------
    state : ExplorerState
        The session it reads (colour-by) and writes (selection, :attr:`~ExplorerState.derived`).
    """

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._n = pn.widgets.IntInput(label="How many", value=DEFAULT_N, start=1, end=1000, width=90)
        self._select = pn.widgets.Button(
            label="Select the most unusual", color="primary", css_classes=["gx-unusual-select"]
        )
        self._select.on_click(self.select_most_unusual)
        self._color = pn.widgets.Button(
            label="Colour map by anomaly score", css_classes=["gx-color-by-anomaly"]
        )
        self._color.on_click(lambda _: setattr(self.state, "color_by", ANOMALY))
        self._spinner = pn.indicators.LoadingSpinner(value=False, size=22, css_classes=["gx-unusual-busy"])
        self._status = _compat.Markdown(
            "Anomaly scores: isolation forest on the embedding, computed when first asked for.",
            css_classes=["gx-unusual-status"],
        )
        self._busy = False
        state.param.watch(self._on_color_by, ["color_by"])
        if state.color_by == ANOMALY:
            pn.state.execute(self.ensure_scores)

    # -- computing ------------------------------------------------------------------------------
    async def ensure_scores(self) -> np.ndarray | None:
        """The scores, computed in a worker thread the first time; None if that failed (the
        reason is the session's message)."""
        have = self.state.derived.get(ANOMALY)
        if have is not None:
            return have
        self._set_busy(True)
        try:
            scores = await asyncio.wrap_future(anomaly_future(self.state.data))
            self.state.set_derived(ANOMALY, scores)
            finite = scores[np.isfinite(scores)]
            if finite.size:
                self._status.object = (
                    f"Anomaly scores of {finite.size:,} galaxies: median {np.median(finite):.3f}, "
                    f"highest {finite.max():.3f} (higher = more unusual)."
                )
            return scores
        except GalexploreError as exc:
            self.state.message = f"anomaly scores failed: {exc}"
        except Exception as exc:  # never break the server
            log.exception("anomaly scores failed")
            self.state.message = f"anomaly scores failed: {type(exc).__name__}: {exc}"
        finally:
            self._set_busy(False)
        return None

    async def select_most_unusual(self, _event=None) -> None:
        """Select the :attr:`_n` most unusual galaxies, most unusual first (the gallery shows them)."""
        scores = await self.ensure_scores()
        if scores is None:
            return
        n = int(self._n.value or DEFAULT_N)
        self.state.select(most_unusual(scores, n), f"{n} most unusual", ordered=True)

    # -- reacting -------------------------------------------------------------------------------
    def _on_color_by(self, event) -> None:
        if event.new == ANOMALY and ANOMALY not in self.state.derived:
            pn.state.execute(self.ensure_scores)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._spinner.value = busy
        self._select.disabled = busy
        if busy:
            self._status.object = "Computing anomaly scores…"

    def __panel__(self):
        return pn.Column(
            pn.Row(self._n, self._select, self._spinner),
            self._color,
            self._status,
            sizing_mode="stretch_width",
        )
