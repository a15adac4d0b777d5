"""Label efficiency of label columns (Hayat et al.): stratified subsets, probes and the supervised hook."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.evaluation.label_efficiency import classification_label_efficiency, stratified_subset
from galexplore.evaluation.probes import split_indices


def _classes(n=3000, seed=0):
    """Three imbalanced classes (60/30/10 %) separated along a few of 32 dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.6, 0.3, 0.1])
    centres = {"a": 0.0, "b": 1.5, "c": 3.0}
    X = rng.normal(size=(n, 32))
    X[:, :3] += np.array([centres[c] for c in y])[:, None]
    return X, y.astype(object)


def test_stratified_subset_keeps_every_class():
    _, y = _classes()
    tr = np.arange(0, 3000, 2)
    rng = np.random.default_rng(0)
    sub = stratified_subset(tr, y, 0.01, rng)
    assert set(y[sub]) == {"a", "b", "c"} and set(sub) <= set(tr)
    assert 12 <= len(sub) <= 18 and np.all(np.diff(sub) > 0)
    share = np.mean(y[stratified_subset(tr, y, 0.1, rng)] == "a")
    assert share == pytest.approx(np.mean(y[tr] == "a"), abs=0.02)
    assert np.array_equal(stratified_subset(tr, y, 1.0, rng), tr)


def test_scores_grow_with_labels_and_the_supervised_model_sees_only_its_subset():
    from sklearn.neighbors import NearestCentroid

    X, y = _classes()
    noise = np.random.default_rng(9).normal(size=X.shape)
    tr, te = split_indices(len(y), 0.3, random_state=1)
    seen = []

    def nearest_centroid(train_rows, labels, test_rows):
        seen.append(train_rows)
        return NearestCentroid().fit(X[train_rows], labels[train_rows]).predict(X[test_rows])

    out = classification_label_efficiency(
        {"embedding": X, "noise": noise}, {"cls": y}, tr, te, repeats=2, supervised=nearest_centroid
    )
    res = out["labels"]["cls"]
    assert out["fractions"] == [0.01, 0.1, 1.0] and res["n_labels"][-1] == len(tr)
    emb = res["embedding"]["balanced_accuracy"]
    assert emb[0] < emb[2] and emb[2] > 0.8
    assert max(res["noise"]["balanced_accuracy"]) < 0.45  # chance is 1/3
    assert len(seen) == 3 and [len(s) for s in seen] == res["n_labels"]
    assert all(set(s) <= set(tr) for s in seen)
    assert res["supervised_cnn"]["balanced_accuracy"][2] > 0.8


def test_known_full_scores_are_reused_and_supervised_labels_restrict():
    X, y = _classes(600)
    tr, te = split_indices(len(y))
    marker = {"accuracy": 0.123, "balanced_accuracy": 0.456, "macro_f1": 0.789}
    out = classification_label_efficiency(
        {"embedding": X},
        {"cls": y, "other": y},
        tr,
        te,
        repeats=1,
        full_scores={"embedding": {"cls": marker}},
        supervised=lambda a, b, c: b[c],
        supervised_labels=["other"],
    )
    assert out["labels"]["cls"]["embedding"]["balanced_accuracy"][-1] == 0.456
    assert out["labels"]["other"]["embedding"]["balanced_accuracy"][-1] != 0.456
    assert (
        "supervised_cnn" not in out["labels"]["cls"]
        and out["labels"]["other"]["supervised_cnn"]["accuracy"] == [1.0] * 3
    )
