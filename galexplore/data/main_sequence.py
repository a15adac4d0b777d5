"""The star-forming main sequence: a straight-line fit of log SFR against log M*."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MainSequence:
    """log SFR = slope · (log M* − pivot) + intercept, fitted over ``n`` galaxies.

    ``scatter`` is the standard deviation of the residuals [dex].
    """

    slope: float
    intercept: float
    pivot: float
    scatter: float
    n: int

    def __call__(self, log_mstar: np.ndarray) -> np.ndarray:
        """Main-sequence log SFR [log M☉ yr⁻¹] at ``log_mstar`` [log M☉]."""
        return self.slope * (np.asarray(log_mstar, dtype=float) - self.pivot) + self.intercept


def fit_main_sequence(
    catalog: pd.DataFrame, *, classes: tuple[str, ...] = ("star-forming",), pivot: float = 10.0
) -> MainSequence:
    """Ordinary least-squares fit of ``log_sfr`` on ``log_mstar`` over galaxies of ``classes``.

    Parameters
    ----------
    catalog : DataFrame
        Needs ``log_mstar``, ``log_sfr`` and ``sf_class`` (standard columns).
    classes : tuple of str
        ``sf_class`` values to fit (default: star-forming, |EW(Hα)| > 6 Å).
    pivot : float
        log M* at which ``intercept`` is quoted.
    """
    for col in ("log_mstar", "log_sfr", "sf_class"):
        if col not in catalog.columns:
            raise ValueError(f"the catalog has no {col!r} column, needed for a main-sequence fit")
    m = pd.to_numeric(catalog["log_mstar"], errors="coerce").to_numpy(float)
    s = pd.to_numeric(catalog["log_sfr"], errors="coerce").to_numpy(float)
    sel = catalog["sf_class"].isin(classes).to_numpy() & np.isfinite(m) & np.isfinite(s)
    if sel.sum() < 3:
        raise ValueError(f"only {int(sel.sum())} galaxies of {classes} with finite mass and SFR: cannot fit")
    slope, intercept = np.polyfit(m[sel] - pivot, s[sel], 1)
    resid = s[sel] - (slope * (m[sel] - pivot) + intercept)
    return MainSequence(float(slope), float(intercept), pivot, float(np.std(resid)), int(sel.sum()))


__all__ = ["MainSequence", "fit_main_sequence"]
