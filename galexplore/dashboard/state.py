"""Per-session dashboard state.

One :class:`ExplorerState` is created for every browser session; every view reads from it
and writes to it, so two sessions never share a selection, a galaxy in focus or clusters.
Values that come from outside (URL parameters, clicks, table rows) are validated against
the catalog before they are stored: a bad value is refused with a one-line
:class:`~galexplore.errors.GalexploreError`, never evaluated.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import param

from galexplore.analysis.clustering import HDBSCAN_MIN_SAMPLES, METHODS, NOISE_NAME, default_min_cluster_size
from galexplore.dashboard._setup import batched, ensure_bokeh
from galexplore.dashboard.data import ExplorerData
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

CLUSTER = "cluster"
#: Colourings the dashboard computes (not catalog columns): anomaly scores (numeric) and user tags
#: (categorical); their values are each session's :attr:`ExplorerState.derived`.
ANOMALY = "anomaly score"
TAGS = "tags"
DERIVED = {ANOMALY: "numeric", TAGS: "categorical"}
#: Preferred default colourings, first present wins.
DEFAULT_COLOR_BY = ("log_ssfr", "ew_ha", "log_mstar")
EMPTY = np.empty(0, dtype=np.int64)


def reports_errors(action: str) -> Callable:
    """Decorate a view's event handler: an exception becomes a notice in the page.

    The view must have a ``state`` (:class:`ExplorerState`). A
    :class:`~galexplore.errors.GalexploreError` is shown as it is; anything else is logged
    with its traceback on the server and shown as one line. Nothing is raised into the
    server, so one session's bad event cannot affect another session or the server.
    """

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except GalexploreError as exc:
                self.state.message = f"{action} failed: {exc}"
            except Exception as exc:
                log.exception("%s failed", action)
                self.state.message = f"{action} failed: {type(exc).__name__}: {exc}"
            return None

        return wrapper

    return decorate


def color_choices(data: ExplorerData) -> list[str]:
    """Columns the map can be coloured by: numeric, categorical, and ``"cluster"`` (in memory)."""
    cols = [c for c in data.numeric_columns if c not in ("ra", "dec")]
    cols += [c for c in data.categorical_columns if c not in cols]
    if getattr(data, "out_of_core", False):
        return cols  # no clusters, anomaly scores or tags out of core
    derived = [ANOMALY] if getattr(data, "embeddings", None) is not None else []
    derived += [TAGS] if getattr(data, "run", None) is not None else []
    return [*cols, CLUSTER, *[c for c in derived if c not in cols]]


def validate_color_by(data: ExplorerData, value: object) -> str:
    """Return ``value`` if the map can be coloured by it, else raise :class:`GalexploreError`."""
    choices = color_choices(data)
    if not isinstance(value, str) or value not in choices:
        raise GalexploreError(f"cannot colour by {value!r}: not a numeric or categorical catalog column")
    return value


def column_kind(data: ExplorerData, column: str) -> str:
    """``"numeric"`` or ``"categorical"`` (``"cluster"`` is categorical)."""
    if column in DERIVED and column not in data.catalog.columns:
        return DERIVED[column]
    if column == CLUSTER or column in data.categorical_columns:
        return "categorical"
    if column in data.numeric_columns:
        return "numeric"
    raise GalexploreError(f"unknown column {column!r}")


class ExplorerState(param.Parameterized):
    """What one browser session is looking at.

    Parameters
    ----------
    data : ExplorerData
        The shared, read-only data; only used to validate values and set choices.
    """

    color_by = param.Selector(
        default=None,
        objects=[],
        check_on_set=True,
        allow_None=True,
        doc="Catalog column (or 'cluster') that colours the map.",
    )
    selection = param.Array(
        default=EMPTY, doc="Selected galaxies: unique catalog rows (int64), sorted unless ranked."
    )
    selection_label = param.String(
        default="", doc="How the selection was made, e.g. 'lasso' or 'similar to X'."
    )
    selection_version = param.Integer(
        default=0,
        doc="Counts the changes of :attr:`selection`: what views that draw the selection key their "
        "memoised renders on (see :meth:`selection_stream`), not the selection itself, which "
        "HoloViews would hash in full (8 MB at 10⁶ selected galaxies) at every call of the overlay.",
    )
    selection_scores = param.Array(
        default=None,
        allow_None=True,
        doc="Score of each selected galaxy (float, e.g. cosine similarity), or None.",
    )
    lasso = param.String(default="", doc="Lasso polygon behind the selection, 'x,y;x,y;…' ('' if none).")
    selection_link = param.String(
        default="", doc="URL 'key=value' that remakes the selection, e.g. 'box=0,0,1,1' ('' → an id list)."
    )
    map_range = param.String(default="", doc="Visible map range 'x0,x1,y0,y1' ('' = the whole projection).")
    focus = param.String(default="", doc="galaxy_id of the galaxy in focus ('' for none).")
    cluster_method = param.Selector(default="kmeans", objects=list(METHODS), doc="Clustering algorithm.")
    n_clusters = param.Integer(default=5, bounds=(2, 30), doc="Number of clusters (k-means, GMM).")
    min_cluster_size = param.Integer(
        default=None,
        allow_None=True,
        bounds=(2, None),
        doc="HDBSCAN's minimum cluster size (None: automatic).",
    )
    min_samples = param.Integer(
        default=HDBSCAN_MIN_SAMPLES, bounds=(1, None), doc="HDBSCAN's neighbourhood size of a core point."
    )
    cluster_labels = param.Array(
        default=None, allow_None=True, doc="Cluster of each galaxy (int, -1 = noise)."
    )
    cluster_key = param.String(default="", doc="Settings that produced cluster_labels, e.g. 'kmeans k=5'.")
    busy = param.Boolean(default=False, doc="True while clusters are being recomputed.")
    derived = param.Dict(
        default={}, doc="Colourings computed by the dashboard: name (ANOMALY, TAGS) → values (N,)."
    )
    message = param.String(default="", doc="Last user-facing notice (errors are shown, never raised).")
    map_drawn = param.Boolean(
        default=False,
        doc="True once the map has been drawn at its size in the browser (a served page builds what "
        "is below the fold after that, so the map's first image is not kept waiting).",
    )

    def __init__(self, data: ExplorerData, **params) -> None:
        ensure_bokeh()
        choices = color_choices(data)
        super().__init__(**params)
        self._data = data
        self.param.color_by.objects = choices
        if self.color_by is None:
            self.color_by = next((c for c in DEFAULT_COLOR_BY if c in choices), choices[0])
        self.param.color_by.allow_None = False
        if self.min_cluster_size is None:
            self.min_cluster_size = default_min_cluster_size(data.n)

    @property
    def data(self) -> ExplorerData:
        return self._data

    # -- selection -------------------------------------------------------------------------
    def select(
        self,
        rows: npt.ArrayLike,
        label: str,
        *,
        lasso: str = "",
        ordered: bool = False,
        scores: npt.ArrayLike | None = None,
        link: str = "",
    ) -> None:
        """Replace the selection by catalog rows ``rows`` (duplicates and out-of-range rows dropped).

        ``ordered=True`` keeps the given order (e.g. most similar first); otherwise rows are
        sorted. ``lasso`` is the polygon that made the selection (see
        :func:`galexplore.dashboard.url_state.format_polygon`), kept so that the URL can restore it.
        ``scores`` (one float per row of ``rows``, e.g. cosine similarities) are kept beside the
        selection in :attr:`selection_scores`. ``link`` is the URL ``key=value`` that remakes the
        selection (:mod:`~galexplore.dashboard.url_state`; a lasso's is ``lasso=…``).
        """
        rows = np.asarray(rows, dtype=np.int64).ravel()
        sc = None if scores is None else np.asarray(scores, dtype=np.float64).ravel()
        if sc is not None and sc.shape != rows.shape:
            raise GalexploreError(f"{sc.size} scores for {rows.size} selected galaxies")
        keep = (rows >= 0) & (rows < self._data.n)
        rows, sc = rows[keep], (None if sc is None else sc[keep])
        _, first = np.unique(rows, return_index=True)
        take = np.sort(first) if ordered else first  # np.unique's first indices are in sorted-row order
        rows, sc = rows[take], (None if sc is None else sc[take])
        with batched():
            self.param.update(
                selection=rows,
                selection_version=self.selection_version + 1,
                selection_label=label if rows.size else "",
                lasso=lasso,
                selection_scores=sc,
                selection_link=(link or (f"lasso={lasso}" if lasso else "")) if rows.size else "",
            )

    def select_ids(self, galaxy_ids: Sequence[str], label: str) -> None:
        """Select galaxies by id; unknown ids are ignored."""
        pos = self._data.index.get_indexer([str(g) for g in galaxy_ids])
        self.select(pos[pos >= 0], label)

    def clear_selection(self) -> None:
        with batched():
            self.param.update(
                selection=EMPTY,
                selection_version=self.selection_version + 1,
                selection_label="",
                lasso="",
                selection_scores=None,
                selection_link="",
            )

    def selection_stream(self):
        """A HoloViews stream that fires when the selection changes, with one value, ``version``
        (:attr:`selection_version`); a callback reads :attr:`selection` itself."""
        import holoviews as hv

        return hv.streams.Params(self, ["selection_version"], rename={"selection_version": "version"})

    @property
    def n_selected(self) -> int:
        return int(len(self.selection))

    # -- focus -----------------------------------------------------------------------------
    def set_focus(self, galaxy_id: str) -> None:
        """Put a galaxy in focus; raises :class:`GalexploreError` for an unknown id."""
        galaxy_id = str(galaxy_id)
        if galaxy_id and self._data.position(galaxy_id) is None:
            raise GalexploreError(f"unknown galaxy_id {galaxy_id!r}")
        self.focus = galaxy_id

    @property
    def focus_row(self) -> int | None:
        return self._data.position(self.focus) if self.focus else None

    # -- clusters --------------------------------------------------------------------------
    def set_clusters(self, labels: npt.ArrayLike, key: str) -> None:
        labels = np.asarray(labels)
        if labels.shape != (self._data.n,):
            raise GalexploreError(f"cluster labels have shape {labels.shape}, expected ({self._data.n},)")
        with batched():
            self.param.update(cluster_labels=labels.astype(np.int64), cluster_key=key)

    def cluster_names(self) -> np.ndarray | None:
        """Cluster label of each galaxy as a string (``NOISE_NAME`` for -1), or None."""
        if self.cluster_labels is None:
            return None
        names = self.cluster_labels.astype(str).astype(object)
        names[self.cluster_labels < 0] = NOISE_NAME
        return names

    # -- colourings computed by the dashboard ----------------------------------------------
    def set_derived(self, name: str, values: npt.ArrayLike) -> None:
        """Set the values (N,) of a computed colouring (:data:`DERIVED`): float or str per galaxy."""
        values = np.asarray(values)
        if values.shape != (self._data.n,):
            raise GalexploreError(f"{name} has shape {values.shape}, expected ({self._data.n},)")
        self.derived = {**self.derived, name: values}

    def derived_values(self, name: str) -> np.ndarray:
        """The values (N,) of a computed colouring; NaN (numeric) or "none" until computed."""
        if name in self.derived:
            return self.derived[name]
        if DERIVED.get(name) == "numeric":
            return np.full(self._data.n, np.nan, np.float32)
        return np.full(self._data.n, "none", dtype=object)
