"""Serve the explorer with Panel's Bokeh/Tornado server (used by ``galexplore serve`` and ``demo``)."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from galexplore.dashboard._compat import no_mathjax, quiet_closed_sockets
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

APP_PATH = "explorer"
FAVICON = Path(__file__).with_name("favicon.ico")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_port(address: str, port: int) -> None:
    """Raise :class:`GalexploreError` if ``address:port`` cannot be bound."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError as exc:
            raise GalexploreError(
                f"cannot listen on {address}:{port} ({exc.strerror}); choose another --port"
            ) from exc


def is_loopback(address: str) -> bool:
    """True for addresses only this machine can reach (127.x, ::1, localhost)."""
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(address: str, allow_origins: list[str] | None, basic_auth: str | None) -> list[str]:
    """Refuse to expose the dashboard without explicit flags; return warnings to show.

    Binding anything but the loopback interface needs at least one
    ``--allow-websocket-origin HOST:PORT`` (the address browsers will use); without
    ``--basic-auth`` the returned warning says that anyone who can reach it can use it.

    Raises
    ------
    GalexploreError
        For a network-visible address without an allowed origin, or a bad ``basic_auth``.
    """
    warnings = []
    if basic_auth is not None:
        validate_basic_auth(basic_auth)
    if is_loopback(address):
        return warnings
    if not allow_origins:
        raise GalexploreError(
            f"--address {address} exposes the dashboard to the network: also give --allow-websocket-origin "
            "HOST:PORT (the address browsers will use) and protect it with --basic-auth; "
            "or keep the default 127.0.0.1 and use an SSH tunnel"
        )
    if basic_auth is None:
        warnings.append(
            f"the dashboard listens on {address} without a password: anyone who can reach it can "
            "browse the survey and download exports (add --basic-auth FILE)"
        )
    return warnings


def validate_basic_auth(value: str) -> None:
    """A ``--basic-auth`` value is a JSON file of ``{"user": "password"}`` or a password (≥ 8 characters)."""
    import json
    from pathlib import Path

    path = Path(value)
    if path.suffix == ".json" or path.is_file():
        try:
            users = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise GalexploreError(f"{path}: cannot read the basic-auth file ({exc.strerror})") from exc
        except ValueError as exc:
            raise GalexploreError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
        if (
            not isinstance(users, dict)
            or not users
            or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in users.items())
        ):
            raise GalexploreError(f'{path}: expected a JSON object {{"user": "password", ...}}')
        return
    if len(value) < 8:
        raise GalexploreError(
            "--basic-auth: a password needs at least 8 characters (or give a JSON file of users)"
        )


def websocket_origins(address: str, port: int, extra: list[str] | None = None) -> list[str]:
    """Origins allowed to open the session websocket (the bound address, plus localhost)."""
    hosts = {address}
    if address in LOOPBACK or address in ("0.0.0.0", "::"):
        hosts |= {"127.0.0.1", "localhost"}
    if address in ("0.0.0.0", "::"):
        hosts |= {socket.gethostname()}
    return sorted({f"{h}:{port}" for h in hosts} | set(extra or []))


#: zlib level of the websocket compression (and gzip for HTTP) unless ``--compression-level`` says
#: otherwise. A map raster of 10⁶ galaxies (432 × 432 float32, colour-binned) compresses to 115 kB
#: in 3.5 ms at level 1 and to 102 kB in 12 ms at level 6 (zlib's default); level 9 costs 54 ms
#: for 1 % more (bench/remote.py, docs/performance.md "Remote users").
COMPRESSION_LEVEL = 6

#: Seconds after start-up when the kernels a new page does not need (colouring by class) are
#: compiled; a page requested meanwhile is not held up by them.
REST_WARM_UP_DELAY_S = 20.0


def _warm_up(
    survey: str | os.PathLike,
    run: str | os.PathLike,
    part: str,
    out_of_core: bool = False,
    freeze: bool = False,
) -> None:
    """Run the map's and the main sequence's Datashader pipelines once, so their kernels are
    compiled before a browser asks (pure HoloViews: no Bokeh document is touched); after the
    first part, start computing the default clusters in a thread of their own (k-means of an
    embedding of 10⁶ × 1,024 takes minutes, during which this loop would answer no page).

    ``freeze``: then move every object alive (the data, the server-wide caches, the compiled
    pipelines: long-lived by design) to the garbage collector's permanent generation
    (:func:`gc.freeze`), so that its full collections, which the pages' own allocations trigger
    now and then, no longer walk them: with 10⁶ galaxies a full collection took 170–250 ms,
    landing in the middle of a lasso or a page load, and takes 40–80 ms after the freeze.
    Frozen objects that later become garbage are freed by reference counting only (never as
    part of a cycle), so freeze before any page exists."""
    from galexplore.dashboard.app import load_data, warm_up, warm_up_clusters

    t0 = time.perf_counter()
    try:
        if out_of_core:
            from galexplore.dashboard.ooc.app import load_ooc_data, warm_up_ooc

            if part == "first":
                warm_up_ooc(load_ooc_data(survey, run))
        else:
            data = load_data(survey, run)
            warm_up(data, part, clusters=False)
            if part == "first":
                clusters = warm_up_clusters(data, wait=False)
                if clusters is not None:
                    clusters.add_done_callback(_log_failure)
    except Exception:  # warm-up is an optimisation only
        log.info("warm-up (%s) failed", part, exc_info=True)
    else:
        log.info("warm-up (%s) done in %.1f s", part, time.perf_counter() - t0)
    if freeze:
        import gc

        gc.collect()
        gc.freeze()


def _log_failure(future) -> None:
    if future.exception() is not None:  # a page computes its clusters itself
        log.debug("cluster warm-up failed", exc_info=future.exception())


def compression_settings(level: int) -> dict:
    """Tornado/Bokeh settings that compress what the page receives (``level`` 0: nothing).

    The session websocket gets permessage-deflate at zlib ``level`` (Bokeh's
    ``websocket_compression_level``; every browser negotiates it), and HTTP responses (the page,
    Bokeh's and Panel's JavaScript and CSS) gzip (Tornado's ``compress_response``). Rasters of a
    sparse map and JavaScript shrink 3–50×, which is what a remote user on a slow link waits for.
    """
    if not 0 <= level <= 9:
        raise GalexploreError(f"compression level must be 0 (off) to 9, got {level}")
    if level == 0:
        return {}
    return {"websocket_compression_level": level, "compress_response": True}


def make_server(
    survey: str | os.PathLike,
    run: str | os.PathLike,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    allow_origins: list[str] | None = None,
    basic_auth: str | None = None,
    num_procs: int = 1,
    out_of_core: bool = False,
    compression_level: int = COMPRESSION_LEVEL,
):
    """The Bokeh/Tornado server of the explorer, bound but not started (see :func:`serve`).

    With ``num_procs`` ≠ 1 the process forks here (Tornado): the data loaded before is shared
    copy-on-write, and this function returns in every child.

    Raises :class:`GalexploreError` for an unsafe exposure, a bad survey/run or a busy port.
    """
    import panel as pn

    from galexplore.dashboard.app import create_app, load_data

    compression = compression_settings(compression_level)
    quiet_closed_sockets()
    no_mathjax()
    for warning in check_exposure(address, allow_origins, basic_auth):
        log.warning(warning)
    if out_of_core:  # builds the map table on first use (partition by partition)
        from galexplore.dashboard.ooc.app import load_ooc_data

        load_ooc_data(survey, run)
    else:
        load_data(survey, run)  # fail here, with one line, on a bad survey or run (and share it with forks)
    check_port(address, port)
    auth = {}
    if basic_auth is not None:
        import secrets

        # signs the login cookie; a new one per server start (users log in again after a restart)
        auth = {
            "basic_auth": basic_auth,
            "cookie_secret": os.environ.get("PANEL_COOKIE_SECRET") or secrets.token_urlsafe(32),
        }
    return pn.serve(
        {APP_PATH: lambda: create_app(survey, run, out_of_core=out_of_core)},
        port=port,
        address=address,
        show=False,
        start=False,
        title="galexplore",
        websocket_origin=websocket_origins(address, port, allow_origins),
        verbose=False,
        num_procs=num_procs,
        ico_path=str(FAVICON),  # 1.8 kB (Bokeh's is 15.5 kB; browsers ask again after each link update)
        **compression,
        **auth,
    )


def serve(
    survey: str | os.PathLike,
    run: str | os.PathLike,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    allow_origins: list[str] | None = None,
    basic_auth: str | None = None,
    on_ready: Callable[[str], None] | None = None,
    warm_up: bool = True,
    num_procs: int = 1,
    out_of_core: bool | None = False,
    compression_level: int = COMPRESSION_LEVEL,
) -> None:
    """Serve the explorer until interrupted.

    Parameters
    ----------
    survey, run : path-like
        The survey directory and the run directory (with ``projection.parquet``).
    port, address : int, str
        Where to listen; the default binds only the loopback interface.
    show : bool
        Open the page in a web browser.
    allow_origins : list of str, optional
        Extra ``host:port`` origins allowed to connect; required (see :func:`check_exposure`)
        when ``address`` is not a loopback address.
    basic_auth : str, optional
        Panel's basic authentication: a JSON file of ``{"user": "password"}`` or one
        password for any user name. A login page guards the dashboard.
    on_ready : callable, optional
        Called with the page URL once the server listens.
    warm_up : bool
        Render one session in the background at start so the first page opens faster.
    num_procs : int
        Server processes sharing the port (0: one per core). A browser session lives in one
        of them, so sessions in different processes are served in parallel.
    out_of_core : bool or None
        Serve the out-of-core explorer (:mod:`galexplore.dashboard.ooc.app`): the catalog
        and projection stay on disk and are aggregated with Dask. None: out of core for a
        partitioned projection of more than ``AUTO_ROWS`` galaxies.
    compression_level : int
        zlib level (1–9) of the websocket's permessage-deflate, with gzip for HTTP responses;
        0 sends everything uncompressed (see :func:`compression_settings`).
    """
    from galexplore.dashboard.ooc.app import wants_out_of_core

    out_of_core = wants_out_of_core(run, out_of_core)
    server = make_server(
        survey,
        run,
        port=port,
        address=address,
        allow_origins=allow_origins,
        basic_auth=basic_auth,
        num_procs=num_procs,
        out_of_core=out_of_core,
        compression_level=compression_level,
    )
    from tornado.process import task_id

    first = task_id() in (None, 0)  # the only process, or the first child
    host = f"[{address}]" if ":" in address else address
    url = f"http://{'127.0.0.1' if address in ('0.0.0.0', '::') else host}:{port}/{APP_PATH}"
    if on_ready is not None and first:
        server.io_loop.add_callback(on_ready, url)
    if warm_up:
        # on the server's own thread (HoloViews is not thread-safe); a page requested meanwhile waits
        # what a new page shows first (its clusters in a thread of their own); the rest later, when
        # the first page has been served
        # only the first part freezes: it runs before any page, while the second could also pin
        # the documents of pages opened meanwhile (their reference cycles never collected)
        server.io_loop.add_callback(_warm_up, survey, run, "first", out_of_core, True)
        server.io_loop.call_later(REST_WARM_UP_DELAY_S, _warm_up, survey, run, "rest", out_of_core)
    if show and first:
        server.io_loop.add_callback(server.show, f"/{APP_PATH}")
    try:
        server.io_loop.start()
    finally:
        server.stop()
