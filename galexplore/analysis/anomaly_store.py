"""Anomaly scores of a run, computed on demand and cached in ``RUN/anomaly.parquet``.

::

    RUN/anomaly.parquet    galaxy_id, anomaly (float32, higher = more unusual)
                           metadata ("galexplore"): method, parameters, modality,
                           embeddings fingerprint, created (UTC)

:func:`run_anomaly` returns the cached scores when the file was made by the same scorer
settings from the same embeddings (see :func:`embeddings_fingerprint`), and otherwise scores
the embeddings with :class:`~galexplore.analysis.anomaly.AnomalyScorer` and writes the file
atomically. A run that cannot be written (read-only) still gets its scores, just not cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.analysis.anomaly import AnomalyScorer
from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.provenance import encoder_fingerprint
from galexplore.artifacts.runs import META_KEY, Embeddings, parquet_parts, read_embeddings
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: What must match for cached scores to be reused.
_KEYS = ("scorer", "modality", "embeddings_fingerprint", "n")


@dataclass
class AnomalyResult:
    """Anomaly scores of a run's galaxies.

    Attributes
    ----------
    scores : DataFrame
        ``galaxy_id`` (str) and ``anomaly`` (float32, higher = more unusual), embedding order.
    params : dict
        ``scorer`` (the scorer's parameters), ``modality``, ``embeddings_fingerprint``, ``n``,
        ``created``.
    path : Path or None
        Where they are cached (None if they could not be written).
    cached : bool
        True when they were read from the cache rather than computed.
    """

    scores: pd.DataFrame
    params: dict[str, Any]
    path: Path | None = None
    cached: bool = False

    def aligned(self, galaxy_ids) -> np.ndarray:
        """Scores (len(galaxy_ids),) float32 in the order of ``galaxy_ids`` (NaN where unknown)."""
        s = pd.Series(self.scores["anomaly"].to_numpy(np.float32), index=self.scores["galaxy_id"].astype(str))
        return s.reindex(pd.Index(np.asarray(galaxy_ids).astype(str))).to_numpy(np.float32)


def embeddings_fingerprint(run: str | os.PathLike, metadata: dict | None = None) -> str:
    """A fingerprint of a run's embeddings: the encoder's fingerprint with the name, size and
    modification time of every embeddings file (cheap: no 4 GB hash at 10⁶ × 1,024)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(str(encoder_fingerprint(run, metadata)).encode())
    for p in parquet_parts(RunPaths.of(run).embeddings):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def load_anomaly(run: str | os.PathLike) -> AnomalyResult | None:
    """The cached scores of a run, or None when there are none or they cannot be read."""
    import pyarrow.parquet as pq

    path = RunPaths.of(run).anomaly
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:  # one open: a writer replacing the file cannot mix two versions
            table = pq.read_table(fh)
        raw = (table.schema.metadata or {}).get(META_KEY)
        params = json.loads(raw) if raw else {}
    except Exception as exc:  # a corrupt cache is recomputed, never fatal
        log.warning("%s: cannot read cached anomaly scores (%s); recomputing", path, exc)
        return None
    return AnomalyResult(table.to_pandas(), params, path, cached=True)


def save_anomaly(run: str | os.PathLike, scores: pd.DataFrame, params: dict[str, Any]) -> Path:
    """Write ``RUN/anomaly.parquet`` atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = RunPaths.of(run).anomaly
    table = pa.table(
        {
            "galaxy_id": pa.array(scores["galaxy_id"].astype(str).tolist(), type=pa.string()),
            "anomaly": pa.array(scores["anomaly"].to_numpy(np.float32)),
        }
    ).replace_schema_metadata({META_KEY: json.dumps(params, default=str).encode()})
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)
    return path


def run_anomaly(
    run: str | os.PathLike,
    scorer: AnomalyScorer | None = None,
    *,
    modality: str | None = None,
    embeddings: Embeddings | None = None,
    recompute: bool = False,
    save: bool = True,
) -> AnomalyResult:
    """Anomaly scores of every embedded galaxy of a run, from the cache when it is fresh.

    Parameters
    ----------
    run : path-like
        Run directory with ``embeddings.parquet``.
    scorer : AnomalyScorer, optional
        Settings (default: ``AnomalyScorer()``, an isolation forest on a 32-d PCA).
    modality : str, optional
        Which embedding of a multi-modal run (default: the first).
    embeddings : Embeddings, optional
        The run's embeddings when already in memory (e.g. the dashboard's, in any order);
        otherwise they are read from the run.
    recompute : bool
        Ignore the cache.
    save : bool
        Write the scores to ``RUN/anomaly.parquet`` when computed.
    """
    scorer = scorer if scorer is not None else AnomalyScorer()
    emb = embeddings if embeddings is not None else read_embeddings(run)
    modality = modality or emb.modalities[0]
    want = {
        "scorer": scorer.get_params(),
        "modality": modality,
        "embeddings_fingerprint": embeddings_fingerprint(run, emb.metadata),
        "n": len(emb.galaxy_ids),
    }
    cached = None if recompute else load_anomaly(run)
    if cached is not None and all(cached.params.get(k) == want[k] for k in _KEYS):
        return cached
    scores = pd.DataFrame(
        {"galaxy_id": emb.galaxy_ids.astype(str), "anomaly": scorer.fit_score(emb.get(modality))}
    )
    params = {
        **want,
        "n_components_used": scorer.n_components_,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = None
    if save:
        try:
            path = save_anomaly(run, scores, params)
        except (GalexploreError, OSError) as exc:
            log.warning("anomaly scores not cached: %s", exc)
    return AnomalyResult(scores, params, path)
