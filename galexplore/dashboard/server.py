"""Serve the explorer with Panel's Bokeh/Tornado server (used by ``galexplore serve`` and ``demo``)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)

APP_PATH = "explorer"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_port(address: str, port: int) -> None:
    """Raise :class:`GalexploreError` if ``address:port`` cannot be bound."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError as exc:
            raise GalexploreError(f"cannot listen on {address}:{port} ({exc.strerror}); choose another --port") from exc


def websocket_origins(address: str, port: int, extra: list[str] | None = None) -> list[str]:
    """Origins allowed to open the session websocket (the bound address, plus localhost)."""
    hosts = {address}
    if address in LOOPBACK or address in ("0.0.0.0", "::"):
        hosts |= {"127.0.0.1", "localhost"}
    if address in ("0.0.0.0", "::"):
        hosts |= {socket.gethostname()}
    return sorted({f"{h}:{port}" for h in hosts} | set(extra or []))


def _warm_up(survey: str | os.PathLike, run: str | os.PathLike) -> None:
    """Run the map's and the main sequence's Datashader pipelines once, so their kernels are
    compiled before a browser asks (pure HoloViews: no Bokeh document is touched)."""
    from galexplore.dashboard.app import load_data, warm_up

    try:
        warm_up(load_data(survey, run))
    except Exception:  # warm-up is an optimisation only
        log.debug("warm-up failed", exc_info=True)


def serve(
    survey: str | os.PathLike,
    run: str | os.PathLike,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    allow_origins: list[str] | None = None,
    on_ready: Callable[[str], None] | None = None,
    warm_up: bool = True,
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
        Extra ``host:port`` origins allowed to connect (e.g. behind a proxy).
    on_ready : callable, optional
        Called with the page URL once the server listens.
    warm_up : bool
        Render one session in the background at start so the first page opens faster.
    """
    import panel as pn

    from galexplore.dashboard.app import create_app, load_data

    load_data(survey, run)  # fail here, with one line, on a bad survey or run
    check_port(address, port)
    host = f"[{address}]" if ":" in address else address
    url = f"http://{'127.0.0.1' if address in ('0.0.0.0', '::') else host}:{port}/{APP_PATH}"
    server = pn.serve(
        {APP_PATH: lambda: create_app(survey, run)},
        port=port,
        address=address,
        show=False,
        start=False,
        title="galexplore",
        websocket_origin=websocket_origins(address, port, allow_origins),
        verbose=False,
    )
    if on_ready is not None:
        server.io_loop.add_callback(on_ready, url)
    if warm_up:
        # on the server's own thread (HoloViews is not thread-safe); a page requested meanwhile waits
        server.io_loop.add_callback(_warm_up, survey, run)
    if show:
        server.io_loop.add_callback(server.show, f"/{APP_PATH}")
    try:
        server.io_loop.start()
    finally:
        server.stop()
