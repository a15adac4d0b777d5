"""Probes that score embeddings against known truths on a held-out split.

The protocol follows AstroCLIP's: standardise the features on the training split, then
distance-weighted k-nearest-neighbour regression (k = 16) or classification; a linear
(ridge / logistic) probe is available beside it. Every function takes the row indices of the
split, so embeddings and baselines are always scored on the same galaxies.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

#: The scores of every classification probe (:func:`classification_scores`).
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "f1_weighted")
#: Class weighting of the logistic-regression probe. Real labelled sets are imbalanced (Galaxy
#: Zoo 1: 70 % ellipticals); unweighted, the probe leans to the majority class, which raises
#: accuracy a little and costs balanced accuracy much more (docs/analysis.md). "balanced" asks
#: whether every class is linearly separable in the embedding, which is the question here.
LINEAR_PROBE_CLASS_WEIGHT: str | None = "balanced"
LINEAR_PROBE_MAX_ITER = 1000


def one_blas_thread():
    """A context in which BLAS runs on one thread: for the probes' small, iterative fits.

    Their matrices (10³–10⁴ rows × 10²–10³ features) gain little from BLAS threads, and on a
    shared, busy CPU OpenBLAS's waiting threads cost far more than they save: a logistic probe of
    morph_type on the 416-d embedding of 1,500 galaxies took 30 s of CPU (115–140 s wall) with
    OpenBLAS's 2 threads and 1.5 s (10–12 s wall) with one, side by side at a load average of 11
    on 2 cores.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def split_indices(n: int, test_fraction: float = 0.2, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random train / test split of ``n`` rows.

    Returns
    -------
    train_idx, test_idx : ndarray of int64
        Sorted, disjoint, covering ``range(n)``; ``test_idx`` has ``round(n·test_fraction)`` rows.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    return np.sort(perm[n_test:]).astype(np.int64), np.sort(perm[:n_test]).astype(np.int64)


def _prepare(
    X: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (N, D), got shape {X.shape}")
    train_idx, test_idx = np.asarray(train_idx), np.asarray(test_idx)
    scaler = StandardScaler().fit(X[train_idx])
    return scaler.transform(X[train_idx]), scaler.transform(X[test_idx])


def _valid_target(y: npt.ArrayLike, idx: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return idx[np.isfinite(y[idx])]


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y_true, y_pred)) if len(y_true) >= 2 else float("nan")


def knn_r2(
    X: npt.ArrayLike, y: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike, *, k: int = 16
) -> float:
    """Held-out R² of distance-weighted k-NN regression on standardised features.

    Parameters
    ----------
    X : array (N, D)
        Features (embeddings or a baseline).
    y : array (N,)
        Target; rows where it is NaN are left out of both splits.
    train_idx, test_idx : arrays of int
        Row indices of the split (see :func:`split_indices`).
    k : int
        Neighbours (AstroCLIP: 16).

    Returns
    -------
    float
        R² on the test rows (NaN if fewer than 2 test rows have a target).
    """
    from sklearn.neighbors import KNeighborsRegressor

    y = np.asarray(y, dtype=np.float64)
    tr, te = _valid_target(y, np.asarray(train_idx)), _valid_target(y, np.asarray(test_idx))
    if len(tr) < 2 or len(te) < 2:
        return float("nan")
    Xtr, Xte = _prepare(X, tr, te)
    model = KNeighborsRegressor(n_neighbors=min(k, len(tr)), weights="distance").fit(Xtr, y[tr])
    return _r2(y[te], model.predict(Xte))


def label_rows(labels: npt.ArrayLike, idx: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``idx`` that carry a label, and every label as a string array (N,).

    Missing labels (None, NaN, pd.NA or the empty string) are left out.
    """
    import pandas as pd

    lab = pd.Series(np.asarray(labels, dtype=object))
    text = lab.astype(str).to_numpy()
    ok = lab.notna().to_numpy() & (text != "")
    idx = np.asarray(idx)
    return idx[ok[idx]], text


def classification_scores(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """Accuracy, balanced accuracy (the mean recall over the true classes), macro-F1 and weighted F1.

    Balanced accuracy and macro-F1 weigh every class alike, so a majority guess on an
    imbalanced set (70 % ellipticals) scores 1 / n_classes and about 0.82 / n_classes.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        return dict.fromkeys(CLASSIFICATION_METRICS, float("nan"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "y_pred contains classes not in y_true"
        return {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        }


def knn_accuracy(
    X: npt.ArrayLike, labels: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike, *, k: int = 16
) -> dict[str, float]:
    """Held-out scores of distance-weighted k-NN classification on standardised features.

    Rows whose label is missing (None / NaN / empty) are left out.

    Returns
    -------
    dict
        ``{"accuracy", "balanced_accuracy", "macro_f1", "f1_weighted"}`` (see
        :func:`classification_scores`; NaN when fewer than 2 training rows have a label).
    """
    from sklearn.neighbors import KNeighborsClassifier

    tr, y = label_rows(labels, train_idx)
    te, _ = label_rows(labels, test_idx)
    if len(tr) < 2 or len(te) < 1:
        return dict.fromkeys(CLASSIFICATION_METRICS, float("nan"))
    Xtr, Xte = _prepare(X, tr, te)
    pred = KNeighborsClassifier(n_neighbors=min(k, len(tr)), weights="distance").fit(Xtr, y[tr]).predict(Xte)
    return classification_scores(y[te], pred)


def linear_probe_r2(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    train_idx: npt.ArrayLike,
    test_idx: npt.ArrayLike,
    *,
    alpha: float = 1.0,
) -> float:
    """Held-out R² of a ridge regression on standardised features (rows with NaN target left out)."""
    from sklearn.linear_model import Ridge

    y = np.asarray(y, dtype=np.float64)
    tr, te = _valid_target(y, np.asarray(train_idx)), _valid_target(y, np.asarray(test_idx))
    if len(tr) < 2 or len(te) < 2:
        return float("nan")
    Xtr, Xte = _prepare(X, tr, te)
    with one_blas_thread():
        return _r2(y[te], Ridge(alpha=alpha).fit(Xtr, y[tr]).predict(Xte))


def linear_probe_classification(
    X: npt.ArrayLike,
    labels: npt.ArrayLike,
    train_idx: npt.ArrayLike,
    test_idx: npt.ArrayLike,
    *,
    C: float = 1.0,
    class_weight: str | None = LINEAR_PROBE_CLASS_WEIGHT,
) -> dict[str, float]:
    """Held-out scores of a logistic-regression probe on standardised features.

    Parameters
    ----------
    X : array (N, D)
    labels : array (N,)
        Class of each row (missing ones are left out).
    train_idx, test_idx : arrays of int
    C : float
        Inverse L2 regularisation strength.
    class_weight : {"balanced", None}
        ``"balanced"`` (default) weighs each training row by n / (n_classes · n_its_class), so
        the probe does not learn the class prior of an imbalanced set (see
        :data:`LINEAR_PROBE_CLASS_WEIGHT`).

    Returns
    -------
    dict
        As :func:`knn_accuracy`; NaN when the training rows hold fewer than two classes.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    tr, y = label_rows(labels, train_idx)
    te, _ = label_rows(labels, test_idx)
    if len(tr) < 2 or len(te) < 1 or len(set(y[tr])) < 2:
        return dict.fromkeys(CLASSIFICATION_METRICS, float("nan"))
    Xtr, Xte = _prepare(X, tr, te)
    clf = LogisticRegression(C=C, max_iter=LINEAR_PROBE_MAX_ITER, class_weight=class_weight)
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)  # scores are reported either way
        clf.fit(Xtr, y[tr])
    return classification_scores(y[te], clf.predict(Xte))


def linear_probe_accuracy(
    X: npt.ArrayLike,
    labels: npt.ArrayLike,
    train_idx: npt.ArrayLike,
    test_idx: npt.ArrayLike,
    *,
    C: float = 1.0,
    class_weight: str | None = LINEAR_PROBE_CLASS_WEIGHT,
) -> float:
    """Held-out accuracy of the logistic-regression probe (:func:`linear_probe_classification`)."""
    return linear_probe_classification(X, labels, train_idx, test_idx, C=C, class_weight=class_weight)[
        "accuracy"
    ]


def retrieval_accuracy(
    query: npt.ArrayLike, gallery: npt.ArrayLike, ks: tuple[int, ...] = (1, 10)
) -> dict[str, float]:
    """Cross-modal retrieval: for each query row i, is gallery row i among its k nearest?

    Parameters
    ----------
    query, gallery : arrays (N, D)
        Paired embeddings of two modalities (row i of each is the same galaxy), e.g. spectra
        as queries and images as the gallery; compared by cosine similarity.
    ks : tuple of int

    Returns
    -------
    dict
        ``{"top1": …, "top10": …, "chance_top1": 1/N, "chance_top10": 10/N, "n": N}``.
    """
    q = np.asarray(query, dtype=np.float64)
    g = np.asarray(gallery, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True).clip(1e-12)
    g = g / np.linalg.norm(g, axis=1, keepdims=True).clip(1e-12)
    sim = q @ g.T
    # rank of the true partner: how many gallery items are more similar than it
    rank = (sim > np.diag(sim)[:, None]).sum(axis=1)
    n = len(q)
    out: dict[str, float] = {}
    for k in ks:
        out[f"top{k}"] = float((rank < k).mean())
        out[f"chance_top{k}"] = min(k, n) / n
    out["n"] = n
    return out


__all__ = [
    "CLASSIFICATION_METRICS",
    "LINEAR_PROBE_CLASS_WEIGHT",
    "classification_scores",
    "knn_accuracy",
    "knn_r2",
    "label_rows",
    "linear_probe_accuracy",
    "linear_probe_classification",
    "linear_probe_r2",
    "retrieval_accuracy",
    "split_indices",
]
