"""Find a galaxy by id or sky position: it goes into focus and the map centres on it.

The find box takes a ``galaxy_id``, or ``RA Dec [radius]``: decimal degrees
(``150.12 2.21``), sexagesimal (``10:00:28.6 +02:12:21`` or ``10h00m28.6s +2d12m21s``, or
``10 00 28.6 +02 12 21``; RA in hours), and a radius as a number of arcseconds or an angle
with its unit (``10arcsec``, ``0.5arcmin``, ``0.01deg``), :data:`DEFAULT_RADIUS_ARCSEC` if
none is given. The nearest galaxy within the radius is found with astropy
(:meth:`~astropy.coordinates.SkyCoord.match_to_catalog_sky` on a per-server catalog whose
k-d tree astropy keeps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import panel as pn

from galexplore.dashboard import _compat
from galexplore.dashboard.data import ExplorerData, per_server_cache
from galexplore.dashboard.state import ExplorerState, reports_errors
from galexplore.dashboard.url_state import format_range, parse_range
from galexplore.errors import GalexploreError

DEFAULT_RADIUS_ARCSEC = 5.0
MAX_RADIUS_DEG = 10.0
#: Share of the projection's extent the map shows around a found galaxy (when not zoomed in).
ZOOM_FRACTION = 0.3
HELP = "a galaxy id, or RA Dec [radius]"


@dataclass(frozen=True)
class Found:
    """A galaxy found by :func:`find_galaxy`: its catalog row and id, and its distance (arcsec; None by id)."""

    row: int
    galaxy_id: str
    separation_arcsec: float | None = None

    def describe(self) -> str:
        if self.separation_arcsec is None:
            return f"{self.galaxy_id} is in focus."
        return f"{self.galaxy_id} is in focus ({self.separation_arcsec:.2f}″ from the position)."


def parse_position(text: str):
    """``"RA Dec [radius]"`` → (SkyCoord, radius Angle); raises :class:`GalexploreError`.

    Two or three words: decimal degrees, or sexagesimal with ``:`` or ``h m s`` / ``d m s``
    (RA in hours); six or seven words: RA h m s and Dec d m s separated by spaces.
    """
    import astropy.units as u
    from astropy.coordinates import Angle, SkyCoord

    words = text.replace(",", " ").split()
    if len(words) in (2, 3):
        ra, dec, rest = words[0], words[1], words[2:]
    elif len(words) in (6, 7):
        ra, dec, rest = " ".join(words[:3]), " ".join(words[3:6]), words[6:]
    else:
        raise GalexploreError(f"{text[:60]!r} is neither a galaxy id nor a position ({HELP})")
    hours = len(words) >= 6 or any(c in ra for c in ":hms")
    try:
        coord = SkyCoord(ra, dec, unit=(u.hourangle if hours else u.deg, u.deg))
    except (ValueError, u.UnitsError):
        raise GalexploreError(f"{text[:60]!r} is neither a galaxy id nor a position ({HELP})") from None
    radius = Angle(DEFAULT_RADIUS_ARCSEC, u.arcsec)
    if rest:
        try:
            radius = Angle(float(rest[0]), u.arcsec)
        except ValueError:
            try:
                radius = Angle(rest[0])
            except (ValueError, u.UnitsError):
                raise GalexploreError(f"not a search radius: {rest[0][:30]!r}") from None
    if not 0 < radius.deg <= MAX_RADIUS_DEG:
        raise GalexploreError(f"the search radius must be above 0 and at most {MAX_RADIUS_DEG:g}°")
    return coord, radius


@per_server_cache(4)
def sky_catalog(data: ExplorerData):
    """The catalog's positions as one SkyCoord (rows with finite ra/dec) and those rows (int64)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    if not {"ra", "dec"} <= set(data.catalog.columns):
        raise GalexploreError("the catalog has no ra/dec columns: find galaxies by id")
    ra = data.catalog["ra"].to_numpy(dtype=float, na_value=np.nan)
    dec = data.catalog["dec"].to_numpy(dtype=float, na_value=np.nan)
    rows = np.flatnonzero(np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90))
    if not rows.size:
        raise GalexploreError("no galaxy of the catalog has a finite ra/dec")
    return SkyCoord(ra[rows] * u.deg, dec[rows] * u.deg), rows


def find_galaxy(data: ExplorerData, text: str) -> Found:
    """The galaxy named by ``text`` (an id, or ``RA Dec [radius]``); raises GalexploreError
    with a clear message when nothing matches."""
    text = str(text).strip()
    if not text:
        raise GalexploreError(f"type {HELP}")
    row = data.position(text)
    if row is not None:
        return Found(row, text)
    coord, radius = parse_position(text)
    catalog, rows = sky_catalog(data)
    idx, sep, _ = coord.match_to_catalog_sky(catalog)
    nearest, arcsec = int(rows[np.ravel(idx)[0]]), float(np.ravel(sep.arcsec)[0])
    if arcsec > radius.arcsec:
        gid = data.galaxy_ids[nearest]
        where = f"RA {coord.ra.deg:.5f}°, Dec {coord.dec.deg:+.5f}°"
        raise GalexploreError(
            f"no galaxy within {radius.arcsec:.3g}″ of {where} (the nearest, {gid}, is {_distance(arcsec)} away)"
        )
    return Found(nearest, str(data.galaxy_ids[nearest]), arcsec)


def _distance(arcsec: float) -> str:
    if arcsec < 60:
        return f"{arcsec:.1f}″"
    return f"{arcsec / 60:.1f}′" if arcsec < 3600 else f"{arcsec / 3600:.2f}°"


def centred_range(data: ExplorerData, row: int, current: str = "") -> str:
    """A map range (``"x0,x1,y0,y1"``) centred on a galaxy: the current zoom's size, or
    :data:`ZOOM_FRACTION` of the projection's extent if the whole map is shown."""
    x, y = (float(v) for v in data.xy[row])
    if current:
        (x0, x1), (y0, y1) = parse_range(current)
        hx, hy = (x1 - x0) / 2, (y1 - y0) / 2
    else:
        lo, hi = data.extent
        hx, hy = (max(float(v), 1e-3) * ZOOM_FRACTION / 2 for v in hi - lo)
    return format_range((x - hx, x + hx), (y - hy, y + hy))


class FindGalaxy(pn.viewable.Viewer):
    """A find box: an id or a position → the galaxy in focus and the map centred on it."""

    def __init__(self, state: ExplorerState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self._input = pn.widgets.TextInput(
            placeholder=HELP, css_classes=["gx-find-input"], sizing_mode="stretch_width"
        )
        self._button = pn.widgets.Button(label="Find", width=70, css_classes=["gx-find-button"])
        self._status = _compat.Markdown("", css_classes=["gx-find-status"], margin=(0, 10))
        self._input.param.watch(lambda _: self.find(), ["value"])  # Enter
        self._button.on_click(lambda _: self.find())

    @reports_errors("find")
    def find(self, text: str | None = None) -> Found | None:
        """Find ``text`` (default: the box's), focus it and centre the map on it."""
        text = self._input.value if text is None else text
        if not str(text).strip():
            self._status.object = ""
            return None
        try:
            found = find_galaxy(self.state.data, text)
        except GalexploreError as exc:
            self._status.object = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
            return None
        self.state.param.update(
            focus=found.galaxy_id, map_range=centred_range(self.state.data, found.row, self.state.map_range)
        )
        self._status.object = found.describe()
        return found

    def __panel__(self):
        return pn.Column(pn.Row(self._input, self._button), self._status, sizing_mode="stretch_width")
