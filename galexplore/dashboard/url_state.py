"""The page URL holds the view: colour-by, zoom, clusters, galaxy in focus and the selection.

``?color=sf_class&zoom=x0,x1,y0,y1&method=gmm&k=4&galaxy=SYN000123&box=x0,y0,x1,y1`` reopens
the same view. The selection is one of

==========  ==========================================  ===================================
key         value                                       the selection
==========  ==========================================  ===================================
lasso       ``x,y;x,y;…`` (map coordinates)             a lasso on the map
box         ``x0,y0,x1,y1`` (map coordinates)           a box on the map
msbox       ``x0,y0,x1,y1`` (log M*, log SFR)           a box on the main sequence
mslasso     ``x,y;x,y;…`` (log M*, log SFR)             a lasso on the main sequence
range       ``column,lo,hi``                            a range on a property histogram
cluster     ``3`` or ``noise``                          a cluster (of the URL's clustering)
similar     ``k,galaxy_id``                             the k galaxies most similar to one
ids         rows, :mod:`~galexplore.dashboard.compute.row_codes`   any other selection
==========  ==========================================  ===================================

Every value read from a URL is validated against the catalog and the allowed settings
before it is used (nothing is evaluated); invalid ones are ignored with a notice. The URL's
clustering wins over a clustering saved with the run. After that, :func:`sync_url` keeps
the URL up to date as the user changes the view.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt

from galexplore.analysis.clustering import METHODS, NOISE, NOISE_NAME
from galexplore.dashboard.compute.row_codes import MAX_CHARS, decode_rows, encode_rows
from galexplore.dashboard.compute.selection import box_select, lasso_select
from galexplore.dashboard.state import ExplorerState, validate_color_by
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

#: State parameter → URL query parameter, for the values that are one state parameter each.
URL_PARAMS = {
    "color_by": "color",
    "cluster_method": "method",
    "n_clusters": "k",
    "focus": "galaxy",
    "map_range": "zoom",
    "lasso": "lasso",
}
#: HDBSCAN's settings → URL query parameter, used when the state has them.
HDBSCAN_PARAMS = {"min_cluster_size": "mcs", "min_samples": "msamples"}
#: The URL keys of a selection, the first valid one wins.
SELECTION_KEYS = ("lasso", "box", "msbox", "mslasso", "range", "cluster", "similar", "ids")
#: How the page names a selection remade from each key.
SELECTION_LABELS = {
    "lasso": "lasso",
    "box": "box",
    "msbox": "main sequence box",
    "mslasso": "main sequence lasso",
}
#: Every URL key this module reads and writes.
URL_KEYS = tuple(dict.fromkeys([*URL_PARAMS.values(), *HDBSCAN_PARAMS.values(), *SELECTION_KEYS]))
MAX_VERTICES = 400
#: Characters left as they are in the URL (numbers and polygons stay readable).
SAFE = ",;:"
MAX_SIMILAR = 1000
DIGITS = 4
#: Largest selection written as an id list (more rows are not linked: the URL would be too long).
MAX_ID_ROWS = 200_000


# -- numbers and polygons ---------------------------------------------------------------------------
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


def format_numbers(values) -> str:
    """Numbers as ``"a,b,…"`` with 6 significant digits (a box, a zoom range)."""
    return ",".join(f"{float(v):.6g}" for v in values)


def parse_numbers(text: object, n: int, what: str) -> np.ndarray:
    """``n`` finite comma-separated numbers, float64; raises :class:`GalexploreError` otherwise."""
    parts = text.split(",") if isinstance(text, str) else []
    try:
        values = np.array([float(p) for p in parts], dtype=float)
    except ValueError:
        raise GalexploreError(f"not a {what}: {str(text)[:40]!r}") from None
    if len(values) != n or not np.isfinite(values).all():
        raise GalexploreError(f"a {what} needs {n} finite numbers")
    return values


def format_range(x_range, y_range) -> str:
    """A map view as ``"x0,x1,y0,y1"``."""
    return format_numbers([*x_range, *y_range])


def parse_range(text: object) -> tuple[tuple[float, float], tuple[float, float]]:
    """``"x0,x1,y0,y1"`` → ((x0, x1), (y0, y1)) with x0 < x1 and y0 < y1."""
    x0, x1, y0, y1 = parse_numbers(text, 4, "zoom range x0,x1,y0,y1")
    if not (x0 < x1 and y0 < y1):
        raise GalexploreError("a zoom range needs x0 < x1 and y0 < y1")
    return (float(x0), float(x1)), (float(y0), float(y1))


# -- selections ----------------------------------------------------------------------------------
def parse_selection(state: ExplorerState, key: str, value: object) -> str:
    """The validated, normalised URL value of one selection key (raises GalexploreError)."""
    data = state.data
    if key in ("lasso", "mslasso"):
        return format_polygon(parse_polygon(value))
    if key in ("box", "msbox"):
        return format_numbers(parse_numbers(value, 4, "box x0,y0,x1,y1"))
    if key == "range":
        column, _, rest = str(value).partition(",")
        if column not in data.numeric_columns:
            raise GalexploreError(f"not a numeric catalog column: {column[:40]!r}")
        lo, hi = parse_numbers(rest, 2, "range column,lo,hi")
        return f"{column},{format_numbers(sorted((lo, hi)))}"
    if key == "cluster":
        text = str(value)
        if text == NOISE_NAME:
            return text
        if not text.isdigit() or int(text) > 10_000:
            raise GalexploreError(f"not a cluster number: {text[:40]!r}")
        return str(int(text))
    if key == "similar":
        k, _, gid = str(value).partition(",")
        if not k.isdigit() or not 1 <= int(k) <= MAX_SIMILAR:
            raise GalexploreError(f"similar=k,galaxy_id needs 1 ≤ k ≤ {MAX_SIMILAR}")
        return f"{int(k)},{_galaxy(state, gid)}"
    if key == "ids":
        decode_rows(value, data.n)
        return str(value)
    raise GalexploreError(f"unknown selection {key!r}")


def selection_rows(state: ExplorerState, key: str, value: str) -> tuple[np.ndarray, str, bool]:
    """The catalog rows of a validated selection value, its label and whether it is ranked
    (similar galaxies: see :func:`select_link`, which also keeps their similarity).

    Galaxies with NaN on the axes of a main-sequence box, lasso or histogram range are never
    selected.
    """
    data = state.data
    if key in ("lasso", "box"):
        rows = (
            lasso_select(data.xy, parse_polygon(value))
            if key == "lasso"
            else box_select(data.xy, _box(value))
        )
        return rows, SELECTION_LABELS[key], False
    if key in ("msbox", "mslasso"):
        x, y, ok = data.mass_sfr
        xy = np.column_stack([x, y])
        rows = box_select(xy, _box(value)) if key == "msbox" else lasso_select(xy, parse_polygon(value))
        return rows[ok[rows]], SELECTION_LABELS[key], False
    if key == "range":
        column, lo, hi = value.split(",")
        v = data.catalog[column].to_numpy(dtype=float, na_value=np.nan)
        rows = np.flatnonzero((v >= float(lo)) & (v <= float(hi)))
        return rows, f"{column} {float(lo):.3g} to {float(hi):.3g}", False
    if key == "cluster":
        if state.cluster_labels is None:
            raise GalexploreError("no clusters yet")
        label = NOISE if value == NOISE_NAME else int(value)
        rows = np.flatnonzero(state.cluster_labels == label)
        if not rows.size:
            raise GalexploreError(f"{state.cluster_key} has no cluster {value}")
        return rows, f"cluster {value} of {state.cluster_key}", False
    if key == "similar":
        from galexplore.dashboard.compute.similar import find_similar

        k, gid = value.split(",", 1)
        rows = find_similar(data, gid, int(k))
        return rows, f"{len(rows)} most similar to {gid}", True
    rows = decode_rows(value, data.n)
    return rows, "from a link", bool(len(rows) > 1 and (np.diff(rows) < 0).any())


def select_link(state: ExplorerState, key: str, value: str) -> None:
    """Select the galaxies of a validated selection value (``key=value`` goes into the URL)."""
    scores = None
    if key == "similar":
        from galexplore.dashboard.compute.similar import find_similar_scored

        k, gid = value.split(",", 1)
        rows, scores = find_similar_scored(state.data, gid, int(k))
        label, ordered = f"{len(rows)} most similar to {gid}", True
    else:
        rows, label, ordered = selection_rows(state, key, value)
    lasso = value if key == "lasso" else ""
    state.select(rows, label, ordered=ordered, link=f"{key}={value}", lasso=lasso, scores=scores)


def _box(value: str) -> tuple[float, ...]:
    return tuple(parse_numbers(value, 4, "box x0,y0,x1,y1"))


# -- the query ---------------------------------------------------------------------------------------
def parse_query(state: ExplorerState, query: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate URL query values against the data.

    Returns
    -------
    values : dict
        State parameter → validated value, for the URL parameters that were valid; the
        selection as ``selection_link`` (``"key=value"``).
    rejected : dict
        URL parameter → one-line reason, for those that were not.
    """
    values: dict[str, Any] = {}
    rejected: dict[str, str] = {}
    checks = {
        "color": ("color_by", lambda v: validate_color_by(state.data, str(v))),
        "method": ("cluster_method", _method),
        "k": ("n_clusters", lambda v: _integer(state, "n_clusters", "k", v)),
        "galaxy": ("focus", lambda v: _galaxy(state, v)),
        "zoom": ("map_range", lambda v: format_range(*parse_range(v))),
    }
    for name, key in HDBSCAN_PARAMS.items():
        if name in state.param:
            checks[key] = (name, lambda v, name=name, key=key: _integer(state, name, key, v))
    for key, (name, check) in checks.items():
        if key not in query or query[key] in ("", None):
            continue
        try:
            values[name] = check(query[key])
        except GalexploreError as exc:
            rejected[key] = str(exc)
    for key in SELECTION_KEYS:
        if key not in query or query[key] in ("", None):
            continue
        if "selection_link" in values:
            rejected[key] = "only one selection is restored"
            continue
        try:
            values["selection_link"] = f"{key}={parse_selection(state, key, query[key])}"
        except GalexploreError as exc:
            rejected[key] = str(exc)
    return values, rejected


def _method(value: object) -> str:
    if str(value) not in METHODS:
        raise GalexploreError(f"unknown clustering method {value!r}")
    return str(value)


def _integer(state: ExplorerState, name: str, key: str, value: object) -> int:
    lo, hi = state.param[name].bounds or (None, None)
    try:
        k = int(str(value))
    except ValueError:
        raise GalexploreError(f"{key} must be an integer, got {str(value)[:40]!r}") from None
    if (lo is not None and k < lo) or (hi is not None and k > hi):
        raise GalexploreError(f"{key} must be in {lo}–{hi}, got {k}")
    return k


def _galaxy(state: ExplorerState, value: object) -> str:
    gid = str(value)
    if state.data.position(gid) is None:
        raise GalexploreError(f"unknown galaxy_id {gid[:40]!r}")
    return gid


def clusters_current(state: ExplorerState) -> bool:
    """Whether the state's cluster labels were made with its method, k (and HDBSCAN settings)."""
    from galexplore.dashboard.views.clusters import cluster_key

    if state.cluster_labels is None:
        return False
    extra = {name: getattr(state, name) for name in HDBSCAN_PARAMS if name in state.param}
    wanted = cluster_key(state.cluster_method, state.n_clusters, **extra)
    return state.cluster_key.removesuffix(" (saved)") == wanted


def apply_query(state: ExplorerState, values: Mapping[str, Any]) -> None:
    """Put validated URL values into the state.

    The URL's clustering wins over the one the state has (e.g. saved with the run): labels of
    other settings are dropped, for the page to recompute. A cluster selection waits for the
    labels of the URL's clustering.
    """
    simple = {k: v for k, v in values.items() if k in state.param and k not in ("lasso", "selection_link")}
    state.param.update(**simple)
    clustering = {"cluster_method", "n_clusters", *HDBSCAN_PARAMS} & set(values)
    if clustering and state.cluster_labels is not None and not clusters_current(state):
        state.param.update(cluster_labels=None, cluster_key="")
    link = values.get("selection_link") or (f"lasso={values['lasso']}" if values.get("lasso") else "")
    if not link:
        return
    key, value = link.split("=", 1)
    if key == "cluster" and not clusters_current(state):
        _select_when_clustered(state, key, value)
        return
    try:
        select_link(state, key, value)
    except GalexploreError as exc:
        state.message = f"The link's selection was not restored: {exc}"


def _select_when_clustered(state: ExplorerState, key: str, value: str) -> None:
    """Select a cluster once the labels of the current settings arrive (once)."""

    def apply(_event) -> None:
        if not clusters_current(state):
            return
        state.param.unwatch(watcher)
        try:
            select_link(state, key, value)
        except GalexploreError as exc:
            state.message = f"The link's selection was not restored: {exc}"

    watcher = state.param.watch(apply, ["cluster_labels"])


def watched(state: ExplorerState) -> list[str]:
    """The state parameters the URL follows."""
    names = [*URL_PARAMS, "selection", "selection_link"]
    return names + [n for n in HDBSCAN_PARAMS if n in state.param]


def sync_url(state: ExplorerState, location=None) -> dict[str, str]:
    """Restore the state from the page URL, then keep the URL in sync with it.

    Returns the rejected URL parameters (name → reason). Does nothing without a location
    (e.g. in a notebook). Query parameters this module does not own are kept.
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

    def push(*_events) -> None:
        query = {k: v for k, v in location.query_params.items() if k not in URL_KEYS}
        query.update(view_query(state))
        search = f"?{urlencode(query, safe=SAFE)}" if query else ""
        if search != location.search:
            location.search = search

    state.param.watch(push, watched(state))
    push()
    return rejected


def view_query(state: ExplorerState) -> dict[str, str]:
    """The URL query parameters that reopen the current view (empty values left out)."""
    query = {}
    names = [n for n in URL_PARAMS if n != "lasso"]
    if state.cluster_method == "hdbscan":
        names += [n for n in HDBSCAN_PARAMS if n in state.param]
    for name in names:
        value = getattr(state, name)
        key = URL_PARAMS.get(name) or HDBSCAN_PARAMS[name]
        if value is not None and str(value):
            query[key] = str(value)
    if state.selection_link:
        key, value = state.selection_link.split("=", 1)
        query[key] = value
    elif 0 < state.n_selected <= MAX_ID_ROWS:
        text = encode_rows(state.selection)
        if len(text) <= MAX_CHARS:
            query["ids"] = text
    return query


def link_note(state: ExplorerState) -> str:
    """'' or why the link does not hold the selection (too many scattered galaxies)."""
    if state.n_selected and "ids" not in view_query(state) and not state.selection_link:
        return f"The {state.n_selected:,} selected galaxies are too many to put in a link."
    return ""


def share_link(state: ExplorerState, location=None) -> str:
    """The full URL of the current view (page address plus :func:`view_query`)."""
    import panel as pn

    location = location if location is not None else pn.state.location
    base = ""
    if location is not None and location.href:
        base = location.href.split("?")[0].split("#")[0]
    return f"{base}?{urlencode(view_query(state), safe=SAFE)}"
