"""The find box: a galaxy by id or by sky position (decimal or sexagesimal, with a radius)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from galexplore.dashboard.state import ExplorerState
from galexplore.dashboard.url_state import parse_range
from galexplore.dashboard.views.find import FindGalaxy, find_galaxy, parse_position
from galexplore.errors import GalexploreError

ROW = 7


@pytest.fixture
def target(tiny_data) -> SkyCoord:
    cat = tiny_data.catalog
    return SkyCoord(cat.at[ROW, "ra"] * u.deg, cat.at[ROW, "dec"] * u.deg)


def test_a_galaxy_id_is_found_as_it_is(tiny_data):
    gid = tiny_data.galaxy_ids[ROW]
    found = find_galaxy(tiny_data, f"  {gid} ")
    assert (found.row, found.galaxy_id, found.separation_arcsec) == (ROW, gid, None)


def test_decimal_degrees_find_the_nearest_galaxy(tiny_data, target):
    found = find_galaxy(tiny_data, f"{target.ra.deg:.6f} {target.dec.deg:.6f}")
    assert found.row == ROW and found.separation_arcsec < 0.01
    found = find_galaxy(tiny_data, f"{target.ra.deg:.6f}, {target.dec.deg:.6f}")  # a comma is fine too
    assert found.row == ROW


@pytest.mark.parametrize("sep", [":", "hms", " "])
def test_sexagesimal_positions_are_read_with_ra_in_hours(tiny_data, target, sep):
    text = target.to_string(
        "hmsdms", precision=2, **({} if sep == "hms" else {"sep": sep})
    )  # 10h35m41.8s +12d…
    found = find_galaxy(tiny_data, text)
    assert found.row == ROW and found.separation_arcsec < 0.5


def test_the_radius_decides_what_matches(tiny_data, target):
    offset = target.directional_offset_by(0 * u.deg, 3 * u.arcsec)  # 3″ north
    pos = f"{offset.ra.deg:.7f} {offset.dec.deg:.7f}"
    found = find_galaxy(tiny_data, pos)  # default radius 5″
    assert found.row == ROW and abs(found.separation_arcsec - 3) < 0.05
    assert find_galaxy(tiny_data, f"{pos} 4arcsec").row == ROW
    assert find_galaxy(tiny_data, f"{pos} 0.1arcmin").row == ROW
    with pytest.raises(GalexploreError, match=r"no galaxy within 2″ .*nearest, " + tiny_data.galaxy_ids[ROW]):
        find_galaxy(tiny_data, f"{pos} 2")  # a bare number is arcseconds


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "type a galaxy id"),
        ("no-such-galaxy", "neither a galaxy id nor a position"),
        ("12 hello", "neither a galaxy id nor a position"),
        ("150 95", "neither a galaxy id nor a position"),  # |Dec| > 90
        ("150 2 -1", "radius must be above 0"),
        ("150 2 20deg", "radius must be above 0"),
        ("150 2 wide", "not a search radius"),
    ],
)
def test_what_cannot_be_found_says_why(tiny_data, text, message):
    with pytest.raises(GalexploreError, match=message):
        find_galaxy(tiny_data, text)


def test_parse_position_defaults_to_five_arcseconds():
    coord, radius = parse_position("10:00:00 +02:00:00")
    assert np.isclose(coord.ra.deg, 150) and np.isclose(coord.dec.deg, 2) and np.isclose(radius.arcsec, 5)


def test_the_find_box_focuses_the_galaxy_and_centres_the_map_on_it(tiny_data, target):
    state = ExplorerState(tiny_data)
    box = FindGalaxy(state)
    found = box.find(f"{target.ra.deg:.6f} {target.dec.deg:.6f}")
    gid = tiny_data.galaxy_ids[ROW]
    assert found.galaxy_id == gid and state.focus == gid
    (x0, x1), (y0, y1) = parse_range(state.map_range)
    x, y = tiny_data.xy[ROW]
    assert np.isclose((x0 + x1) / 2, x, atol=1e-3) and np.isclose((y0 + y1) / 2, y, atol=1e-3)
    assert gid in box._status.object
    state.map_range = "0,2,0,4"  # zoomed in: the zoom's size is kept
    box.find(tiny_data.galaxy_ids[3])
    (x0, x1), (y0, y1) = parse_range(state.map_range)
    assert np.isclose(x1 - x0, 2, rtol=1e-4) and np.isclose(y1 - y0, 4, rtol=1e-4)
    assert box.find("0 -89.99 1") is None and "No galaxy within 1″" in box._status.object
    assert state.focus == tiny_data.galaxy_ids[3]  # unchanged
