"""``galexplore demo``: the whole path on the built-in survey, then the dashboard."""

from __future__ import annotations

import argparse
import sys
import time

from galexplore.cli._common import non_negative_int, positive_int, progress_bar
from galexplore.cli.serve import add_server_options, start_server

DESCRIPTION = """\
Run everything on the built-in synthetic eCALIFA-like survey and open the dashboard:

  1. synthesise  N galaxies with IFU maps, images and spectra      (WORKDIR/survey)
  2. train       a contrastive maps encoder on the CPU (or GPU)    (WORKDIR/run/encoder.pt)
  3. embed       every galaxy                                      (run/embeddings.parquet)
  4. project     the embeddings to 2-D with UMAP                   (run/projection.parquet)
  5. cluster     them with k-means                                 (run/clusters/)
  6. serve       the dashboard at http://127.0.0.1:PORT/explorer

The first run takes a few minutes (mostly training) and shows a progress bar per stage.
WORKDIR/demo.json records a fingerprint of each artifact and of what it was made from, so
the next run checks them and reuses everything still valid: it starts serving in seconds.
Change --n, --epochs, --seed or --k and only the affected stages run again.

The server listens on 127.0.0.1 only (this machine); Ctrl-C stops it. To expose it, see
`galexplore serve --help` (--address, --allow-websocket-origin, --basic-auth).
Example: galexplore demo --workdir ~/galexplore-demo --port 5007
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="synthesise, train, embed, project, cluster and serve the built-in survey",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--workdir", default="demo_data", help="where the survey and the run are kept (default: ./demo_data)"
    )
    p.add_argument(
        "--n", type=positive_int, default=1500, help="galaxies in the synthetic survey (default: 1500)"
    )
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=3,
        help="training epochs (default: 3; more give a slightly better encoder)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed of every stage (default: 0)")
    p.add_argument(
        "--k", type=positive_int, default=5, help="k-means clusters saved with the run (default: 5)"
    )
    p.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="training device (default: auto)"
    )
    p.add_argument("--fresh", action="store_true", help="redo every stage even if its artifact is current")
    p.add_argument("--no-serve", action="store_true", help="stop after making the artifacts")
    add_server_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.demo import STAGES, Demo, DemoConfig, StageResult

    if not args.no_serve:  # refuse an unsafe --address before minutes of work
        from galexplore.dashboard.server import check_exposure

        check_exposure(args.address, args.allow_websocket_origin, args.basic_auth)
    config = DemoConfig(n=args.n, seed=args.seed, epochs=args.epochs, n_clusters=args.k, device=args.device)
    t0 = time.perf_counter()

    def said(r: StageResult) -> None:
        i = STAGES.index(r.name) + 1
        what = "reused (fingerprints match)" if r.reused else f"done in {r.seconds:.1f} s"
        print(f"[{i}/{len(STAGES)}] {r.name}: {what}", file=sys.stderr, flush=True)

    with progress_bar(args, unit="gal") as progress:
        demo = Demo(args.workdir, config, progress=progress)
        demo.run(fresh=args.fresh, on_stage=said)
    print(
        f"galexplore: demo artifacts ready in {time.perf_counter() - t0:.1f} s "
        f"({demo.survey_path}, {demo.run_path})",
        file=sys.stderr,
        flush=True,
    )
    if args.no_serve:
        return 0
    return start_server(args, demo.survey_path, demo.run_path)
