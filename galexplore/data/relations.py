"""Empirical scaling relations used by the synthetic survey and drawn in the dashboard.

Kept free of heavy imports (numpy only): the dashboard imports it at start-up.
"""

from __future__ import annotations

import numpy as np

#: Star-forming main sequence of CALIFA galaxies (Cano-Díaz et al. 2016, ApJ 821, L26):
#: log SFR [M☉ yr⁻¹] = MS_SLOPE · log M* [M☉] + MS_ZERO, with MS_SCATTER dex of scatter.
MS_SLOPE = 0.81
MS_ZERO = -8.34
MS_SCATTER = 0.25


def main_sequence(log_mstar: np.ndarray) -> np.ndarray:
    """log SFR [M☉ yr⁻¹] of the star-forming main sequence at ``log_mstar`` [log M☉]."""
    return MS_SLOPE * np.asarray(log_mstar) + MS_ZERO
