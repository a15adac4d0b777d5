"""``evaluate(survey, run)``: how much physics did the encoder learn? Writes ``metrics.json`` + ``report/``.

The checks of the seed papers, on one held-out split (DESIGN §2 keys first):

- ``knn_r2``: AstroCLIP's protocol, distance-weighted k-NN regression on standardised
  embeddings, per standard property and per structural truth; ``linear_probe_r2`` likewise;
- ``baselines``: the same scores from ``pixel_pca``, ``random_init`` (the same encoder,
  untrained) and ``radial_profile`` features, on the same split;
- ``knn_accuracy`` / ``knn_f1_weighted`` for label columns (``sf_class``, ``morph_type``,
  ``has_bar``, …) and ``baselines_accuracy``; ``linear_probe_accuracy``: a logistic-regression
  probe on the same standardised embedding and split (the seeds' linear classification);
- ``photo_z``: σ_MAD and outlier fraction of k-NN redshifts (Hayat et al.) when ``z`` exists;
- ``cross_modal_retrieval``: for a multi-modal run, top-1 / top-10 retrieval of each test
  galaxy's other modality among the test galaxies (AstroCLIP), with the chance rates;
- ``label_efficiency``: R² against the fraction of labels, embedding vs a supervised baseline;
- ``correlation_ranking``: properties by distance correlation with the embedding (method named);
- ``clusters``: k → adjusted Rand index of k-means clusters (on the 2-D map by default)
  against ``sf_class`` (k = 2 leaves the green valley out), with each cluster's class mix and
  the ARI in the other space in ``cluster_details``;
- ``projection``: the parameters of the 2-D map used for the clusters and the report;
- ``n_train``, ``n_test``, ``seed``.

The probes and the baseline features come from :mod:`galexplore.evaluation.probes` and
:mod:`galexplore.evaluation.baselines`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.atomic import write_json
from galexplore.data.columns import STANDARD_PROPERTIES
from galexplore.data.store import Survey
from galexplore.errors import GalexploreError
from galexplore.progress import ProgressCallback, report
from galexplore.artifacts.provenance import encoder_fingerprint
from galexplore.artifacts.runs import read_embeddings
from galexplore.artifacts.paths import RunPaths

log = logging.getLogger(__name__)

BASELINES = ("pixel_pca", "random_init", "radial_profile")
LABEL_COLUMNS = ("sf_class", "morph_type", "has_bar")
#: Properties of the label-efficiency curve (the eCALIFA map properties), when present.
LABEL_EFFICIENCY_PROPERTIES = ("ew_ha", "log_age_lw", "zh_lw", "log_sigma_star")
PROTOCOL = ("k-NN: distance-weighted, on embeddings standardised on the training split; "
            "NaN targets left out of each property's score.")
PROJECTION_KEYS = ("method", "n_neighbors", "min_dist", "metric", "random_state", "modality", "embedding_fingerprint")
STAGES = ("embedding probes", "baselines", "photo-z", "label efficiency", "correlation ranking", "clusters", "report")


def _structural_truths() -> tuple[str, ...]:
    from galexplore.data.synthetic import STRUCTURAL_TRUTHS

    return STRUCTURAL_TRUTHS


def _scorable(catalog: pd.DataFrame, col: str) -> bool:
    if col not in catalog or pd.api.types.is_bool_dtype(catalog[col]) or not pd.api.types.is_numeric_dtype(catalog[col]):
        return False
    v = catalog[col].to_numpy(float)
    return np.isfinite(v).sum() >= 10 and np.nanstd(v) > 0


def default_targets(catalog: pd.DataFrame) -> dict[str, list[str]]:
    """Regression targets present in the catalog: standard properties and structural truths."""
    return {"standard": [c for c in STANDARD_PROPERTIES if _scorable(catalog, c)],
            "structural": [c for c in _structural_truths() if _scorable(catalog, c)]}


def default_labels(catalog: pd.DataFrame) -> list[str]:
    """Label columns present with at least two classes."""
    return [c for c in LABEL_COLUMNS if c in catalog and catalog[c].nunique(dropna=True) >= 2]


def _aligned_catalog(survey: Survey, galaxy_ids: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    rows = survey.positions(list(galaxy_ids))
    return survey.catalog.iloc[rows].reset_index(drop=True), rows


def _labels_array(values: pd.Series) -> np.ndarray:
    return np.asarray(values.astype("string").fillna("").to_numpy(dtype=str))


def _score_features(X, catalog, targets, labels, train_idx, test_idx, k) -> tuple[dict, dict, dict]:
    from galexplore.evaluation.probes import knn_accuracy, knn_r2

    r2 = {p: knn_r2(X, catalog[p].to_numpy(float), train_idx, test_idx, k=k) for p in targets}
    acc, f1 = {}, {}
    for col in labels:
        res = knn_accuracy(X, _labels_array(catalog[col]), train_idx, test_idx, k=k)
        acc[col], f1[col] = res["accuracy"], res["f1_weighted"]
    return r2, acc, f1


def _baseline_features(name: str, survey: Survey, run: Path, modality: str, seed: int) -> np.ndarray:
    from galexplore.evaluation import baselines

    if name == "pixel_pca":
        return baselines.pixel_pca_features(survey, modality=modality, random_state=seed)
    if name == "radial_profile":
        return baselines.radial_profile_features(survey, modality=modality)
    if name == "random_init":
        if not RunPaths.of(run).encoder.is_file():
            raise GalexploreError(f"{RunPaths.of(run).encoder}: not found (random_init needs the run's encoder architecture)")
        return baselines.random_init_embeddings(survey, run, seed=seed)[modality]
    raise GalexploreError(f"unknown baseline {name!r} (choose from {', '.join(BASELINES)})")


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python, arrays dropped to lists."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items() if not isinstance(v, np.ndarray) or v.ndim == 0}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return round(obj, 5) if math.isfinite(obj) else None
    return obj


def evaluate(
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    *,
    modality: str | None = None,
    seed: int = 0,
    k: int = 16,
    test_fraction: float = 0.2,
    labels: Sequence[str] | None = None,
    baselines: Sequence[str] = BASELINES,
    label_fractions: Sequence[float] | None = None,
    cluster_space: str = "projection",
    write_report: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Evaluate a run's embeddings against the survey's truths; write ``metrics.json`` and ``report/``.

    Parameters
    ----------
    survey : Survey or path-like
        The survey the run was embedded from (its catalog holds the truths).
    run : path-like
        Run directory with ``embeddings.parquet`` (and ``encoder.pt`` for ``random_init``).
    modality : str, optional
        Which embedding of a multi-modal run (required when there are several).
    seed : int
        Seed of the split, the baselines and the clusterings.
    k : int
        Neighbours of the k-NN probes.
    test_fraction : float
        Share of galaxies held out for testing.
    labels : sequence of str, optional
        Categorical columns for k-NN accuracy (default: ``sf_class``, ``morph_type``,
        ``has_bar`` where present); any catalog column may be named, e.g. Galaxy Zoo classes.
    baselines : sequence of str
        Baselines to score; one that cannot be computed is listed in ``baselines_skipped``.
    label_fractions : sequence of float, optional
        Fractions of the label-efficiency curve (default: 2 % … 100 %).
    cluster_space : {"projection", "embedding"}
        Where the k = 2, 3 k-means clusters scored in ``clusters`` are found (see
        :mod:`galexplore.evaluation.clusters`); the other space's ARI is reported beside it.
    write_report : bool
        Also write ``RUN/report/`` (markdown and PNG figures).

    Returns
    -------
    dict
        The metrics, as written to ``RUN/metrics.json``.
    """
    if cluster_space not in ("projection", "embedding"):
        raise GalexploreError(f"unknown cluster space {cluster_space!r} (choose projection or embedding)")
    inp = _load(survey, run, modality, labels, test_fraction, seed, k)
    total = len(STAGES)
    report(progress, 0, total, "evaluate")
    metrics = _embedding_scores(inp)
    report(progress, 1, total, "evaluate")
    features = _baseline_scores(inp, baselines, metrics)
    report(progress, 2, total, "evaluate")
    if "z" in inp.props:
        metrics["photo_z"] = _photo_z(inp.X, inp.y("z"), inp.train, inp.test, k)
    report(progress, 3, total, "evaluate")
    le_props = [p for p in LABEL_EFFICIENCY_PROPERTIES if p in inp.props]
    if le_props and "pixel_pca" in features:
        from galexplore.evaluation.label_efficiency import FRACTIONS, label_efficiency

        metrics["label_efficiency"] = label_efficiency(
            inp.X, features["pixel_pca"], {p: inp.y(p) for p in le_props}, inp.train, inp.test,
            fractions=label_fractions or FRACTIONS, k=k, random_state=seed)
    report(progress, 4, total, "evaluate")
    from galexplore.evaluation.ranking import correlation_ranking

    metrics["correlation_ranking"] = correlation_ranking(inp.X, {p: inp.y(p) for p in inp.props}, random_state=seed)
    report(progress, 5, total, "evaluate")
    xy, proj_params = _projection(inp.run, inp.ids, inp.modality, seed)
    metrics["projection"] = {key: proj_params.get(key) for key in PROJECTION_KEYS}
    labels_by_k = {}
    if "sf_class" in inp.catalog:
        labels_by_k = _clusters(metrics, inp.X, xy, inp.catalog["sf_class"].to_numpy(object), cluster_space, seed)
    report(progress, 6, total, "evaluate")
    metrics.update({"n_train": int(len(inp.train)), "n_test": int(len(inp.test)), "seed": seed, "k": k, "protocol": PROTOCOL})
    metrics = _clean(metrics)
    if write_report:
        from galexplore.evaluation.report import write_report as _write

        _write(inp.run, metrics, inp.catalog, xy, labels_by_k, map_columns=metrics["properties"]["standard"],
               projection_method=str(proj_params.get("method", "umap")).upper())
    write_json(RunPaths.of(inp.run).metrics, metrics)
    report(progress, total, total, "evaluate")
    return metrics


@dataclass
class _Inputs:
    """What every stage of :func:`evaluate` works on: embeddings, aligned catalog, the split."""

    survey: Survey
    run: Path
    modality: str | None
    X: np.ndarray  # (N, D) embeddings
    ids: np.ndarray  # (N,) galaxy ids, embedding order
    catalog: pd.DataFrame  # aligned with X
    rows: np.ndarray  # survey row of each embedded galaxy
    train: np.ndarray
    test: np.ndarray
    targets: dict[str, list[str]]
    labels: list[str]
    k: int
    seed: int
    meta: dict[str, Any]  # the embeddings' metadata
    vectors: dict[str, np.ndarray]  # every embedded modality (cross-modal retrieval)

    @property
    def props(self) -> list[str]:
        return self.targets["standard"] + self.targets["structural"]

    def y(self, prop: str) -> np.ndarray:
        return self.catalog[prop].to_numpy(float)


def _load(survey, run, modality, labels, test_fraction, seed, k) -> _Inputs:
    from galexplore.data import open_survey
    from galexplore.evaluation.probes import split_indices

    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    emb = read_embeddings(run)
    name = modality if modality is not None else (emb.modalities[0] if len(emb.modalities) == 1 else None)
    X = emb.get(name)
    catalog, rows = _aligned_catalog(survey, emb.galaxy_ids)
    unknown = [c for c in (labels or []) if c not in catalog]
    if unknown:
        raise GalexploreError(f"{survey.path}: catalog has no label column {unknown[0]!r}")
    label_cols = list(labels) if labels is not None else default_labels(catalog)
    train, test = split_indices(len(X), test_fraction=test_fraction, random_state=seed)
    return _Inputs(survey, Path(run), name, X, emb.galaxy_ids, catalog, rows, train, test,
                   default_targets(catalog), label_cols, k, seed, emb.metadata, emb.vectors)


def _embedding_scores(inp: _Inputs) -> dict[str, Any]:
    from galexplore.evaluation.probes import linear_probe_accuracy, linear_probe_r2

    metrics: dict[str, Any] = {"run": str(inp.run), "survey": str(inp.survey.path), "modality": inp.modality,
                               "created": datetime.now(UTC).isoformat(timespec="seconds"),
                               "encoder_fingerprint": encoder_fingerprint(inp.run, inp.meta),
                               "properties": inp.targets, "labels": inp.labels}
    metrics["knn_r2"], metrics["knn_accuracy"], metrics["knn_f1_weighted"] = _score_features(
        inp.X, inp.catalog, inp.props, inp.labels, inp.train, inp.test, inp.k)
    metrics["linear_probe_r2"] = {p: linear_probe_r2(inp.X, inp.y(p), inp.train, inp.test) for p in inp.props}
    metrics["linear_probe_accuracy"] = {
        c: linear_probe_accuracy(inp.X, _labels_array(inp.catalog[c]), inp.train, inp.test) for c in inp.labels
    }
    if len(inp.vectors) > 1:
        metrics["cross_modal_retrieval"] = _retrieval(inp)
    return metrics


def _retrieval(inp: _Inputs) -> dict[str, dict]:
    """AstroCLIP's check: does modality A of a test galaxy find its own modality B (top-1, top-10)?"""
    from galexplore.evaluation.probes import retrieval_accuracy

    out = {}
    for a, va in inp.vectors.items():
        for b, vb in inp.vectors.items():
            if a != b and va.shape[1] == vb.shape[1]:
                out[f"{a}->{b}"] = retrieval_accuracy(va[inp.test], vb[inp.test])
    return out


def _baseline_scores(inp: _Inputs, baselines: Sequence[str], metrics: dict) -> dict[str, np.ndarray]:
    """Score each baseline on the same split into ``metrics``; returns the features computed."""
    metrics["baselines"], metrics["baselines_accuracy"] = {}, {}
    skipped, features = {}, {}
    for b in baselines:
        try:
            features[b] = np.asarray(_baseline_features(b, inp.survey, inp.run, inp.modality, inp.seed))[inp.rows]
        except (GalexploreError, ValueError, KeyError) as exc:  # e.g. no radial profile of a spectrum
            log.warning("baseline %s skipped: %s", b, exc)
            skipped[b] = str(exc)
            continue
        metrics["baselines"][b], metrics["baselines_accuracy"][b], _ = _score_features(
            features[b], inp.catalog, inp.props, inp.labels, inp.train, inp.test, inp.k)
    if skipped:
        metrics["baselines_skipped"] = skipped
    return features


def _photo_z(X: np.ndarray, z: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray, k: int) -> dict:
    from galexplore.evaluation.photoz import knn_predict, photoz_metrics

    z_pred = knn_predict(X, z, train_idx, test_idx, k=k)
    return photoz_metrics(z[test_idx], z_pred)


def _projection(run: Path, ids: np.ndarray, modality: str | None, seed: int) -> tuple[np.ndarray, dict]:
    """The run's 2-D map for ``ids``: ``projection.parquet`` if it fits, else a (cached) UMAP."""
    from galexplore.analysis.projection import project_run
    from galexplore.artifacts.runs import read_projection

    if RunPaths.of(run).projection.is_file():
        df, params = read_projection(run)
        if params.get("modality") in (None, modality) and set(df["galaxy_id"]) >= set(ids):
            return df.set_index("galaxy_id").loc[list(ids), ["x", "y"]].to_numpy(), params
    project_run(run, modality=modality, random_state=seed)
    df, params = read_projection(run)
    return df.set_index("galaxy_id").loc[list(ids), ["x", "y"]].to_numpy(), params


def _clusters(metrics: dict, X: np.ndarray, xy: np.ndarray, sf: np.ndarray, space: str, seed: int) -> dict:
    """k = 2, 3 cluster agreement in ``space`` (the contract's ``clusters``) and in the other space."""
    from galexplore.evaluation.clusters import cluster_agreement

    other = "embedding" if space == "projection" else "projection"
    data = {"projection": xy, "embedding": X}
    names = {"projection": f"2-D {str(metrics['projection'].get('method', 'umap')).upper()} map", "embedding": None}
    details = cluster_agreement(data[space], sf, (2, 3), space=space, where=names[space], random_state=seed)
    alt = cluster_agreement(data[other], sf, (2, 3), space=other, where=names[other], random_state=seed)
    labels_by_k = {k: d.pop("labels") for k, d in details.items()}
    for k, d in details.items():
        d["space"] = space
        d[f"ari_{other}"] = alt[k]["ari"]
    metrics["clusters"] = {k: d["ari"] for k, d in details.items()}
    metrics["cluster_details"] = details
    return labels_by_k
