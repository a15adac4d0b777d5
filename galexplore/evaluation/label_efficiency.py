"""Label efficiency (Hayat et al. 2021): R² against the fraction of training labels used.

A self-supervised embedding is worth most when labels are scarce. For each fraction f of the
training split (the test split stays fixed), a random subset of f·n_train labelled galaxies
trains (a) the k-NN regressor on the embedding (the probe of :mod:`.probes`), (b) a ridge
regression on the embedding and (c) a supervised baseline that sees the same labels but no
embedding: the same ridge regression on the pixel-PCA features of the survey. Ridge
regularisation is chosen by cross-validation on those labels, so (b) and (c) differ only in
their input. Each point is the mean over ``repeats`` random subsets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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

    tr = train_idx[np.isfinite(y[train_idx])]
    te = test_idx[np.isfinite(y[test_idx])]
    if len(tr) < 3 or len(te) < 2:
        return float("nan")
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
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
    subsets = [[train_idx] if n >= len(train_idx) else [np.sort(rng.choice(train_idx, n, replace=False)) for _ in range(repeats)]
               for n in sizes]
    curves: dict[str, dict[str, list[float]]] = {}
    for name, values in targets.items():
        y = np.asarray(values, dtype=float)
        emb, lin, sup = [], [], []
        for group in subsets:
            emb.append(float(np.nanmean([knn_r2(X, y, s, test_idx, k=min(k, len(s) - 1)) for s in group])))
            lin.append(float(np.nanmean([ridge_r2(X, y, s, test_idx) for s in group])))
            sup.append(float(np.nanmean([ridge_r2(F, y, s, test_idx) for s in group])))
        curves[name] = {"embedding": [round(v, 4) for v in emb], "embedding_linear": [round(v, 4) for v in lin],
                        "supervised": [round(v, 4) for v in sup]}
    return {
        "fractions": list(fractions),
        "n_labels": sizes,
        "repeats": repeats,
        "embedding_probe": f"distance-weighted k-NN (k ≤ {k}) on standardised embeddings; "
                           "embedding_linear: the supervised baseline's ridge regression on the embeddings",
        "supervised": SUPERVISED,
        "properties": curves,
    }
