"""The page URL holds the view: colour-by, cluster settings, galaxy in focus and the lasso.

``?color=sf_class&method=gmm&k=4&galaxy=SYN000123&lasso=x,y;x,y;…`` reopens the same view.
Every value read from a URL is validated against the catalog and the allowed settings
before it is used (nothing is evaluated); invalid ones are ignored with a notice and
replaced in the URL by the current value. After that, :meth:`panel.io.location.Location.sync`
keeps the URL up to date as the user changes the view.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from galexplore.analysis.clustering import METHODS
from galexplore.dashboard.compute.selection import lasso_select
from galexplore.dashboard.state import ExplorerState, validate_color_by
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: State parameter → URL query parameter.
URL_PARAMS = {
    "color_by": "color",
    "cluster_method": "method",
    "n_clusters": "k",
    "focus": "galaxy",
    "lasso": "lasso",
}
MAX_VERTICES = 400
DIGITS = 4


def format_polygon(polygon: npt.ArrayLike, max_vertices: int = MAX_VERTICES) -> str:
    """A polygon as ``"x,y;x,y;…"`` rounded to 4 decimals (thinned to at most ``max_vertices``)."""
    poly = np.asarray(polygon, dtype=float)
    if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
        return ""
    if len(poly) > max_vertices:
        poly = poly[np.linspace(0, len(poly) - 1, max_vertices).round().astype(int)]
    return ";".join(f"{x:.{DIGITS}f},{y:.{DIGITS}f}" for x, y in poly)


def parse_polygon(text: object) -> np.ndarray:
    """Parse :func:`format_polygon`'s text; raises :class:`GalexploreError` if it is not one."""
    if not isinstance(text, str) or not text:
        raise GalexploreError(f"not a lasso polygon: {text!r}")
    try:
        pts = [tuple(float(v) for v in pair.split(",")) for pair in text.split(";")]
    except ValueError:
        raise GalexploreError(f"not a lasso polygon: {text[:40]!r}") from None
    if not 3 <= len(pts) <= MAX_VERTICES or any(len(p) != 2 for p in pts):
        raise GalexploreError(f"a lasso polygon needs 3–{MAX_VERTICES} x,y vertices")
    poly = np.asarray(pts, dtype=float)
    if not np.isfinite(poly).all():
        raise GalexploreError("lasso polygon has non-finite vertices")
    return poly


def parse_query(state: ExplorerState, query: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate URL query values against the data.

    Returns
    -------
    values : dict
        State parameter → validated value, for the URL parameters that were valid.
    rejected : dict
        URL parameter → one-line reason, for those that were not.
    """
    values: dict[str, Any] = {}
    rejected: dict[str, str] = {}
    checks = {
        "color": ("color_by", lambda v: validate_color_by(state.data, str(v))),
        "method": ("cluster_method", _method),
        "k": ("n_clusters", lambda v: _k(state, v)),
        "galaxy": ("focus", lambda v: _galaxy(state, v)),
        "lasso": ("lasso", lambda v: format_polygon(parse_polygon(v))),
    }
    for key, (name, check) in checks.items():
        if key not in query or query[key] in ("", None):
            continue
        try:
            values[name] = check(query[key])
        except GalexploreError as exc:
            rejected[key] = str(exc)
    return values, rejected


def _method(value: object) -> str:
    if str(value) not in METHODS:
        raise GalexploreError(f"unknown clustering method {value!r}")
    return str(value)


def _k(state: ExplorerState, value: object) -> int:
    lo, hi = state.param.n_clusters.bounds
    try:
        k = int(str(value))
    except ValueError:
        raise GalexploreError(f"k must be an integer, got {value!r}") from None
    if not lo <= k <= hi:
        raise GalexploreError(f"k must be in {lo}–{hi}, got {k}")
    return k


def _galaxy(state: ExplorerState, value: object) -> str:
    gid = str(value)
    if state.data.position(gid) is None:
        raise GalexploreError(f"unknown galaxy_id {gid!r}")
    return gid


def apply_query(state: ExplorerState, values: Mapping[str, Any]) -> None:
    """Put validated URL values into the state (the lasso becomes the selection)."""
    state.param.update(
        **{k: v for k, v in values.items() if k in ("color_by", "cluster_method", "n_clusters", "focus")}
    )
    if values.get("lasso"):
        poly = parse_polygon(values["lasso"])
        state.select(lasso_select(state.data.xy, poly), "lasso", lasso=values["lasso"])


def sync_url(state: ExplorerState, location=None) -> dict[str, str]:
    """Restore the state from the page URL, then keep the URL in sync with it.

    Returns the rejected URL parameters (name → reason). Does nothing without a location
    (e.g. in a notebook).
    """
    import panel as pn

    location = location if location is not None else pn.state.location
    if location is None:
        return {}
    values, rejected = parse_query(state, location.query_params)
    apply_query(state, values)
    if rejected:
        log.info("ignored URL parameters %s", rejected)
        state.message = "Ignored URL parameters: " + "; ".join(f"{k} ({v})" for k, v in rejected.items())
        # replace the rejected values so that sync() does not try to apply them
        location.update_query(
            **{k: _serialise(state, name) for name, k in URL_PARAMS.items() if k in rejected}
        )
    location.sync(state, URL_PARAMS, on_error=lambda bad: log.info("URL values not applied: %s", bad))
    return rejected


def view_query(state: ExplorerState) -> dict[str, str]:
    """The URL query parameters that reopen the current view (empty values left out)."""
    query = {}
    for name, key in URL_PARAMS.items():
        value = _serialise(state, name)
        if value:
            query[key] = value
    return query


def share_link(state: ExplorerState, location=None) -> str:
    """The full URL of the current view (page address plus :func:`view_query`)."""
    from urllib.parse import urlencode

    import panel as pn

    location = location if location is not None else pn.state.location
    base = ""
    if location is not None and location.href:
        base = location.href.split("?")[0].split("#")[0]
    return f"{base}?{urlencode(view_query(state))}"


def _serialise(state: ExplorerState, name: str) -> str:
    value = getattr(state, name)
    return "" if value is None else str(value)
