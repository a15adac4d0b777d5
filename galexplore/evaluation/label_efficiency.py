"""Label efficiency (Hayat et al. 2021): scores against the fraction of training labels used.

A self-supervised embedding is worth most when labels are scarce. For each fraction f of the
training split (the test split stays fixed), a random subset of f·n_train labelled galaxies
trains (a) the k-NN regressor on the embedding (the probe of :mod:`.probes`), (b) a ridge
regression on the embedding and (c) a supervised baseline that sees the same labels but no
embedding: the same ridge regression on the pixel-PCA features of the survey. Ridge
regularisation is chosen by cross-validation on those labels, so (b) and (c) differ only in
their input. Each point is the mean over ``repeats`` random subsets.

For label columns, :func:`classification_label_efficiency` gives Hayat et al.'s table: a
linear (logistic) probe on 1 %, 10 % and 100 % of the training labels, on the embedding and on
baseline features, against a supervised model trained on the same labels (the run's encoder
architecture, :mod:`galexplore.evaluation.supervised`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FRACTIONS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
SUPERVISED = "ridge regression on pixel-PCA features (alpha by cross-validation), trained on the same labels"


def ridge_r2(features: np.ndarray, y: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray) -> float:
    """Held-out R² of a cross-validated ridge regression (features standardised on the train rows)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from galexplore.evaluation.probes import one_blas_thread

    tr = train_idx[np.isfinite(y[train_idx])]
    te = test_idx[np.isfinite(y[test_idx])]
    if len(tr) < 3 or len(te) < 2:
        return float("nan")
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
    with one_blas_thread():
        model.fit(features[tr], y[tr])
    return float(r2_score(y[te], model.predict(features[te])))


def label_efficiency(
    X: npt.ArrayLike,
    supervised_features: npt.ArrayLike,
    targets: Mapping[str, npt.ArrayLike],
    train_idx: npt.ArrayLike,
    test_idx: npt.ArrayLike,
    *,
    fractions: Sequence[float] = FRACTIONS,
    repeats: int = 3,
    k: int = 16,
    random_state: int = 0,
) -> dict:
    """R² against the fraction of training labels, embedding k-NN vs the supervised baseline.

    Parameters
    ----------
    X : array_like (N, D)
        Embeddings.
    supervised_features : array_like (N, F)
        What the supervised baseline learns from (pixel-PCA features).
    targets : mapping name → array_like (N,)
        Properties to predict (NaN = unlabelled).
    train_idx, test_idx : array_like of int
        The evaluation split; subsets are drawn from ``train_idx`` only.
    fractions : sequence of float in (0, 1]
    repeats : int
        Random subsets averaged per fraction (one at f = 1).
    k : int
        Neighbours of the k-NN probe (capped at the subset size − 1).

    Returns
    -------
    dict with ``fractions``, ``n_labels`` (per fraction), ``supervised`` (method text),
    ``embedding_probe`` (method text) and ``properties``: name → ``{"embedding": [R²…],
    "embedding_linear": [R²…], "supervised": [R²…]}``.
    """
    from galexplore.evaluation.probes import knn_r2

    X = np.asarray(X, dtype=np.float32)
    F = np.asarray(supervised_features, dtype=np.float32)
    train_idx = np.asarray(train_idx)
    test_idx = np.asarray(test_idx)
    rng = np.random.default_rng(random_state)
    sizes = [max(int(round(f * len(train_idx))), 3) for f in fractions]
    subsets = [
        [train_idx]
        if n >= len(train_idx)
        else [np.sort(rng.choice(train_idx, n, replace=False)) for _ in range(repeats)]
        for n in sizes
    ]
    curves: dict[str, dict[str, list[float]]] = {}
    for name, values in targets.items():
        y = np.asarray(values, dtype=float)
        emb, lin, sup = [], [], []
        for group in subsets:
            emb.append(float(np.nanmean([knn_r2(X, y, s, test_idx, k=min(k, len(s) - 1)) for s in group])))
            lin.append(float(np.nanmean([ridge_r2(X, y, s, test_idx) for s in group])))
            sup.append(float(np.nanmean([ridge_r2(F, y, s, test_idx) for s in group])))
        curves[name] = {
            "embedding": [round(v, 4) for v in emb],
            "embedding_linear": [round(v, 4) for v in lin],
            "supervised": [round(v, 4) for v in sup],
        }
    return {
        "fractions": list(fractions),
        "n_labels": sizes,
        "repeats": repeats,
        "embedding_probe": f"distance-weighted k-NN (k ≤ {k}) on standardised embeddings; "
        "embedding_linear: the supervised baseline's ridge regression on the embeddings",
        "supervised": SUPERVISED,
        "properties": curves,
    }


# -- classification (Hayat et al. 2021, their table of 1 %, 10 % and 100 % of the labels) --------------------------

#: Fractions of the training labels of the classification table.
CLASS_FRACTIONS = (0.01, 0.1, 1.0)
LINEAR_PROBE = (
    "logistic regression (class_weight={cw}, C = 1) on features standardised on the labelled rows; "
    "mean over {repeats} random subsets below 100 %"
)


def stratified_subset(
    train_idx: np.ndarray, labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """``fraction`` of the labelled training rows of each class (at least one of each), sorted.

    Parameters
    ----------
    train_idx : ndarray of int
        Training rows that carry a label.
    labels : ndarray (N,) of str
        The label of every row.
    """
    if fraction >= 1:
        return np.sort(train_idx)
    picked = []
    for cls in np.unique(labels[train_idx]):
        rows = train_idx[labels[train_idx] == cls]
        picked.append(rng.choice(rows, max(1, int(round(fraction * len(rows)))), replace=False))
    return np.sort(np.concatenate(picked))


def classification_label_efficiency(
    features: Mapping[str, npt.ArrayLike],
    labels: Mapping[str, npt.ArrayLike],
    train_idx: npt.ArrayLike,
    test_idx: npt.ArrayLike,
    *,
    fractions: Sequence[float] = CLASS_FRACTIONS,
    repeats: int = 3,
    random_state: int = 0,
    supervised: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    supervised_labels: Sequence[str] | None = None,
    full_scores: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
) -> dict:
    """Classification scores against the fraction of training labels: linear probes vs a supervised model.

    Parameters
    ----------
    features : mapping name → array_like (N, D)
        Feature sets to probe, e.g. ``{"embedding": X, "pixel_pca": P}``.
    labels : mapping column → array_like (N,)
        Class of each row (missing ones are left out).
    train_idx, test_idx : array_like of int
        The evaluation split; subsets are drawn from the labelled training rows, stratified by
        class (:func:`stratified_subset`); the test rows stay fixed.
    fractions : sequence of float in (0, 1]
    repeats : int
        Random subsets averaged per fraction below 1 for the linear probes.
    supervised : callable, optional
        ``supervised(train_rows, y, test_rows) → predictions (len(test_rows),)`` (``y``: the
        labels of every row), e.g. a :class:`~galexplore.evaluation.supervised.SupervisedCNN`
        fitted on ``train_rows``; trained once per fraction, on the first subset.
    supervised_labels : sequence of str, optional
        The columns ``supervised`` is trained for (default: all).
    full_scores : mapping, optional
        feature set → column → the linear probe's scores on all training labels, when already
        computed on the same split (they are reused for the 100 % fraction, not refitted).

    Returns
    -------
    dict with ``fractions``, ``repeats``, ``linear_probe`` (method text) and ``labels``:
    column → ``{"n_labels": [...], "<feature set>": {"accuracy": [...], "balanced_accuracy":
    [...], "macro_f1": [...]}, "supervised_cnn": {...}}`` (one value per fraction).
    """
    from galexplore.evaluation.probes import (
        LINEAR_PROBE_CLASS_WEIGHT,
        classification_scores,
        label_rows,
        linear_probe_classification,
    )

    keys = ("accuracy", "balanced_accuracy", "macro_f1")
    rng = np.random.default_rng(random_state)
    out: dict[str, dict] = {}
    for col, values in labels.items():
        tr, y = label_rows(values, train_idx)
        te, _ = label_rows(values, test_idx)
        subsets = [
            [stratified_subset(tr, y, f, rng) for _ in range(1 if f >= 1 else repeats)] for f in fractions
        ]
        res: dict[str, Any] = {"n_labels": [len(group[0]) for group in subsets]}
        for name, X in features.items():
            known = (full_scores or {}).get(name, {}).get(col)
            scores = [
                [
                    known
                    if known is not None and len(s) == len(tr)
                    else linear_probe_classification(X, y, s, te)
                    for s in group
                ]
                for group in subsets
            ]
            res[name] = {
                m: [round(float(np.nanmean([s[m] for s in group])), 4) for group in scores] for m in keys
            }
        if supervised is not None and (supervised_labels is None or col in supervised_labels):
            sup = [classification_scores(y[te], supervised(group[0], y, te)) for group in subsets]
            res["supervised_cnn"] = {m: [round(s[m], 4) for s in sup] for m in keys}
        out[col] = res
    return {
        "fractions": list(fractions),
        "repeats": repeats,
        "linear_probe": LINEAR_PROBE.format(cw=LINEAR_PROBE_CLASS_WEIGHT, repeats=repeats),
        "labels": out,
    }
