"""``galexplore serve``: the dashboard of a survey and a run in the browser."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._common import non_negative_int
from galexplore.dashboard.server import COMPRESSION_LEVEL  # light: Panel loads when serving

DESCRIPTION = """\
Serve the galexplore dashboard for SURVEY (a survey directory) and RUN (a run directory with
projection.parquet, and embeddings.parquet for similarity search): the datashaded embedding
map linked to cutouts, IFU maps, stacked radial profiles, the main sequence, clusters,
similarity search and export. Open the printed URL in a browser; Ctrl-C stops the server.

Safe serving: by default only this machine can connect (127.0.0.1). To reach it from
elsewhere prefer an SSH tunnel:  ssh -L 5006:127.0.0.1:5006 HOST  then open
http://127.0.0.1:5006/explorer. To expose it on the network, all three are needed:

  --address 0.0.0.0                       listen on every interface
  --allow-websocket-origin HOST:PORT      the address browsers use (refused without it)
  --basic-auth users.json                 a login page; users.json is {"user": "password"}
                                          (a password string works too, but shows in `ps`)

Very large surveys: --out-of-core keeps the catalog and the projection on disk. On first use
a map table (projection + catalog columns, in stripes of the map) is written part by part
under RUN/cache/; the map, its zoom, colour-by and the main sequence are then Datashader
aggregates of Dask DataFrames, and a lasso is computed part by part, so 10^7+ galaxies never
need to fit in memory. The selection's cutouts, maps and export work; clustering, similarity
search, distributions, stacked profiles, hover and view links are off in that mode. A partitioned
projection (galexplore project --dask) of more than 3,000,000 galaxies is served out of core
unless --in-memory is given.

Without --basic-auth an exposed server prints a warning: anyone who can reach it can browse
the survey and download exports. Widgets and URL parameters only read the survey and the run
and are validated against the catalog; nothing typed in the page is run as code.
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 1–65535, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the dashboard of a survey and a run",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("survey", metavar="SURVEY", help="survey directory")
    p.add_argument("run", metavar="RUN", help="run directory (needs projection.parquet)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--out-of-core",
        dest="out_of_core",
        action="store_const",
        const=True,
        default=None,
        help="keep the catalog and projection on disk and aggregate them with Dask (for surveys "
        "too big for memory; some panels are off, see above)",
    )
    mode.add_argument(
        "--in-memory",
        dest="out_of_core",
        action="store_const",
        const=False,
        help="load the survey into memory even for a large partitioned projection",
    )
    add_server_options(p)
    p.set_defaults(func=run)


def add_server_options(p: argparse.ArgumentParser) -> None:
    """--port, --address, --show, --allow-websocket-origin (shared with ``demo``)."""
    p.add_argument("--port", type=_port, default=5006, help="port to listen on (default: 5006)")
    p.add_argument(
        "--address", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    p.add_argument("--show", action="store_true", help="open the dashboard in a web browser")
    p.add_argument(
        "--allow-websocket-origin",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="origin allowed to connect, e.g. myhost.example.org:5006 (repeatable); "
        "required with a non-loopback --address",
    )
    p.add_argument(
        "--basic-auth",
        default=None,
        metavar="FILE|PASSWORD",
        help='require a login: a JSON file {"user": "password", ...} or one password (Panel basic auth)',
    )
    p.add_argument(
        "--num-procs",
        type=non_negative_int,
        default=1,
        metavar="N",
        help="server processes sharing the port (default: 1; 0: one per core). Each browser session "
        "lives in one process, so sessions in different processes render in parallel; the "
        "survey is loaded once before the processes fork and shared (Linux/macOS)",
    )
    p.add_argument(
        "--compression-level",
        type=non_negative_int,
        default=None,
        metavar="0-9",
        help="compress what the page receives: permessage-deflate on the websocket at this zlib level and "
        f"gzip for HTTP (default: {COMPRESSION_LEVEL}; 1 is fastest, 0 turns both off). Remote users on "
        "a VPN or an SSH tunnel receive 3-50x fewer bytes per zoom, lasso and page load",
    )


def start_server(args: argparse.Namespace, survey, run) -> int:
    from galexplore.dashboard.server import serve

    def ready(url: str) -> None:
        print(f"galexplore: dashboard at {url}  (Ctrl-C to stop)", file=sys.stderr, flush=True)

    serve(
        survey,
        run,
        port=args.port,
        address=args.address,
        show=args.show,
        allow_origins=args.allow_websocket_origin,
        basic_auth=args.basic_auth,
        on_ready=ready,
        num_procs=getattr(args, "num_procs", 1),
        out_of_core=getattr(args, "out_of_core", False),
        compression_level=COMPRESSION_LEVEL if args.compression_level is None else args.compression_level,
    )
    return 0


def run(args: argparse.Namespace) -> int:
    return start_server(args, args.survey, args.run)
