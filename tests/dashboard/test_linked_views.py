"""Selection views, clusters, similarity search and export, driven from Python (no browser)."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from galexplore.artifacts.export import read_export
from galexplore.dashboard.compute.similar import find_similar
from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.views.clusters import compute_clusters, summary_table
from galexplore.dashboard.views.distributions import class_codes, class_table, histogram_pair
from galexplore.dashboard.views.export import export_bytes
from galexplore.errors import GalexploreError


def test_histograms_share_bins_and_are_densities():
    rng = np.random.default_rng(0)
    v = rng.normal(size=5000)
    edges, all_d, sel_d = histogram_pair(v, np.flatnonzero(v > 1))
    w = np.diff(edges)
    assert abs((all_d * w).sum() - 1) < 0.02 and abs((sel_d * w).sum() - 1) < 1e-9
    assert sel_d[edges[1:] <= 1].sum() == 0  # the selection lies above 1
    edges, all_d, sel_d = histogram_pair(np.full(10, np.nan), [])
    assert all_d.sum() == 0 == sel_d.sum()


def test_class_table_counts_the_selection(tiny_data):
    rows = np.arange(20)
    t = class_table(*class_codes(tiny_data.catalog), rows)
    assert t["selected"].sum() == 20
    assert abs(t["survey %"].sum() - 100) < 0.5
    expected = tiny_data.catalog["sf_class"].iloc[rows].value_counts()
    assert dict(zip(t["class"], t["selected"], strict=True)) == {
        c: int(expected.get(c, 0)) for c in t["class"]
    }
    assert list(t["class"][:3]) == ["star-forming", "green-valley", "retired"]


def test_clusters_are_cached_and_summarised(tiny_data):
    labels = compute_clusters(tiny_data, "kmeans", 3)
    assert compute_clusters(tiny_data, "kmeans", 3) is labels  # shared across sessions
    assert not labels.flags.writeable
    assert set(np.unique(labels)) == {0, 1, 2}
    table = summary_table(tiny_data, labels)
    assert list(table["cluster"]) == ["0", "1", "2"] and table["n"].sum() == tiny_data.n
    assert table["n"].is_monotonic_decreasing  # 0 is the largest cluster


def test_clusters_separate_star_forming_from_retired(tiny_data):
    labels = compute_clusters(tiny_data, "kmeans", 2)
    cls = tiny_data.catalog["sf_class"].to_numpy()
    purity = max(np.mean(cls[labels == c] == "retired") for c in (0, 1))
    assert purity > 0.7


def test_find_similar_is_the_cosine_ranking(tiny_data):
    gid = tiny_data.galaxy_ids[10]
    rows = find_similar(tiny_data, gid, 8)
    z = tiny_data.embeddings.get()
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    expected = np.argsort(-(z @ z[10]), kind="stable")[:8]
    assert rows[0] == 10
    np.testing.assert_array_equal(np.sort(rows), np.sort(expected))
    with pytest.raises(GalexploreError):
        find_similar(tiny_data, "nope", 5)
    with pytest.raises(GalexploreError):
        find_similar(tiny_data, gid, 5, query_modality="spectra")


@pytest.mark.parametrize("fmt, suffix", [("csv", "csv"), ("fits", "fits"), ("votable", "vot")])
def test_export_round_trips_with_provenance(tiny_data, tmp_path, fmt, suffix):
    state = ExplorerState(tiny_data)
    with pytest.raises(GalexploreError, match="nothing is selected"):
        export_bytes(state, fmt)
    state.select([4, 1, 9], "lasso", lasso="0,0;1,0;1,1")
    state.set_clusters(np.arange(tiny_data.n) % 2, "kmeans k=2")
    path = tmp_path / f"sel.{suffix}"
    path.write_bytes(export_bytes(state, fmt))
    table, prov = read_export(path)
    assert sorted(np.asarray(table["galaxy_id"]).astype(str)) == sorted(tiny_data.galaxy_ids[[1, 4, 9]])
    assert list(np.asarray(table["cluster"])) == [1, 0, 1]
    assert (
        "by lasso" in prov["selection"]
        and "0,0;1,0;1,1" in prov["selection"]
        and "kmeans k=2" in prov["selection"]
    )
    assert prov["survey_fingerprint"] == tiny_data.survey.fingerprint
    assert np.allclose(np.asarray(table["log_mstar"]), tiny_data.catalog["log_mstar"].to_numpy()[[1, 4, 9]])


def test_cluster_recompute_runs_off_the_event_loop(tiny_data):
    from galexplore.dashboard.views.clusters import ClusterControls

    state = ExplorerState(tiny_data)
    controls = ClusterControls(state)
    state.param.update(cluster_method="gmm", n_clusters=3)
    busy_seen = []
    state.param.watch(lambda e: busy_seen.append(e.new), ["busy"])
    asyncio.run(controls.recompute())
    assert busy_seen == [True, False]
    assert state.cluster_key == "gmm k=3" and len(controls._table.value) == 3
    controls._table.selection = [1]
    assert state.selection_label == "cluster 1 of gmm k=3"
    np.testing.assert_array_equal(state.selection, np.flatnonzero(state.cluster_labels == 1))


class _HeldClusterer:
    """Stands in for ``Clusterer`` in the dashboard: counts its fits and holds each until released."""

    def __init__(self, real):
        self.real, self.fits, self.started, self.release = real, [], threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        model = self.real(*args, **kwargs)
        fit = model.fit

        def held_fit(X, y=None):
            self.fits.append(threading.current_thread().name)
            self.started.set()
            assert self.release.wait(30)
            return fit(X)

        model.fit = held_fit
        return model


def test_a_clustering_in_flight_is_computed_once(tiny_data, monkeypatch):
    from galexplore.dashboard.views import clusters

    held = _HeldClusterer(clusters.Clusterer)
    monkeypatch.setattr(clusters, "Clusterer", held)
    fut = clusters.clusters_future(tiny_data, "kmeans", 4, 17)  # a seed no other test uses: not cached
    assert held.started.wait(30)
    assert clusters.clusters_future(tiny_data, "kmeans", 4, 17) is fut  # in flight: shared
    got = []
    waiter = threading.Thread(target=lambda: got.append(compute_clusters(tiny_data, "kmeans", 4, 17)))
    waiter.start()
    held.release.set()
    waiter.join(30)
    assert got[0] is fut.result(timeout=30) and not got[0].flags.writeable
    assert held.fits == ["galexplore-clusters-kmeans-4"]  # once, in a thread of its own
    assert compute_clusters(tiny_data, "kmeans", 4, 17) is got[0]  # cached afterwards


def test_the_server_warm_up_does_not_wait_for_the_clusters(tiny_survey, tiny_run, monkeypatch):
    """k-means of 10⁶ × 1,024 takes minutes: the start-up warm-up (on the server's event loop)
    only starts it, and a page's recompute awaits the same computation."""
    from galexplore.dashboard import server
    from galexplore.dashboard.app import load_data
    from galexplore.dashboard.views import clusters

    clusters._cached_clusters.clear()
    held = _HeldClusterer(clusters.Clusterer)
    monkeypatch.setattr(clusters, "Clusterer", held)
    server._warm_up(tiny_survey.path, tiny_run, "first")  # returns while the clustering is held
    assert held.started.wait(30) and not held.release.is_set()
    state = ExplorerState(load_data(tiny_survey.path, tiny_run))
    controls = clusters.ClusterControls(state)

    async def page():
        task = asyncio.ensure_future(controls.recompute())
        await asyncio.sleep(0.2)
        assert state.busy and state.cluster_labels is None  # waiting, and the loop runs meanwhile
        held.release.set()
        await task

    asyncio.run(page())
    np.testing.assert_array_equal(state.cluster_labels, compute_clusters(state.data, "kmeans", 5))
    assert state.cluster_key == "kmeans k=5" and len(held.fits) == 1  # once: the page used the warm-up's


def test_the_server_warm_up_freezes_what_it_loaded(tiny_survey, tiny_run):
    """``serve`` warms up with ``freeze=True``: the data and caches go to the collector's permanent
    generation, so the pages' full collections do not walk them."""
    import gc

    from galexplore.dashboard import server

    assert gc.get_freeze_count() == 0
    try:
        server._warm_up(tiny_survey.path, tiny_run, "rest")
        assert gc.get_freeze_count() == 0  # only when asked
        server._warm_up(tiny_survey.path, tiny_run, "rest", freeze=True)
        from galexplore.dashboard.app import load_data

        data = load_data(tiny_survey.path, tiny_run)  # the server-wide cached data, loaded by the warm-up
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        assert not any(o is data for o in gc.get_objects())  # not in any generation a collection walks
        gc.collect()
        assert gc.get_freeze_count() == frozen  # collections leave them frozen
    finally:
        gc.unfreeze()
