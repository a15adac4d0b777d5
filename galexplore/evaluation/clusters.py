"""Do unsupervised clusters of the embedding recover the star-forming / retired split?

eCALIFA finds that k = 2 clusters separate the blue cloud from the red sequence, and k = 3
add the green valley. :func:`cluster_agreement` clusters with k-means and scores each k with
the adjusted Rand index against ``sf_class``: for k = 2 against star-forming vs retired with
the green valley left out (it belongs to neither side), for k ≥ 3 against all three classes.
It also reports each cluster's ``sf_class`` mix.

Where to cluster matters. A contrastive (InfoNCE) embedding spreads galaxies nearly uniformly
over its space (the unit hypersphere of the 64-d output; the features before the projection
head, the default embedding, are spread by the same loss), so k-means there cuts arbitrary
slices; the populations show up as dense, connected regions, which is what UMAP's 2-D map keeps. The
evaluation therefore clusters the 2-D projection by default (``space="projection"``, the map
the user sees) and reports the ARI of k-means on the L2-normalised embedding beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from galexplore.analysis.clustering import Clusterer
from galexplore.data.columns import SF_CLASSES

GREEN_VALLEY = "green-valley"
WHERE = {"embedding": "L2-normalised embeddings", "projection": "2-D projection"}


def cluster_agreement(
    X: npt.ArrayLike,
    sf_class: npt.ArrayLike,
    ks: Sequence[int] = (2, 3),
    *,
    space: str = "embedding",
    where: str | None = None,
    random_state: int = 0,
) -> dict[str, dict]:
    """Adjusted Rand index of k-means clusters against ``sf_class`` for each k.

    Parameters
    ----------
    X : array_like (N, D)
        Embeddings (``space="embedding"``, L2-normalised before k-means) or the 2-D
        projection (``space="projection"``, used as it is).
    sf_class : array_like (N,) of str
        ``star-forming`` / ``green-valley`` / ``retired`` (None or NaN are left out).
    ks : sequence of int
        Numbers of clusters.
    where : str, optional
        How to name the clustered space in the method text (e.g. ``"2-D UMAP map"``).

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
        labels = Clusterer("kmeans", int(k), space=space, random_state=random_state).fit(X).labels_
        excluded = [GREEN_VALLEY] if k == 2 else []
        scored = np.isin(classes, [c for c in SF_CLASSES if c not in excluded])
        ari = adjusted_rand_score(classes[scored], labels[scored]) if scored.sum() > 1 else float("nan")
        mix = {}
        for c in range(int(labels.max()) + 1):
            member = labels == c
            fractions = {cls: round(float(np.mean(classes[member] == cls)), 4) for cls in SF_CLASSES}
            mix[str(c)] = {"size": int(member.sum()), **fractions}
        out[str(k)] = {
            "ari": round(float(ari), 4),
            "n_scored": int(scored.sum()),
            "excluded": excluded,
            "method": f"k-means (k={k}) on the {where or WHERE[space]}, best of 4 inits, seed {random_state}",
            "labels": labels,
            "mix": mix,
        }
    return out
