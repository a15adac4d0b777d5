"""The probe scores of an evaluation: the embedding and each baseline, on the same split.

Every feature set (the embedding, ``pixel_pca``, ``random_init``, ``radial_profile``) gets the
same probes (:mod:`galexplore.evaluation.probes`): k-NN R² per property, and per label column
k-NN and linear-probe accuracy, balanced accuracy, macro-F1 and weighted F1. A baseline that
cannot be computed for this run or survey is skipped with the reason (a catalog-only survey has
no pixels; imported or pretrained vectors have no ``encoder.pt`` to re-initialise).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping, Sequence
from typing import Any

import numpy as np

from galexplore.artifacts.paths import RunPaths
from galexplore.errors import GalexploreError
from galexplore.evaluation import BASELINES
from galexplore.evaluation.inputs import Inputs, baseline_modality, describe_run

log = logging.getLogger(__name__)


def score_features(X: np.ndarray, inp: Inputs) -> tuple[dict[str, float], dict[str, dict]]:
    """k-NN R² of every property, and k-NN / linear-probe classification scores of every label.

    Returns
    -------
    r2 : dict property → R²
    classification : dict label column → ``{"knn": scores, "linear_probe": scores}``
    """
    from galexplore.evaluation.probes import (
        knn_accuracy,
        knn_r2,
        linear_probe_classification,
    )

    r2 = {p: knn_r2(X, inp.y(p), inp.train, inp.test, k=inp.k) for p in inp.props}
    cls = {}
    for col in inp.labels:
        y = inp.label(col)
        cls[col] = {
            "knn": knn_accuracy(X, y, inp.train, inp.test, k=inp.k),
            "linear_probe": linear_probe_classification(X, y, inp.train, inp.test),
        }
    return r2, cls


def label_classes(inp: Inputs, col: str) -> dict[str, Any]:
    """Class counts of a label column and what guessing scores on the test rows.

    ``majority_accuracy``: always answering the commonest training class;
    ``chance_balanced_accuracy``: any constant answer (1 / the classes in the test rows).
    """
    from galexplore.evaluation.probes import label_rows

    tr, y = label_rows(inp.label(col), inp.train)
    te, _ = label_rows(inp.label(col), inp.test)
    counts = {
        str(c): int(n)
        for c, n in zip(*np.unique(y[np.concatenate([tr, te])], return_counts=True), strict=True)
    }
    counts = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    majority = max(counts, key=lambda c: (y[tr] == c).sum()) if len(tr) else None
    return {
        "counts": counts,
        "n_train": len(tr),
        "n_test": len(te),
        "majority_accuracy": float(np.mean(y[te] == majority)) if len(te) else float("nan"),
        "chance_balanced_accuracy": 1 / len(set(y[te])) if len(te) else float("nan"),
    }


def counts_text(counts: dict[str, int], most: int = 12) -> str:
    """``"elliptical 4636, spiral 848, …"``: the commonest ``most`` classes and how many more there are."""
    items = list(counts.items())
    text = ", ".join(f"{c} {n}" for c, n in items[:most])
    return text + (f" and {len(items) - most} more classes" if len(items) > most else "")


def embedding_scores(inp: Inputs) -> dict[str, Any]:
    """The embedding's probe scores under their ``metrics.json`` keys."""
    from galexplore.evaluation.probes import linear_probe_r2

    r2, cls = score_features(inp.X, inp)
    return {
        "knn_r2": r2,
        "knn_accuracy": {c: s["knn"]["accuracy"] for c, s in cls.items()},
        "knn_f1_weighted": {c: s["knn"]["f1_weighted"] for c, s in cls.items()},
        "linear_probe_r2": {p: linear_probe_r2(inp.X, inp.y(p), inp.train, inp.test) for p in inp.props},
        "linear_probe_accuracy": {c: s["linear_probe"]["accuracy"] for c, s in cls.items()},
        "classification": cls,
        "label_classes": {c: label_classes(inp, c) for c in inp.labels},
    }


def baseline_features(name: str, inp: Inputs, cache: MutableMapping | None = None) -> np.ndarray:
    """One baseline's features of the embedded galaxies, (N, F), in embedding order.

    ``cache`` (a dict shared by the runs of one survey) keeps the survey-level features
    (``pixel_pca``, ``radial_profile``) between calls.

    Raises
    ------
    GalexploreError
        Why the baseline cannot be computed for this run and survey.
    """
    from galexplore.evaluation import baselines

    if name == "random_init":
        path = RunPaths.of(inp.run).encoder
        if not path.is_file():
            who = describe_run(inp.run, inp.meta)
            how = "made by a pretrained model" if who["kind"] == "pretrained" else "imported"
            model = f" ({who['model']})" if who["model"] else ""
            raise GalexploreError(
                f"{path}: not found; the vectors were {how}{model}, so there is no encoder "
                "architecture of this run to re-initialise"
            )
        return baselines.random_init_embeddings(inp.survey, inp.run, seed=inp.seed)[inp.modality]
    if name not in BASELINES:
        raise GalexploreError(f"unknown baseline {name!r} (choose from {', '.join(BASELINES)})")
    modality = baseline_modality(inp.survey, inp.modality)
    if name == "radial_profile" and len(inp.survey.spec(modality).shape) != 3:
        raise GalexploreError(
            f"radial_profile needs maps or images; {modality} of {inp.survey.path} is not 2-D"
        )
    key = (str(inp.survey.path), inp.survey.fingerprint, name, modality, inp.seed)
    if cache is not None and key in cache:
        return cache[key][inp.rows]
    if name == "pixel_pca":
        feats = baselines.pixel_pca_features(inp.survey, modality=modality, random_state=inp.seed)
    else:
        feats = baselines.radial_profile_features(inp.survey, modality=modality)
    if cache is not None:
        cache[key] = feats
    return np.asarray(feats)[inp.rows]


def baseline_scores(
    inp: Inputs, names: Sequence[str], metrics: dict, cache: MutableMapping | None = None
) -> dict[str, np.ndarray]:
    """Score each baseline on the same split into ``metrics``; returns the features computed.

    Fills ``baselines`` (property → R²), ``baselines_accuracy`` (label → k-NN accuracy),
    ``baselines_classification`` (as ``classification``), ``baselines_skipped`` (name → why)
    and ``baseline_modality`` (the survey modality of ``pixel_pca`` and ``radial_profile``).
    """
    metrics["baselines"], metrics["baselines_accuracy"], metrics["baselines_classification"] = {}, {}, {}
    try:
        metrics["baseline_modality"] = baseline_modality(
            inp.survey, inp.modality
        )  # whose pixels pixel_pca uses
    except GalexploreError:
        metrics["baseline_modality"] = None
    skipped, features = {}, {}
    for b in names:
        try:
            features[b] = np.asarray(baseline_features(b, inp, cache))
        except (GalexploreError, ValueError, KeyError) as exc:
            log.warning("baseline %s skipped: %s", b, exc)
            skipped[b] = str(exc)
            continue
        r2, cls = score_features(features[b], inp)
        metrics["baselines"][b] = r2
        metrics["baselines_accuracy"][b] = {c: s["knn"]["accuracy"] for c, s in cls.items()}
        metrics["baselines_classification"][b] = cls
    if skipped:
        metrics["baselines_skipped"] = skipped
    return features


__all__ = [
    "BASELINES",
    "baseline_features",
    "baseline_scores",
    "counts_text",
    "embedding_scores",
    "label_classes",
    "score_features",
]
