"""Clusterings of a run, computed on demand and kept under ``RUN/clusters/``.

::

    RUN/clusters/kmeans_k3_embedding.parquet    galaxy_id, cluster (int32, −1 = noise)
                                                 parameters as JSON metadata ("galexplore")

:func:`cluster_run` reads the run's embeddings (or its projection), fits a
:class:`~galexplore.analysis.clustering.Clusterer` and, unless ``save=False``, writes the labels
atomically. :func:`load_clusters` reads them back (the most recent one by default), which is
what ``galexplore export --cluster K`` and the dashboard use.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.analysis.clustering import Clusterer
from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.provenance import encoder_fingerprint
from galexplore.artifacts.runs import META_KEY, read_embeddings, read_projection
from galexplore.errors import StoreError

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class ClusterResult:
    """Labels of one clustering of a run.

    Attributes
    ----------
    labels : DataFrame
        ``galaxy_id`` (str) and ``cluster`` (int, −1 = noise), in embedding order.
    params : dict
        Method, k, space, modality, seed, …, and ``n_clusters`` found.
    path : Path or None
        Where it was saved.
    """

    labels: pd.DataFrame
    params: dict[str, Any]
    path: Path | None = None


def clustering_name(
    method: str,
    n_clusters: int,
    space: str,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
) -> str:
    """File stem of a clustering, e.g. ``kmeans_k3_embedding``, ``hdbscan_m25_projection`` or
    ``hdbscan_m25_s3_embedding`` (``min_samples`` named only when given)."""
    if method == "hdbscan":
        samples = f"_s{min_samples}" if min_samples else ""
        return f"hdbscan_m{min_cluster_size or 'auto'}{samples}_{space}"
    return f"{method}_k{int(n_clusters)}_{space}"


def cluster_run(
    run: str | os.PathLike,
    method: str = "kmeans",
    n_clusters: int = 3,
    *,
    space: str = "embedding",
    modality: str | None = None,
    random_state: int = 0,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    save: bool = True,
) -> ClusterResult:
    """Cluster a run's galaxies and (by default) save the labels under ``RUN/clusters/``.

    Parameters
    ----------
    run : path-like
        Run directory with ``embeddings.parquet`` (and ``projection.parquet`` for
        ``space="projection"``).
    method, n_clusters, space, random_state, min_cluster_size, min_samples
        As in :class:`~galexplore.analysis.clustering.Clusterer`.
    modality : str, optional
        Which embedding of a multi-modal run (required when there are several).
    save : bool
        Write ``RUN/clusters/<name>.parquet``.
    """
    emb = read_embeddings(run)
    if space == "projection":
        proj, _ = read_projection(run)
        proj = proj.set_index("galaxy_id").reindex(emb.galaxy_ids)
        if proj["x"].isna().any():
            raise StoreError(
                f"{RunPaths.of(run).projection}: does not cover every embedded galaxy; rerun project"
            )
        X = proj[["x", "y"]].to_numpy(np.float32)
    else:
        X = emb.get(modality)
    model = Clusterer(
        method,
        n_clusters,
        space=space,
        random_state=random_state,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
    ).fit(X)
    params = {
        "method": method,
        "n_clusters": int(n_clusters) if method != "hdbscan" else None,
        "n_clusters_found": model.n_clusters_,
        "space": space,
        "modality": modality or (emb.modalities[0] if len(emb.modalities) == 1 else None),
        "random_state": random_state,
        "min_cluster_size": min_cluster_size,
        "min_samples": min_samples,
        "encoder_fingerprint": encoder_fingerprint(run, emb.metadata),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    labels = pd.DataFrame({"galaxy_id": emb.galaxy_ids.astype(str), "cluster": model.labels_})
    path = (
        save_clusters(
            run, labels, params, clustering_name(method, n_clusters, space, min_cluster_size, min_samples)
        )
        if save
        else None
    )
    return ClusterResult(labels, params, path)


def save_clusters(run: str | os.PathLike, labels: pd.DataFrame, params: dict[str, Any], name: str) -> Path:
    """Write ``RUN/clusters/<name>.parquet`` (``galaxy_id``, ``cluster``) atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not _NAME.match(name):
        raise StoreError(f"bad clustering name {name!r} (letters, digits, '_', '-', '.')")
    path = RunPaths.of(run).clustering(name)
    table = pa.table(
        {
            "galaxy_id": pa.array(labels["galaxy_id"].astype(str).tolist(), type=pa.string()),
            "cluster": pa.array(labels["cluster"].to_numpy(np.int32)),
        }
    )
    table = table.replace_schema_metadata(
        {META_KEY: json.dumps({"name": name, **params}, default=str).encode()}
    )
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)
    return path


def list_clusterings(run: str | os.PathLike) -> list[str]:
    """Names of the saved clusterings of a run, oldest first."""
    folder = RunPaths.of(run).clusters
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.parquet") if ".tmp-" not in p.name]
    return [p.stem for p in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))]


def load_clusters(run: str | os.PathLike, name: str | None = None) -> ClusterResult:
    """Read a saved clustering (the most recently written one when ``name`` is None)."""
    import pyarrow.parquet as pq

    names = list_clusterings(run)
    folder = RunPaths.of(run).clusters
    if name is None:
        if not names:
            raise StoreError(f"{folder}: no saved clustering (run `galexplore cluster RUN` first)")
        name = names[-1]
    path = RunPaths.of(run).clustering(name)
    if not path.is_file():
        have = ", ".join(names) or "none"
        raise StoreError(f"{path}: no clustering named {name!r} (saved: {have})")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise StoreError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    raw = (table.schema.metadata or {}).get(META_KEY)
    params = json.loads(raw) if raw else {"name": name}
    return ClusterResult(table.to_pandas(), params, path)
