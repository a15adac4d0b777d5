"""``evaluate(survey, run)``: how much physics did the encoder learn? Writes ``metrics.json`` + ``report/``.

The checks of the seed papers, on one held-out split (DESIGN §2 keys first):

- ``knn_r2``: AstroCLIP's protocol, distance-weighted k-NN regression on standardised
  embeddings, per standard property and per structural truth; ``linear_probe_r2`` likewise;
- ``baselines``: the same scores from ``pixel_pca``, ``random_init`` (the same encoder,
  untrained) and ``radial_profile`` features, on the same split;
- ``knn_accuracy`` / ``knn_f1_weighted`` for label columns (``sf_class``, ``morph_type``,
  ``has_bar``, real sets' ``label`` …) and ``baselines_accuracy``; ``linear_probe_accuracy``: a
  class-balanced logistic-regression probe on the same standardised embedding and split;
- ``classification`` / ``baselines_classification``: label column → ``knn`` and
  ``linear_probe`` → accuracy, balanced accuracy, macro-F1 and weighted F1, with
  ``label_classes`` (class counts, the majority-class accuracy and chance balanced accuracy);
- ``photo_z``: σ_MAD and outlier fraction of k-NN redshifts (Hayat et al.) when ``z`` exists;
- ``cross_modal_retrieval``: for a multi-modal run, top-1 / top-10 retrieval of each test
  galaxy's other modality among the test galaxies (AstroCLIP), with the chance rates;
- ``label_efficiency``: R² against the fraction of labels, embedding vs a supervised baseline;
- ``label_efficiency_classification``: Hayat et al.'s table, linear probes on 1 %, 10 % and
  100 % of the training labels, and with ``supervised_baseline`` the run's encoder
  architecture trained on those labels (:mod:`galexplore.evaluation.supervised`);
- ``run_kind`` (trained / imported / pretrained, :func:`~galexplore.evaluation.inputs.describe_run`),
  ``baselines_skipped`` and ``skipped`` (stage → why it was not computed);
- ``correlation_ranking``: properties by distance correlation with the embedding (method named);
- ``clusters``: k → adjusted Rand index of k-means clusters (on the 2-D map by default)
  against ``sf_class`` (k = 2 leaves the green valley out), with each cluster's class mix and
  the ARI in the other space in ``cluster_details``;
- ``projection``: the parameters of the 2-D map used for the clusters and the report;
- ``n_train``, ``n_test``, ``seed``.

The probes and the baseline features come from :mod:`galexplore.evaluation.probes`,
:mod:`galexplore.evaluation.scores` and :mod:`galexplore.evaluation.baselines`; what is scored
(the aligned catalog, the split, the label columns) from :mod:`galexplore.evaluation.inputs`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from galexplore.artifacts.atomic import write_json
from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.provenance import encoder_fingerprint
from galexplore.data.store import Survey
from galexplore.errors import GalexploreError
from galexplore.evaluation.inputs import (
    Inputs,
    default_labels,
    default_targets,
    describe_run,
    load_inputs,
)
from galexplore.evaluation.label_efficiency import CLASS_FRACTIONS
from galexplore.evaluation.scores import BASELINES, baseline_scores, embedding_scores
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

#: Properties of the label-efficiency curve (the eCALIFA map properties), when present.
LABEL_EFFICIENCY_PROPERTIES = ("ew_ha", "log_age_lw", "zh_lw", "log_sigma_star")
PROTOCOL = (
    "k-NN: distance-weighted, on embeddings standardised on the training split; "
    "NaN targets left out of each property's score. Linear probes: ridge (properties) and "
    "logistic regression with class_weight='balanced' (labels), same split."
)
PROJECTION_KEYS = (
    "method",
    "n_neighbors",
    "min_dist",
    "metric",
    "random_state",
    "modality",
    "embedding_fingerprint",
)
STAGES = (
    "embedding probes",
    "baselines",
    "photo-z",
    "label efficiency",
    "correlation ranking",
    "clusters",
    "report",
)
SUPERVISED_METHOD = (
    "the run's encoder architecture, randomly initialised, with the run's input normalisation and a "
    "linear layer, trained with class-weighted cross-entropy on the labelled subset only "
    "(random flips and right-angle rotations; AdamW, cosine schedule), on the same subsets as the "
    "linear probe's first repeat"
)


def json_safe(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python, arrays dropped to lists."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items() if not isinstance(v, np.ndarray) or v.ndim == 0}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
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
    class_fractions: Sequence[float] = CLASS_FRACTIONS,
    supervised_baseline: bool | Sequence[str] = False,
    supervised_options: Mapping[str, Any] | None = None,
    cluster_space: str = "projection",
    write_report: bool = True,
    feature_cache: MutableMapping | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Evaluate a run's embeddings against the survey's truths; write ``metrics.json`` and ``report/``.

    Parameters
    ----------
    survey : Survey or path-like
        The survey the run was embedded from (its catalog holds the truths); may be
        catalog-only (no pixels: the pixel baselines are skipped, with the reason).
    run : path-like
        Run directory with ``embeddings.parquet``, made by ``embed`` (``encoder.pt`` beside it),
        ``embed --pretrained`` or ``import-embeddings``.
    modality : str, optional
        Which embedding of a multi-modal run (required when there are several).
    seed : int
        Seed of the split, the baselines and the clusterings.
    k : int
        Neighbours of the k-NN probes.
    test_fraction : float
        Share of the survey's galaxies held out for testing (the split is drawn over the
        survey, so every run of a survey is tested on the same galaxies).
    labels : sequence of str, optional
        Label columns to classify (default: those of
        :data:`~galexplore.evaluation.inputs.LABEL_COLUMNS` present, e.g. ``sf_class``,
        ``morph_type``, ``has_bar``, ``label``, ``label_coarse``); any catalog column with 2 to
        200 classes may be named.
    baselines : sequence of str
        Baselines to score; one that cannot be computed is listed in ``baselines_skipped``.
    label_fractions : sequence of float, optional
        Fractions of the regression label-efficiency curve (default: 2 % … 100 %).
    class_fractions : sequence of float
        Fractions of the classification label-efficiency table (Hayat et al.: 1 %, 10 %, 100 %).
    supervised_baseline : bool or sequence of str
        Also train the run's encoder architecture from scratch on each fraction of the labels
        (:class:`~galexplore.evaluation.supervised.SupervisedCNN`) for every label column
        (True) or the columns named; slow on a CPU (minutes per column, see docs/analysis.md).
    supervised_options : mapping, optional
        Keyword arguments of :class:`~galexplore.evaluation.supervised.SupervisedCNN`
        (``device``, ``max_steps``, ``epochs`` …).
    cluster_space : {"projection", "embedding"}
        Where the k = 2, 3 k-means clusters scored in ``clusters`` are found (see
        :mod:`galexplore.evaluation.clusters`); the other space's ARI is reported beside it.
    write_report : bool
        Also write ``RUN/report/`` (markdown and PNG figures).
    feature_cache : dict, optional
        Shared by evaluations of several runs of one survey, so that the survey-level baseline
        features are computed once (:func:`~galexplore.evaluation.compare.compare_runs`).

    Returns
    -------
    dict
        The metrics, as written to ``RUN/metrics.json``.
    """
    if cluster_space not in ("projection", "embedding"):
        raise GalexploreError(f"unknown cluster space {cluster_space!r} (choose projection or embedding)")
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise GalexploreError(f"unknown baseline {unknown[0]!r} (choose from {', '.join(BASELINES)})")
    inp = load_inputs(survey, run, modality, labels, test_fraction, seed, k)
    sup_cols = _supervised_columns(inp, supervised_baseline)
    total = len(STAGES)
    report(progress, 0, total, "evaluate")
    metrics = _header(inp)
    metrics.update(embedding_scores(inp))
    if len(inp.vectors) > 1:
        metrics["cross_modal_retrieval"] = _retrieval(inp)
    report(progress, 1, total, "evaluate")
    features = baseline_scores(inp, baselines, metrics, feature_cache)
    report(progress, 2, total, "evaluate")
    if "z" in inp.props:
        metrics["photo_z"] = _photo_z(inp.X, inp.y("z"), inp.train, inp.test, k)
    report(progress, 3, total, "evaluate")
    le_props = [p for p in LABEL_EFFICIENCY_PROPERTIES if p in inp.props]
    if le_props and "pixel_pca" in features:
        from galexplore.evaluation.label_efficiency import FRACTIONS, label_efficiency

        metrics["label_efficiency"] = label_efficiency(
            inp.X,
            features["pixel_pca"],
            {p: inp.y(p) for p in le_props},
            inp.train,
            inp.test,
            fractions=label_fractions or FRACTIONS,
            k=k,
            random_state=seed,
        )
    elif le_props:
        metrics["skipped"]["label_efficiency"] = (
            "its supervised baseline is a ridge regression on pixel_pca features, "
            + (
                "which were skipped"
                if "pixel_pca" in metrics.get("baselines_skipped", {})
                else "which were not asked for"
            )
        )
    if inp.labels:
        metrics["label_efficiency_classification"] = _class_efficiency(
            inp, features, metrics, class_fractions, sup_cols, supervised_options or {}, progress
        )
    report(progress, 4, total, "evaluate")
    from galexplore.evaluation.ranking import correlation_ranking

    metrics["correlation_ranking"] = correlation_ranking(
        inp.X, {p: inp.y(p) for p in inp.props}, random_state=seed
    )
    report(progress, 5, total, "evaluate")
    xy, proj_params = _projection(inp.run, inp.ids, inp.modality, seed)
    metrics["projection"] = {key: proj_params.get(key) for key in PROJECTION_KEYS}
    labels_by_k = {}
    if "sf_class" in inp.catalog:
        labels_by_k = _clusters(
            metrics, inp.X, xy, inp.catalog["sf_class"].to_numpy(object), cluster_space, seed
        )
    report(progress, 6, total, "evaluate")
    metrics.update(
        {"n_train": len(inp.train), "n_test": len(inp.test), "seed": seed, "k": k, "protocol": PROTOCOL}
    )
    metrics = json_safe(metrics)
    if write_report:
        from galexplore.evaluation.report import write_report as _write

        _write(
            inp.run,
            metrics,
            inp.catalog,
            xy,
            labels_by_k,
            map_columns=metrics["properties"]["standard"],
            projection_method=str(proj_params.get("method", "umap")).upper(),
        )
    write_json(RunPaths.of(inp.run).metrics, metrics)
    report(progress, total, total, "evaluate")
    return metrics


def _header(inp: Inputs) -> dict[str, Any]:
    return {
        "run": str(inp.run),
        "survey": str(inp.survey.path),
        "modality": inp.modality,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "encoder_fingerprint": encoder_fingerprint(inp.run, inp.meta),
        "run_kind": describe_run(inp.run, inp.meta),
        "survey_modalities": sorted(inp.survey.modalities),
        "embedded_modalities": list(inp.vectors),
        "n_embedded": len(inp.X),
        "properties": inp.targets,
        "labels": inp.labels,
        "skipped": {},
    }


def _supervised_columns(inp: Inputs, supervised: bool | Sequence[str]) -> list[str]:
    """The label columns the supervised CNN is trained on (a clear error for one not scored)."""
    if supervised is True:
        return list(inp.labels)
    if not supervised:
        return []
    missing = [c for c in supervised if c not in inp.labels]
    if missing:
        raise GalexploreError(
            f"supervised baseline: {missing[0]!r} is not one of the label columns scored "
            f"({', '.join(inp.labels) or 'none'}); name it in labels too"
        )
    return list(dict.fromkeys(supervised))


def _class_efficiency(
    inp: Inputs,
    features: Mapping[str, np.ndarray],
    metrics: dict,
    fractions: Sequence[float],
    sup_cols: list[str],
    options: Mapping[str, Any],
    progress: ProgressCallback | None,
) -> dict:
    """Hayat et al.'s table: linear probes on fractions of the labels, and the supervised CNN."""
    from galexplore.evaluation.label_efficiency import classification_label_efficiency

    fit_predict, info = None, None
    if sup_cols:
        try:
            fit_predict, info = _supervised(inp, options, len(sup_cols) * len(fractions), progress)
        except GalexploreError as exc:
            log.warning("supervised CNN skipped: %s", exc)
            metrics["skipped"]["supervised_cnn"] = str(exc)
    # The embedding and pixel PCA (64-d: cheap); the 100 % points are the main table's probes.
    feats = {"embedding": inp.X, **({"pixel_pca": features["pixel_pca"]} if "pixel_pca" in features else {})}
    full = {"embedding": metrics["classification"]} | dict(metrics["baselines_classification"])
    full = {name: {c: s["linear_probe"] for c, s in by_col.items()} for name, by_col in full.items()}
    out = classification_label_efficiency(
        feats,
        {c: inp.label(c) for c in inp.labels},
        inp.train,
        inp.test,
        fractions=fractions,
        random_state=inp.seed,
        supervised=fit_predict,
        supervised_labels=sup_cols,
        full_scores=full,
    )
    if info is not None:
        out["supervised_cnn"] = info
    return out


def _supervised(inp: Inputs, options: Mapping[str, Any], n_fits: int, progress: ProgressCallback | None):
    """``fit_predict(train_rows, y, test_rows)`` training a :class:`SupervisedCNN` per call, and its record."""
    from galexplore.evaluation.supervised import SupervisedCNN, run_inputs

    enc_cfg, norm, x = run_inputs(inp.survey, inp.run, inp.modality)
    x = x[inp.rows]
    options = {"random_state": inp.seed} | dict(options)
    proto = SupervisedCNN(enc_cfg, norm, **options)
    info: dict[str, Any] = {
        "method": SUPERVISED_METHOD,
        "device": str(proto.resolved_device()),
        "epochs": proto.epochs,
        "min_steps": proto.min_steps,
        "max_steps": proto.max_steps,
        "batch_size": proto.batch_size,
        "steps": [],
        "seconds": 0.0,
        "n_parameters": None,
    }
    report(progress, 0, n_fits, "supervised CNN")

    def fit_predict(train_rows: np.ndarray, y: np.ndarray, test_rows: np.ndarray) -> np.ndarray:
        model = SupervisedCNN(enc_cfg, norm, **options).fit(x[train_rows], y[train_rows])
        info["steps"].append(model.n_steps_)
        info["seconds"] += model.seconds_
        info["n_parameters"] = sum(p.numel() for p in model.model_.parameters())
        report(progress, len(info["steps"]), n_fits, "supervised CNN")
        return model.predict(x[test_rows])

    return fit_predict, info


def _retrieval(inp: Inputs) -> dict[str, dict]:
    """AstroCLIP's check: does modality A of a test galaxy find its own modality B (top-1, top-10)?"""
    from galexplore.evaluation.probes import retrieval_accuracy

    out = {}
    for a, va in inp.vectors.items():
        for b, vb in inp.vectors.items():
            if a != b and va.shape[1] == vb.shape[1]:
                out[f"{a}->{b}"] = retrieval_accuracy(va[inp.test], vb[inp.test])
    return out


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
    names = {
        "projection": f"2-D {str(metrics['projection'].get('method', 'umap')).upper()} map",
        "embedding": None,
    }
    details = cluster_agreement(data[space], sf, (2, 3), space=space, where=names[space], random_state=seed)
    alt = cluster_agreement(data[other], sf, (2, 3), space=other, where=names[other], random_state=seed)
    labels_by_k = {k: d.pop("labels") for k, d in details.items()}
    for k, d in details.items():
        d["space"] = space
        d[f"ari_{other}"] = alt[k]["ari"]
    metrics["clusters"] = {k: d["ari"] for k, d in details.items()}
    metrics["cluster_details"] = details
    return labels_by_k


__all__ = ["BASELINES", "default_labels", "default_targets", "evaluate", "json_safe"]
