"""Resample maps and images onto the survey's grid.

The target is the synthetic survey's grid (:class:`galexplore.data.synthetic.geometry.Grid`):
``size``×``size`` pixels spanning ±``extent``, in units of Rₑ when the effective radius is
known (default 64×64 over ±2.5 Rₑ, so a map encoder trained on the synthetic survey applies)
or of arcsec otherwise. Orientation follows the synthetic survey: row 0 is north, x increases
to the west (east left), as on the sky.

Sampling is bilinear and NaN-aware: an output pixel is NaN where less than half of the
interpolation weight falls on valid input pixels or outside the input. When the output pixel
is coarser than the input, the input is first smoothed with a Gaussian of σ = ½ × the pixel
ratio (normalised convolution, so NaN holes do not spread), which avoids aliasing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galexplore.data.synthetic.geometry import Grid


@dataclass(frozen=True)
class Frame:
    """Where a galaxy sits in an input pixel array.

    Parameters
    ----------
    center : (float, float)
        Galaxy centre as 0-based (column, row) pixel coordinates of the array.
    pixel_arcsec : float
        Pixel side in arcsec.
    wcs : astropy.wcs.WCS, optional
        Celestial WCS; when given its CD/PC matrix sets the orientation (and flips). Without
        it the array is taken as north up (rows increase to the north), east left.
    """

    center: tuple[float, float]
    pixel_arcsec: float
    wcs: object | None = None

    def pixel_offsets(
        self, east_arcsec: np.ndarray, north_arcsec: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(Δcolumn, Δrow) in input pixels of sky offsets east/north of the centre (arcsec)."""
        if self.wcs is not None:
            m = np.asarray(self.wcs.pixel_scale_matrix, dtype=float) * 3600.0  # arcsec / pixel
            inv = np.linalg.inv(m)
            dcol = inv[0, 0] * east_arcsec + inv[0, 1] * north_arcsec
            drow = inv[1, 0] * east_arcsec + inv[1, 1] * north_arcsec
            return dcol, drow
        return -east_arcsec / self.pixel_arcsec, north_arcsec / self.pixel_arcsec


@dataclass(frozen=True)
class Geometry:
    """Galaxy geometry used to normalise the grid.

    Parameters
    ----------
    re_arcsec : float, optional
        Effective radius (semi-major axis) in arcsec; None for a fixed arcsec grid.
    pa_deg : float, optional
        Position angle of the major axis, degrees north through east.
    axis_ratio : float, optional
        Minor-to-major axis ratio b/a.
    """

    re_arcsec: float | None = None
    pa_deg: float | None = None
    axis_ratio: float | None = None


def sky_offsets(
    grid: Grid, geometry: Geometry, *, unit: str, align: bool = False, deproject: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """East and north offsets (arcsec) of each output pixel centre, each (size, size).

    ``unit`` is ``"re"`` (grid extent in Rₑ) or ``"arcsec"``. With ``align`` the major axis
    (``geometry.pa_deg``) is rotated onto +x; with ``deproject`` as well, the minor axis is
    stretched by 1/b·a so that an inclined disc appears face-on.
    """
    x, y = Grid(grid.size, grid.extent, 0).coords(padded=False)  # x west, y north
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    if unit == "re":
        if not geometry.re_arcsec or not np.isfinite(geometry.re_arcsec) or geometry.re_arcsec <= 0:
            raise ValueError("an Rₑ-normalised grid needs a positive effective radius")
        x, y = x * geometry.re_arcsec, y * geometry.re_arcsec
    elif unit != "arcsec":
        raise ValueError(f"unit must be 're' or 'arcsec', got {unit!r}")
    if align and geometry.pa_deg is not None and np.isfinite(geometry.pa_deg):
        if deproject and geometry.axis_ratio and np.isfinite(geometry.axis_ratio):
            y = y * float(np.clip(geometry.axis_ratio, 0.05, 1.0))
        phi = np.deg2rad(90.0 + geometry.pa_deg)  # the major axis, counter-clockwise from west
        x, y = x * np.cos(phi) - y * np.sin(phi), x * np.sin(phi) + y * np.cos(phi)
    return -x, y  # east = −west


def _smooth_nan(plane: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import gaussian_filter

    valid = np.isfinite(plane)
    filled = np.where(valid, plane, 0.0)
    if sigma <= 0:
        return filled, valid.astype(np.float64)
    w = gaussian_filter(valid.astype(np.float64), sigma, mode="constant")
    v = gaussian_filter(filled, sigma, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(w > 1e-6, v / w, 0.0)
    return v, (w >= 0.5).astype(np.float64)


def sample(data: np.ndarray, cols: np.ndarray, rows: np.ndarray, *, smooth_sigma: float = 0.0) -> np.ndarray:
    """Sample planes (C, H, W) at fractional pixel positions, NaN-aware bilinear.

    Parameters
    ----------
    data : ndarray, shape (C, H, W)
        Input planes, NaN where there is no data.
    cols, rows : ndarray, shape (h, w)
        0-based column and row positions to sample.
    smooth_sigma : float
        Gaussian σ in input pixels applied first (anti-aliasing for downsampling).

    Returns
    -------
    ndarray, shape (C, h, w), float32
    """
    from scipy.ndimage import map_coordinates

    data = np.asarray(data, dtype=np.float64)
    coords = np.stack([rows.ravel(), cols.ravel()])
    out = np.full((data.shape[0], *rows.shape), np.nan, dtype=np.float32)
    for c, plane in enumerate(data):
        values, weight = _smooth_nan(plane, smooth_sigma)
        w = map_coordinates(weight, coords, order=1, mode="constant", cval=0.0)
        v = map_coordinates(values * weight, coords, order=1, mode="constant", cval=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            res = np.where(w >= 0.5, v / np.where(w > 0, w, 1), np.nan)
        out[c] = res.reshape(rows.shape)
    return out


def resample(
    data: np.ndarray,
    frame: Frame,
    *,
    grid: Grid | None = None,
    geometry: Geometry | None = None,
    extent_arcsec: float = 36.0,
    align: bool = False,
    deproject: bool = False,
) -> tuple[np.ndarray, dict]:
    """Resample planes (C, H, W) onto the survey grid.

    Uses an Rₑ-normalised grid of ``grid.extent`` Rₑ when ``geometry.re_arcsec`` is known,
    else a fixed grid of ±``extent_arcsec``. Returns the (C, size, size) float32 planes and a
    dict describing the grid used (for ``survey.json``).
    """
    grid = grid or Grid(64, 2.5, 0)
    geometry = geometry or Geometry()
    if geometry.re_arcsec and np.isfinite(geometry.re_arcsec) and geometry.re_arcsec > 0:
        unit, target = "re", grid
        out_pix = grid.pixel * geometry.re_arcsec
    else:
        unit, target = "arcsec", Grid(grid.size, extent_arcsec, 0)
        out_pix = target.pixel
    east, north = sky_offsets(target, geometry, unit=unit, align=align, deproject=deproject)
    dcol, drow = frame.pixel_offsets(east, north)
    ratio = out_pix / frame.pixel_arcsec
    out = sample(
        data, frame.center[0] + dcol, frame.center[1] + drow, smooth_sigma=0.5 * ratio if ratio > 1.5 else 0.0
    )
    info = {"unit": unit, "size": grid.size, "extent": target.extent, "pixel_arcsec": out_pix}
    return out, info


def centre_square(data: np.ndarray, fraction: float = 1.0) -> np.ndarray:
    """The central square crop (…, s, s) of planes (…, H, W), s = round(fraction · min(H, W)).

    ``fraction`` (0 < f ≤ 1) keeps that fraction of the shorter side about the centre, e.g.
    0.5 for the middle half of a survey cutout in which the galaxy fills only the centre. When
    the crop and the frame differ in parity, the crop starts half a pixel closer to the top
    left (integer pixels, no resampling).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"crop fraction must be in (0, 1], got {fraction}")
    h, w = data.shape[-2:]
    s = max(1, int(round(fraction * min(h, w))))
    r0, c0 = (h - s) // 2, (w - s) // 2
    return data[..., r0 : r0 + s, c0 : c0 + s]


def resize(data: np.ndarray, size: int) -> np.ndarray:
    """Resize square planes (C, s, s) to (C, size, size), pixel centres aligned, anti-aliased."""
    s = data.shape[-1]
    scale = s / size
    c = (np.arange(size) + 0.5) * scale - 0.5
    cols, rows = np.meshgrid(c, c, indexing="xy")
    return sample(data, cols, rows, smooth_sigma=0.5 * scale if scale > 1.5 else 0.0)


__all__ = ["Frame", "Geometry", "centre_square", "resample", "resize", "sample", "sky_offsets"]
