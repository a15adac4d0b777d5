"""Clusters on demand: method and k as widgets, recomputed off the event loop, summarised in a table.

Clustering itself is :class:`galexplore.analysis.clustering.Clusterer`; results are cached across
sessions by (data, method, k). A clustering saved in ``RUN/clusters/`` (e.g. by
``galexplore cluster`` or ``galexplore demo``) is the starting point when there is one.
Clicking a row of the summary table selects that cluster.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
import pandas as pd
import panel as pn

from galexplore.analysis.clustering import METHOD_LABELS, NOISE, NOISE_NAME, Clusterer, cluster_summary
from galexplore.dashboard import _compat
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.state import CLUSTER, ExplorerState, reports_errors
from galexplore.errors import GalexploreError, StoreError

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = {"log_mstar": "med. log M*", "log_ssfr": "med. log sSFR", "ew_ha": "med. EW(Hα)"}


def clustering_space(data: ExplorerData) -> tuple[str, np.ndarray]:
    """What is clustered: the (first) embedding if the run has one, else the 2-d projection."""
    if data.embeddings is not None:
        return "embedding", data.embeddings.get(data.embeddings.modalities[0])
    return "projection", data.xy


def cluster_key(method: str, k: int) -> str:
    return "hdbscan" if method == "hdbscan" else f"{method} k={int(k)}"


#: The clusterings being computed, by (data token, method, k, seed): a second caller waits for
#: the first one's result instead of computing the same clustering again.
_IN_FLIGHT: dict[tuple, Future] = {}
_IN_FLIGHT_GUARD = threading.Lock()


def _claim(
    data: ExplorerData, method: str, k: int, random_state: int
) -> tuple[Future, Callable[[], None] | None]:
    """The future of a clustering and, if no one is computing it yet, the function that computes
    it (sets the future's result or exception); None if it is in flight elsewhere."""
    key = (data.token, method, k, random_state)
    with _IN_FLIGHT_GUARD:
        if key in _IN_FLIGHT:
            return _IN_FLIGHT[key], None
        fut = _IN_FLIGHT[key] = Future()

    def work() -> None:
        try:
            fut.set_result(_cached_clusters(data, method, k, random_state))
        except BaseException as exc:  # the waiters get it (a thread has no one else to raise to)
            fut.set_exception(exc)
        finally:
            with _IN_FLIGHT_GUARD:
                _IN_FLIGHT.pop(key, None)

    return fut, work


def compute_clusters(data: ExplorerData, method: str, k: int, random_state: int = 0) -> np.ndarray:
    """Cluster labels (N,) int64 (−1 = noise) of every galaxy; cached across sessions.

    Computed once per server: a call made while the same clustering is being computed (by
    :func:`clusters_future`, e.g. the server's start-up warm-up) waits for that result.
    """
    fut, work = _claim(data, method, k, random_state)
    if work is not None:
        work()
    return fut.result()


def clusters_future(data: ExplorerData, method: str, k: int, random_state: int = 0) -> Future:
    """:func:`compute_clusters` in a daemon thread of its own (started unless the same
    clustering is already being computed): a future of the labels, for the event loop to await.

    K-means of 10⁶ × 1,024 vectors takes minutes: the loop answers pages meanwhile, and a
    server stopped meanwhile does not wait for it.
    """
    fut, work = _claim(data, method, k, random_state)
    if work is not None:
        threading.Thread(target=work, name=f"galexplore-clusters-{method}-{k}", daemon=True).start()
    return fut


@per_server_cache(32)
def _cached_clusters(data: ExplorerData, method: str, k: int, random_state: int) -> np.ndarray:
    space, X = clustering_space(data)
    labels = Clusterer(method, int(k), space=space, random_state=random_state).fit(X).labels_
    labels = np.asarray(labels, dtype=np.int64)
    labels.setflags(write=False)
    return labels


@per_server_cache(4)
def saved_clusters(data: ExplorerData) -> tuple[str, int, np.ndarray] | None:
    """The run's most recent saved clustering as (method, k, labels aligned to ``data``), or None."""
    if data.run is None:
        return None
    from galexplore.analysis.cluster_store import load_clusters

    try:
        result = load_clusters(data.run)
    except StoreError:
        return None
    frame = result.labels.set_index(result.labels["galaxy_id"].astype(str))["cluster"]
    labels = frame.reindex(data.galaxy_ids).to_numpy()
    if pd.isna(labels).any():
        log.warning("saved clustering %s does not cover every galaxy; ignored", result.path)
        return None
    method = str(result.params.get("method", "kmeans"))
    k = int(result.params.get("n_clusters") or result.params.get("n_clusters_found") or 2)
    labels = labels.astype(np.int64)
    labels.setflags(write=False)
    return method, k, labels


def summary_table(data: ExplorerData, labels: np.ndarray) -> pd.DataFrame:
    """Display table of a clustering: size, share and medians per cluster (noise last)."""
    _, X = clustering_space(data)
    cols = [c for c in SUMMARY_COLUMNS if c in data.catalog.columns]
    summ = cluster_summary(data.catalog, labels, None, columns=cols)
    out = pd.DataFrame(
        {
            "cluster": [NOISE_NAME if c < 0 else str(c) for c in summ.index],
            "n": summ["size"].to_numpy(),
            "%": (100 * summ["fraction"]).round(1).to_numpy(),
        }
    )
    for c in cols:
        out[SUMMARY_COLUMNS[c]] = summ[f"median_{c}"].round(2).to_numpy()
    for cls in ("star-forming", "retired"):
        if f"frac_{cls}" in summ.columns:
            out[f"% {cls}"] = (100 * summ[f"frac_{cls}"]).round(0).to_numpy()
    return out


class ClusterControls(pn.viewable.Viewer):
    """Method, k, a recompute button with a busy indicator, and the summary table."""

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._method = pn.widgets.Select.from_param(
            state.param.cluster_method,
            label="Method",
            options={label: m for m, label in METHOD_LABELS.items()},
            css_classes=["gx-cluster-method"],
        )
        self._k = pn.widgets.IntInput.from_param(
            state.param.n_clusters, label="k", width=80, css_classes=["gx-cluster-k"]
        )
        self._button = pn.widgets.Button(
            label="Recompute clusters", color="primary", css_classes=["gx-cluster-recompute"]
        )
        self._button.on_click(self.recompute)
        self._spinner = pn.indicators.LoadingSpinner(
            value=False, size=22, label="", css_classes=["gx-cluster-busy"]
        )
        self._status = _compat.Markdown("", css_classes=["gx-cluster-status"])
        self._table = pn.widgets.Tabulator(
            pd.DataFrame(),
            show_index=False,
            disabled=True,
            selectable=1,
            height=220,
            layout="fit_data_table",
            css_classes=["gx-cluster-table"],
        )
        self._table.param.watch(self._on_table, ["selection"])
        self._color = pn.widgets.Button(label="Colour map by cluster", css_classes=["gx-color-by-cluster"])
        self._color.on_click(lambda _: setattr(self.state, "color_by", CLUSTER))
        state.param.watch(self._on_labels, ["cluster_labels"])
        state.param.watch(self._on_busy, ["busy"])
        state.param.watch(lambda e: setattr(self._k, "disabled", e.new == "hdbscan"), ["cluster_method"])
        saved = saved_clusters(state.data)
        if saved is not None and state.cluster_labels is None:
            method, k, labels = saved
            state.param.update(cluster_method=method, n_clusters=max(2, min(k, 30)))
            state.set_clusters(labels, cluster_key(method, k) + " (saved)")
        self._on_labels()

    # -- computing ---------------------------------------------------------------------------
    async def recompute(self, _event=None) -> None:
        """Cluster with the current method and k in a worker thread; the page stays responsive."""
        if self.state.busy:
            return
        method, k = self.state.cluster_method, int(self.state.n_clusters)
        log.debug("recomputing clusters: %s", cluster_key(method, k))
        self.state.busy = True
        try:
            labels = await asyncio.wrap_future(clusters_future(self.state.data, method, k))
            self.state.set_clusters(labels, cluster_key(method, k))
        except GalexploreError as exc:
            self.state.message = f"clustering failed: {exc}"
        except Exception as exc:  # never break the server
            log.exception("clustering failed")
            self.state.message = f"clustering failed: {type(exc).__name__}: {exc}"
        finally:
            self.state.busy = False

    def ensure_clusters(self) -> None:
        """Compute clusters for the current settings if there are none (scheduled on the event loop)."""
        if self.state.cluster_labels is None:
            pn.state.execute(self.recompute)

    # -- reacting ----------------------------------------------------------------------------
    def _on_busy(self, event) -> None:
        self._spinner.value = event.new
        self._button.disabled = event.new
        self._button.label = "Clustering…" if event.new else "Recompute clusters"

    def _on_labels(self, *_events) -> None:
        labels = self.state.cluster_labels
        if labels is None:
            self._status.object = "No clusters yet."
            self._table.value = pd.DataFrame()
            return
        n = int(labels.max()) + 1 if (labels >= 0).any() else 0
        noise = int((labels < 0).sum())
        extra = f", {noise:,} noise" if noise else ""
        self._status.object = f"**{n} clusters** ({self.state.cluster_key}{extra}). Click a row to select it."
        self._table.value = summary_table(self.state.data, labels)

    @reports_errors("selecting a cluster")
    def _on_table(self, event) -> None:
        if not event.new or self.state.cluster_labels is None:
            return
        name = str(self._table.value.iloc[event.new[0]]["cluster"])
        label = NOISE if name == NOISE_NAME else int(name)
        rows = np.flatnonzero(self.state.cluster_labels == label)
        self.state.select(rows, f"cluster {name} of {self.state.cluster_key}")

    def __panel__(self):
        return pn.Column(
            pn.Row(self._method, self._k),
            pn.Row(self._button, self._spinner),
            self._status,
            self._table,
            self._color,
            sizing_mode="stretch_width",
        )
