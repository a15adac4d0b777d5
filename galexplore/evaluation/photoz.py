"""Photometric-redshift metrics of Hayat et al. (2021), for any predicted redshift.

Δz = (z_pred − z_true) / (1 + z_true); σ_MAD = 1.4826 · median(|Δz − median(Δz)|) and the
outlier fraction is the share of |Δz| > 0.05.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

OUTLIER_LIMIT = 0.05


def photoz_metrics(
    z_true: npt.ArrayLike, z_pred: npt.ArrayLike, *, outlier_limit: float = OUTLIER_LIMIT
) -> dict[str, float]:
    """σ_MAD of Δz/(1+z), the outlier fraction (|Δz|/(1+z) > ``outlier_limit``) and the bias.

    Parameters
    ----------
    z_true, z_pred : array_like (N,)
        True and predicted redshifts; pairs with a NaN are left out.

    Returns
    -------
    dict with ``sigma_mad``, ``outlier_fraction``, ``bias`` (median Δz), ``n``.
    """
    zt = np.asarray(z_true, dtype=float)
    zp = np.asarray(z_pred, dtype=float)
    ok = np.isfinite(zt) & np.isfinite(zp)
    if not ok.any():
        return {"sigma_mad": float("nan"), "outlier_fraction": float("nan"), "bias": float("nan"), "n": 0}
    dz = (zp[ok] - zt[ok]) / (1 + zt[ok])
    med = np.median(dz)
    return {
        "sigma_mad": float(1.4826 * np.median(np.abs(dz - med))),
        "outlier_fraction": float(np.mean(np.abs(dz) > outlier_limit)),
        "bias": float(med),
        "n": int(ok.sum()),
    }


def knn_predict(
    X: npt.ArrayLike, y: npt.ArrayLike, train_idx: npt.ArrayLike, test_idx: npt.ArrayLike, *, k: int = 16
) -> np.ndarray:
    """k-NN predictions of ``y`` for ``test_idx`` under the probe protocol of :mod:`.probes`.

    Embeddings are standardised on the training rows and the regressor weights neighbours by
    inverse distance; training rows with NaN targets are left out. Returns (len(test_idx),).
    """
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=float)
    tr = np.asarray(train_idx)
    tr = tr[np.isfinite(y[tr])]
    scaler = StandardScaler().fit(X[tr])
    model = KNeighborsRegressor(n_neighbors=min(k, len(tr)), weights="distance").fit(
        scaler.transform(X[tr]), y[tr]
    )
    return model.predict(scaler.transform(X[np.asarray(test_idx)]))
