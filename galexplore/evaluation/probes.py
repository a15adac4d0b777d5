"""Probes that score embeddings against known truths on a held-out split.

The protocol follows AstroCLIP's: standardise the features on the training split, then
distance-weighted k-nearest-neighbour regression (k = 16) or classification; a linear
(ridge / logistic) probe is available beside it. Every function takes the row indices of the
split, so embeddings and baselines are always scored on the same galaxies.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


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


def _prepare(X: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
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


def knn_r2(X: npt.ArrayLike, y: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike, *, k: int = 16) -> float:
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


def knn_accuracy(
    X: npt.ArrayLike, labels: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike, *, k: int = 16
) -> dict[str, float]:
    """Held-out accuracy and weighted F1 of distance-weighted k-NN classification.

    Rows whose label is missing (None / NaN) are left out.

    Returns
    -------
    dict
        ``{"accuracy": …, "f1_weighted": …}``.
    """
    import pandas as pd
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.neighbors import KNeighborsClassifier

    lab = pd.Series(np.asarray(labels, dtype=object))
    ok = lab.notna().to_numpy()
    tr = np.asarray(train_idx)[ok[np.asarray(train_idx)]]
    te = np.asarray(test_idx)[ok[np.asarray(test_idx)]]
    if len(tr) < 2 or len(te) < 1:
        return {"accuracy": float("nan"), "f1_weighted": float("nan")}
    y = lab.astype(str).to_numpy()
    Xtr, Xte = _prepare(X, tr, te)
    pred = KNeighborsClassifier(n_neighbors=min(k, len(tr)), weights="distance").fit(Xtr, y[tr]).predict(Xte)
    return {
        "accuracy": float(accuracy_score(y[te], pred)),
        "f1_weighted": float(f1_score(y[te], pred, average="weighted", zero_division=0)),
    }


def linear_probe_r2(
    X: npt.ArrayLike, y: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike, *, alpha: float = 1.0
) -> float:
    """Held-out R² of a ridge regression on standardised features (rows with NaN target left out)."""
    from sklearn.linear_model import Ridge

    y = np.asarray(y, dtype=np.float64)
    tr, te = _valid_target(y, np.asarray(train_idx)), _valid_target(y, np.asarray(test_idx))
    if len(tr) < 2 or len(te) < 2:
        return float("nan")
    Xtr, Xte = _prepare(X, tr, te)
    return _r2(y[te], Ridge(alpha=alpha).fit(Xtr, y[tr]).predict(Xte))


def linear_probe_accuracy(
    X: npt.ArrayLike, labels: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike, *, C: float = 1.0
) -> float:
    """Held-out accuracy of a logistic-regression probe on standardised features."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    lab = pd.Series(np.asarray(labels, dtype=object))
    ok = lab.notna().to_numpy()
    tr = np.asarray(train_idx)[ok[np.asarray(train_idx)]]
    te = np.asarray(test_idx)[ok[np.asarray(test_idx)]]
    y = lab.astype(str).to_numpy()
    if len(tr) < 2 or len(te) < 1 or len(set(y[tr])) < 2:
        return float("nan")
    Xtr, Xte = _prepare(X, tr, te)
    clf = LogisticRegression(C=C, max_iter=2000).fit(Xtr, y[tr])
    return float((clf.predict(Xte) == y[te]).mean())


def retrieval_accuracy(query: npt.ArrayLike, gallery: npt.ArrayLike, ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
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


__all__ = ["knn_accuracy", "knn_r2", "linear_probe_accuracy", "linear_probe_r2", "retrieval_accuracy", "split_indices"]
