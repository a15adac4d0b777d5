"""Resampling onto the Rₑ-normalised grid: scale, orientation, NaN handling."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs import WCS

from galexplore.data.readers.resample import Frame, Geometry, resample, resize, sample
from galexplore.data.synthetic.geometry import Grid


def _blob(h=81, w=81, at=(40.0, 40.0), sigma=2.0):
    rows, cols = np.mgrid[0:h, 0:w]
    return np.exp(-((cols - at[0]) ** 2 + (rows - at[1]) ** 2) / (2 * sigma**2))[None]


def _peak(plane):
    r, c = np.unravel_index(np.nanargmax(plane), plane.shape)
    return int(r), int(c)


def test_re_scaling_and_orientation():
    # input north up, east left, 1"/px; a blob 10" east and 5" north of the centre
    data = _blob(at=(40.0 - 10, 40.0 + 5))
    out, info = resample(data, Frame((40.0, 40.0), 1.0), geometry=Geometry(re_arcsec=10.0))
    assert info["unit"] == "re" and info["pixel_arcsec"] == pytest.approx(10 * 5 / 64)
    r, c = _peak(out[0])
    x, y = Grid(64, 2.5, 0).coords(padded=False)
    assert x[r, c] == pytest.approx(-1.0, abs=0.1)  # 1 Re to the east = −x (x points west)
    assert y[r, c] == pytest.approx(0.5, abs=0.1)  # north is up (row 0)


def _wcs(cd11):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [41, 41]
    w.wcs.cd = [[cd11, 0], [0, 1 / 3600]]
    return w


def test_wcs_orientation_matches_no_wcs():
    data = _blob(at=(30.0, 45.0))
    a, _ = resample(data, Frame((40.0, 40.0), 1.0), extent_arcsec=20)
    b, _ = resample(data, Frame((40.0, 40.0), 1.0, _wcs(-1 / 3600)), extent_arcsec=20)
    np.testing.assert_allclose(a, b, atol=1e-6)
    # east to the right (CD1_1 > 0): the mirrored array must land on the same sky grid
    c, _ = resample(data[:, :, ::-1], Frame((40.0, 40.0), 1.0, _wcs(1 / 3600)), extent_arcsec=20)
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_align_puts_major_axis_on_x():
    rows, cols = np.mgrid[0:81, 0:81]
    dx, dy = cols - 40.0, rows - 40.0  # dy north, −dx east
    pa = np.deg2rad(30.0)  # major axis 30° east of north
    east, north = -dx, dy
    u = east * np.sin(pa) + north * np.cos(pa)
    v = east * np.cos(pa) - north * np.sin(pa)
    ell = np.exp(-(u**2 / 200 + v**2 / 20))[None]
    out, _ = resample(ell, Frame((40.0, 40.0), 1.0), geometry=Geometry(10.0, 30.0, 0.3), align=True)
    p = np.nan_to_num(out[0])
    assert p[32, :].sum() > 2.5 * p[:, 32].sum()  # elongated along x after alignment


def test_nan_stays_nan_and_outside_is_nan():
    data = np.ones((1, 20, 20))
    data[0, :, :10] = np.nan
    cols, rows = np.meshgrid(np.array([2.0, 15.0, 50.0]), np.array([10.0]))
    out = sample(data, cols, rows)
    assert np.isnan(out[0, 0, 0]) and out[0, 0, 1] == 1 and np.isnan(out[0, 0, 2])
    assert np.nanmax(np.abs(resize(np.ones((1, 40, 40)), 10) - 1)) < 1e-6
