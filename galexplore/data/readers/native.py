"""What a map or image reader returns: planes on the file's own pixel grid, plus where the galaxy is.

Readers convert values and units; :func:`NativePlanes.to_grid` then resamples onto the
survey's grid (:mod:`galexplore.data.readers.resample`). Keeping the two apart lets tests check
the unit conversions on the native pixels, exactly as the source tabulates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from galexplore.data.readers.resample import Frame, Geometry, resample
from galexplore.data.synthetic.geometry import Grid

C_KMS = 299792.458


@dataclass
class NativePlanes:
    """Planes of one galaxy on the file's pixel grid.

    Parameters
    ----------
    galaxy_id : str
        Identifier taken from the file (header object name, table name or file stem).
    data : ndarray, shape (C, H, W), float
        Converted values, NaN where there is no data.
    channels, units : list of str
        Name and unit of each plane.
    frame : Frame
        Galaxy centre, pixel scale and (optional) WCS of the planes.
    source : str
        The file(s) read.
    properties : dict
        Per-galaxy values found in the file (``ra``, ``dec``, ``z``, ``re_arcsec``,
        ``pa_deg``, ``axis_ratio``, ``distance_mpc`` …) for the catalog.
    notes : dict
        How the planes were found and converted (for ``survey.json`` provenance).
    """

    galaxy_id: str
    data: np.ndarray
    channels: list[str]
    units: list[str]
    frame: Frame
    source: str
    properties: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def channel(self, name: str) -> np.ndarray:
        """One plane by name."""
        return self.data[self.channels.index(name)]

    def to_grid(
        self,
        *,
        grid: Grid | None = None,
        geometry: Geometry | None = None,
        extent_arcsec: float = 36.0,
        align: bool = False,
        deproject: bool = False,
    ) -> tuple[np.ndarray, dict]:
        """Resample onto the survey grid; geometry defaults to what the file itself says.

        Returns the (C, size, size) float32 planes and a description of the grid used.
        """
        p = self.properties
        own = Geometry(p.get("re_arcsec"), p.get("pa_deg"), p.get("axis_ratio"))
        if geometry is None:
            geometry = own
        else:  # a catalog's values win; the file fills what the catalog lacks
            geometry = Geometry(
                _first(geometry.re_arcsec, own.re_arcsec),
                _first(geometry.pa_deg, own.pa_deg),
                _first(geometry.axis_ratio, own.axis_ratio),
            )
        return resample(
            self.data,
            self.frame,
            grid=grid,
            geometry=geometry,
            extent_arcsec=extent_arcsec,
            align=align,
            deproject=deproject,
        )


def _first(*values):
    for v in values:
        if v is not None and np.isfinite(v):
            return float(v)
    return None


def peak_centre(plane: np.ndarray, sigma: float = 2.0) -> tuple[float, float]:
    """(column, row) of the brightest smoothed pixel in the central half of a flux plane.

    Used only when a file has neither a WCS with the object's position nor a catalog
    position; the central-half restriction avoids bright stars near the edges.
    """
    from scipy.ndimage import gaussian_filter

    h, w = plane.shape
    valid = np.isfinite(plane)
    if not valid.any():
        return (w - 1) / 2.0, (h - 1) / 2.0
    sm = gaussian_filter(np.where(valid, plane, 0.0), sigma)
    box = np.full_like(sm, -np.inf)
    r0, c0 = h // 4, w // 4
    box[r0 : h - r0, c0 : w - c0] = sm[r0 : h - r0, c0 : w - c0]
    row, col = np.unravel_index(int(np.argmax(box)), box.shape)
    return float(col), float(row)


__all__ = ["C_KMS", "NativePlanes", "peak_centre"]
