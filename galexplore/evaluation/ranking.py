"""Which properties does an embedding encode most? A ranking by distance correlation.

eCALIFA (Martínez-Solaeche et al. 2024) ranks properties by how strongly they correlate with
the embedding space (EW(Hα) > morphology > [Z/H] > age > Σ* > … > M*). Here the strength is
the distance correlation dCor(Z, y) of Székely, Rizzo & Bakirov (2007) between the embedding
vectors Z (N, D) and each property y (N,): 0 exactly when they are independent, 1 for a
similarity transform, sensitive to non-linear and non-monotonic dependence, and needing no
fitted model (so it is independent of the k-NN R² that measures the same thing by prediction).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

METHOD = (
    "distance correlation dCor(embedding, property) (Székely, Rizzo & Bakirov 2007), "
    "on L2-normalised embeddings, up to {n} random galaxies with the property measured"
)


def _centred_distances(x: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        d = np.abs(x[:, None] - x[None, :])
    else:
        sq = np.einsum("ij,ij->i", x, x)
        d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))
    return d - d.mean(axis=0) - d.mean(axis=1)[:, None] + d.mean()


def distance_correlation(X: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Sample distance correlation between rows of ``X`` (N, D) and ``y`` (N,), in [0, 1].

    O(N²) memory: call on at most a few thousand rows.
    """
    a = _centred_distances(np.asarray(X, dtype=np.float64))
    b = _centred_distances(np.asarray(y, dtype=np.float64))
    dcov2 = (a * b).mean()
    denom = np.sqrt((a * a).mean() * (b * b).mean())
    return float(np.sqrt(max(dcov2, 0.0) / denom)) if denom > 0 else 0.0


def correlation_ranking(
    X: npt.ArrayLike,
    properties: Mapping[str, npt.ArrayLike],
    *,
    max_rows: int = 2000,
    random_state: int = 0,
) -> dict:
    """Rank properties by their distance correlation with the embedding.

    Parameters
    ----------
    X : array_like (N, D)
        Embeddings (L2-normalised here, matching the cosine geometry used elsewhere).
    properties : mapping name → array_like (N,)
        Numeric properties; NaNs are left out per property.
    max_rows : int
        At most this many random galaxies per property (dCor costs O(N²)).

    Returns
    -------
    dict with ``method`` (str) and ``ranking``: a list of ``{"property", "dcor", "n"}``
    sorted from the most to the least strongly encoded.
    """
    from galexplore.analysis.search import normalise

    Z = normalise(X)
    rng = np.random.default_rng(random_state)
    ranking = []
    for name, values in properties.items():
        y = np.asarray(values, dtype=float)
        rows = np.flatnonzero(np.isfinite(y))
        if len(rows) < 10 or np.ptp(y[rows]) == 0:
            continue
        if len(rows) > max_rows:
            rows = np.sort(rng.choice(rows, max_rows, replace=False))
        ranking.append(
            {"property": name, "dcor": round(distance_correlation(Z[rows], y[rows]), 4), "n": len(rows)}
        )
    ranking.sort(key=lambda r: -r["dcor"])
    return {"method": METHOD.format(n=max_rows), "ranking": ranking}
