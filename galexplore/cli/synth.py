"""``galexplore synth``: write the built-in synthetic eCALIFA-like survey."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._common import non_negative_int, positive_int, progress_bar

DESCRIPTION = """\
Write the built-in synthetic survey: eCALIFA-like galaxies (Hubble types E…Irr, a star-
forming main sequence, a green valley and retired galaxies) with Rₑ-normalised IFU maps of
log Σ*, log age, [Z/H], log EW(Hα) and log flux (64×64 over ±2.5 Rₑ), g, r, i images and an
integrated spectrum each. Every true property, structural ones included (gradients, bulge
fraction, bars, arms, quenching radius), is in catalog.parquet. The same --seed gives
byte-identical catalogs and arrays.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="write the built-in synthetic eCALIFA-like survey",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", type=positive_int, default=2000, help="number of galaxies (default: 2000)")
    p.add_argument(
        "--out", required=True, metavar="SURVEY", help="output survey directory (replaced if it exists)"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from galexplore.artifacts.atomic import check_writable
    from galexplore.data.columns import SF_CLASSES
    from galexplore.data.synthetic import synthesize

    check_writable(args.out)
    with progress_bar(args, unit="gal") as progress:
        survey = synthesize(args.n, args.out, seed=args.seed, progress=progress)
    counts = survey.catalog["sf_class"].value_counts()
    mix = ", ".join(f"{counts.get(k, 0)} {k}" for k in SF_CLASSES)
    print(f"wrote {survey.n_galaxies} galaxies to {survey.path} ({mix})", file=sys.stderr)
    return 0
