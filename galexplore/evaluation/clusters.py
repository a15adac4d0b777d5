"""Do unsupervised clusters of the embedding recover the star-forming / retired split?

eCALIFA finds that k = 2 clusters separate the blue cloud from the red sequence, and k = 3
add the green valley. :func:`cluster_agreement` clusters the embedding with k-means (rows
L2-normalised, as everywhere in galexplore) and scores each k with the adjusted Rand index
against ``sf_class``: for k = 2 against star-forming vs retired with the green valley left
out (it belongs to neither side), for k ≥ 3 against all three classes. It also reports each
cluster's ``sf_class`` mix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from galexplore.clustering import Clusterer
from galexplore.data.columns import SF_CLASSES

GREEN_VALLEY = "green-valley"


def cluster_agreement(
    X: npt.ArrayLike,
    sf_class: npt.ArrayLike,
    ks: Sequence[int] = (2, 3),
    *,
    random_state: int = 0,
) -> dict[str, dict]:
    """Adjusted Rand index of k-means clusters against ``sf_class`` for each k.

    Parameters
    ----------
    X : array_like (N, D)
        Embeddings.
    sf_class : array_like (N,) of str
        ``star-forming`` / ``green-valley`` / ``retired`` (None or NaN are left out).
    ks : sequence of int
        Numbers of clusters.

    Returns
    -------
    dict ``str(k)`` → ``{"ari", "n_scored", "excluded", "method", "labels", "mix"}`` where
    ``labels`` (N,) are the cluster labels (0 = largest) and ``mix`` maps each cluster to
    its size and class fractions.
    """
    from sklearn.metrics import adjusted_rand_score

    classes = np.asarray([c if isinstance(c, str) else "" for c in np.asarray(sf_class, dtype=object)])
    out: dict[str, dict] = {}
    for k in ks:
        labels = Clusterer("kmeans", int(k), space="embedding", random_state=random_state).fit(X).labels_
        excluded = [GREEN_VALLEY] if k == 2 else []
        scored = np.isin(classes, [c for c in SF_CLASSES if c not in excluded])
        ari = adjusted_rand_score(classes[scored], labels[scored]) if scored.sum() > 1 else float("nan")
        mix = {}
        for c in range(int(labels.max()) + 1):
            member = labels == c
            mix[str(c)] = {"size": int(member.sum()), **{cls: round(float(np.mean(classes[member] == cls)), 4) for cls in SF_CLASSES}}
        out[str(k)] = {
            "ari": round(float(ari), 4),
            "n_scored": int(scored.sum()),
            "excluded": excluded,
            "method": f"k-means (k={k}) on L2-normalised embeddings, best of 4 inits, seed {random_state}",
            "labels": labels,
            "mix": mix,
        }
    return out
