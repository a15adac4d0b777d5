"""Clusters on demand: method and k as widgets, recomputed off the event loop, summarised in a table.

Clustering itself is :class:`galexplore.analysis.clustering.Clusterer`; results are cached across
sessions by (data, method, k). A clustering saved in ``RUN/clusters/`` (e.g. by
``galexplore cluster`` or ``galexplore demo``) is the starting point when there is one.
Clicking a row of the summary table selects that cluster.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from galexplore.analysis.clustering import METHOD_LABELS, NOISE, NOISE_NAME, Clusterer, cluster_summary
from galexplore.dashboard import _compat
from galexplore.dashboard.compute.in_flight import InFlight
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.state import CLUSTER, ExplorerState, reports_errors
from galexplore.errors import GalexploreError, StoreError

log = logging.getLogger(__name__)

#: Catalog column → its header in the cluster table (medians), short so the table fits the sidebar.
SUMMARY_COLUMNS = {"log_mstar": "log M*", "log_ssfr": "log sSFR"}
#: EW(Hα) class → its header in the cluster table (percent of the cluster).
SUMMARY_CLASSES = {"star-forming": "% SF", "retired": "% ret."}

#: Number formats of the cluster table's columns (Bokeh's Numbro formats).
TABLE_FORMATTERS = {
    "n": NumberFormatter(format="0,0"),
    "%": NumberFormatter(format="0.0"),
    **{h: NumberFormatter(format="0.00") for h in SUMMARY_COLUMNS.values()},
    **{h: NumberFormatter(format="0") for h in SUMMARY_CLASSES.values()},
}
TABLE_CSS = """
.tabulator, .tabulator .tabulator-row, .tabulator .tabulator-cell, .tabulator .tabulator-col {
  font-size: 12px !important;
}
.tabulator .tabulator-cell { padding: 3px 5px !important; }
.tabulator .tabulator-col .tabulator-col-content { padding: 3px 5px !important; }
"""


def clustering_space(data: ExplorerData) -> tuple[str, np.ndarray]:
    """What is clustered: the (first) embedding if the run has one, else the 2-d projection."""
    if data.embeddings is not None:
        return "embedding", data.embeddings.get(data.embeddings.modalities[0])
    return "projection", data.xy


def cluster_key(
    method: str, k: int, min_cluster_size: int | None = None, min_samples: int | None = None
) -> str:
    """How a clustering is named in the page, e.g. ``"kmeans k=5"`` or ``"hdbscan min size 30, min samples 3"``."""
    if method != "hdbscan":
        return f"{method} k={int(k)}"
    parts = [
        f"min size {min_cluster_size}" if min_cluster_size else "",
        f"min samples {min_samples}" if min_samples else "",
    ]
    return " ".join(["hdbscan", ", ".join(p for p in parts if p)]).strip()


#: The clusterings being computed: a second caller waits for the first one's result.
_RUNNING = InFlight()


def _key_and_compute(
    data: ExplorerData, method: str, k: int, random_state: int, hdbscan: tuple = (None, None)
) -> tuple[tuple, Callable[[], np.ndarray]]:
    """The in-flight key of a clustering and the function that computes it (cached)."""
    if method != "hdbscan":
        hdbscan = (None, None)  # k-means and GMM ignore them: one cache entry
    else:
        k = 0  # HDBSCAN ignores k
    key = (data.token, method, k, random_state, hdbscan)
    return key, lambda: _cached_clusters(data, method, k, random_state, *hdbscan)


def compute_clusters(
    data: ExplorerData,
    method: str,
    k: int,
    random_state: int = 0,
    *,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
) -> np.ndarray:
    """Cluster labels (N,) int64 (−1 = noise) of every galaxy; cached across sessions.

    ``min_cluster_size`` and ``min_samples`` are HDBSCAN's (see
    :class:`~galexplore.analysis.clustering.Clusterer`; None: its defaults).

    Computed once per server: a call made while the same clustering is being computed (by
    :func:`clusters_future`, e.g. the server's start-up warm-up) waits for that result.
    """
    return _RUNNING.run(*_key_and_compute(data, method, k, random_state, (min_cluster_size, min_samples)))


def clusters_future(
    data: ExplorerData,
    method: str,
    k: int,
    random_state: int = 0,
    *,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
) -> Future:
    """:func:`compute_clusters` in a daemon thread of its own (started unless the same
    clustering is already being computed): a future of the labels, for the event loop to await.

    K-means of 10⁶ × 1,024 vectors takes minutes: the loop answers pages meanwhile, and a
    server stopped meanwhile does not wait for it.
    """
    key, compute = _key_and_compute(data, method, k, random_state, (min_cluster_size, min_samples))
    return _RUNNING.start(key, compute, name=f"galexplore-clusters-{method}-{k}")


@per_server_cache(32)
def _cached_clusters(
    data: ExplorerData, method: str, k: int, random_state: int, min_cluster_size=None, min_samples=None
) -> np.ndarray:
    space, X = clustering_space(data)
    clusterer = Clusterer(
        method,
        max(int(k), 1),
        space=space,
        random_state=random_state,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
    )
    labels = clusterer.fit(X).labels_
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
    """Display table of a clustering: size, share, medians and class mix per cluster (noise last).

    Medians have 2 decimals (log quantities), percentages none (the share of the survey 1).
    Computed once per server and clustering (every page opens on the same clustering: 0.15 s a
    page at 10⁶ galaxies); each call gets its own copy.
    """
    return _summary_table(data, np.asarray(labels, dtype=np.int64)).copy()


@per_server_cache(16)
def _summary_table(data: ExplorerData, labels: np.ndarray) -> pd.DataFrame:
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
    for cls, header in SUMMARY_CLASSES.items():
        if f"frac_{cls}" in summ.columns:
            out[header] = (100 * summ[f"frac_{cls}"]).round(0).astype(int).to_numpy()
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
            sizing_mode="stretch_width",
            css_classes=["gx-cluster-method"],
        )
        self._k = pn.widgets.IntInput.from_param(
            state.param.n_clusters, label="k (clusters)", width=110, css_classes=["gx-cluster-k"]
        )
        self._min_size = pn.widgets.IntInput.from_param(
            state.param.min_cluster_size,
            label="min cluster size",
            width=120,
            css_classes=["gx-cluster-min-size"],
        )
        self._min_samples = pn.widgets.IntInput.from_param(
            state.param.min_samples, label="min samples", width=120, css_classes=["gx-cluster-min-samples"]
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
            layout="fit_data_fill",  # wider than the sidebar: scrolls sideways, the cluster column stays
            frozen_columns=["cluster"],
            sortable=False,  # no sort arrows: the columns fit the sidebar
            formatters=TABLE_FORMATTERS,
            sizing_mode="stretch_width",
            stylesheets=[TABLE_CSS],
            css_classes=["gx-cluster-table"],
        )
        self._table.param.watch(self._on_table, ["selection"])
        self._color = pn.widgets.Button(label="Colour map by cluster", css_classes=["gx-color-by-cluster"])
        self._color.on_click(lambda _: setattr(self.state, "color_by", CLUSTER))
        state.param.watch(self._on_labels, ["cluster_labels"])
        state.param.watch(self._on_busy, ["busy"])
        state.param.watch(self._show_method_params, ["cluster_method"])
        self._show_method_params()
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
        hdbscan = {"min_cluster_size": self.state.min_cluster_size, "min_samples": self.state.min_samples}
        key = cluster_key(method, k, *hdbscan.values())
        log.debug("recomputing clusters: %s", key)
        self.state.busy = True
        try:
            labels = await asyncio.wrap_future(clusters_future(self.state.data, method, k, **hdbscan))
            self.state.set_clusters(labels, key)
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
    def _show_method_params(self, *_events) -> None:
        """k for k-means and GMM; minimum cluster size and samples for HDBSCAN."""
        hdbscan = self.state.cluster_method == "hdbscan"
        self._k.visible = not hdbscan
        self._min_size.visible = self._min_samples.visible = hdbscan

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
        extra = f", {noise:,} noise = {100 * noise / len(labels):.0f} %" if noise else ""
        self._status.object = f"**{n} clusters** ({self.state.cluster_key}{extra}). Click a row to select it."
        self._table.value = summary_table(self.state.data, labels)

    @reports_errors("selecting a cluster")
    def _on_table(self, event) -> None:
        if not event.new or self.state.cluster_labels is None:
            return
        name = str(self._table.value.iloc[event.new[0]]["cluster"])
        label = NOISE if name == NOISE_NAME else int(name)
        rows = np.flatnonzero(self.state.cluster_labels == label)
        self.state.select(rows, f"cluster {name} of {self.state.cluster_key}", link=f"cluster={name}")

    def __panel__(self):
        return pn.Column(
            pn.Row(self._method, sizing_mode="stretch_width"),
            pn.Row(self._k, self._min_size, self._min_samples),
            pn.Row(self._button, self._spinner),
            self._status,
            self._table,
            self._color,
            sizing_mode="stretch_width",
        )
