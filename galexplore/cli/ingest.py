"""``galexplore ingest <kind>``: real survey files into a survey directory (DESIGN §3)."""

from __future__ import annotations

import argparse
import sys

from galexplore.cli._common import positive_int, progress_bar

#: galexplore.data.ingest.IMAGE_CROP, kept literal so that ``--help`` stays light (a test checks they agree).
IMAGE_CROP = 0.5

DESCRIPTION = """\
Read real survey files into a survey directory (catalog.parquet, maps / images / spectra
arrays, survey.json with provenance). Bad files are skipped and reported, one line each on
stderr and in SURVEY/ingest_report.json; the command fails only if nothing could be read.
Conversions and assumptions: docs/ingest.md.
"""

EPILOG = """\
Examples:
  galexplore ingest pipe3d NGC4047_allpix.pipe3d.hdf5 --catalog ecalifa_global.csv --out s/
  galexplore ingest manga-maps manga-*-MAPS-*.fits.gz --out manga/
  galexplore ingest fits-cutouts cutouts/*.fits --size 128 --out decals/
  galexplore ingest images jpgs/ --catalog jpgs.csv --out zoo/
  galexplore ingest spectra coadd-*.fits redrock-*.fits --out desi/
  galexplore ingest catalog galaxies_properties.fits --into s/
"""


def _radius(text: str):
    from astropy import units as u

    try:
        q = u.Quantity(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"not an angle: {text!r} (e.g. 3arcsec)") from None
    if q.unit == u.dimensionless_unscaled:
        q = q.value * u.arcsec
    if not q.unit.is_equivalent(u.deg) or q.value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive angle: {text!r} (e.g. 3arcsec)")
    return q


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _crop(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _bands(text: str) -> list[str]:
    return [b.strip() for b in text.split(",") if b.strip()]


def _common(p: argparse.ArgumentParser, *, catalog_required: bool = False) -> None:
    p.add_argument(
        "--out", required=True, metavar="SURVEY", help="output survey directory (replaced if it exists)"
    )
    p.add_argument(
        "--catalog",
        metavar="CAT",
        required=catalog_required,
        help="property catalog (FITS, ECSV, CSV or Parquet), matched by id, else by sky position within 3″",
    )
    p.add_argument("--name", help="survey name recorded in survey.json (default: the directory name)")


def _grid(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output grid")
    g.add_argument(
        "--grid",
        choices=("auto", "re", "arcsec"),
        default="auto",
        help="Rₑ-normalised or fixed arcsec grid (auto: Rₑ when the catalog or file gives it)",
    )
    g.add_argument(
        "--size", type=positive_int, default=64, help="pixels per side (default 64, the synthetic survey's)"
    )
    g.add_argument("--extent-re", type=_positive_float, default=2.5, help="half-width in Rₑ (default 2.5)")
    g.add_argument(
        "--extent-arcsec",
        type=_positive_float,
        default=36.0,
        help="half-width of the arcsec grid (default 36)",
    )
    g.add_argument("--align", action="store_true", help="rotate the major axis (catalog PA) onto x")
    g.add_argument(
        "--deproject", action="store_true", help="with --align, stretch the minor axis by a/b (face-on)"
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="read real survey files (Pipe3D, MaNGA, FITS cutouts, images, spectra, catalogs)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = p.add_subparsers(dest="kind", metavar="<kind>", title="kinds", required=True)

    k = kinds.add_parser(
        "pipe3d",
        help="Pipe3D maps: packed or classic FITS cubes, per-spaxel HDF5",
        description="Pipe3D maps → log Σ*, log age, [Z/H], log EW(Hα), log flux on the survey grid.",
    )
    k.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="*.Pipe3D.cube.fits.gz, *.SSP.cube.fits.gz (+ flux_elines.*), *.pipe3d.hdf5",
    )
    _common(k)
    _grid(k)
    k.add_argument(
        "--pixel-arcsec",
        type=_positive_float,
        help="spaxel size of FITS maps without WCS (default 1, CALIFA)",
    )
    k.set_defaults(func=run)

    k = kinds.add_parser(
        "manga-maps",
        help="MaNGA DAP MAPS files",
        description="MaNGA DAP MAPS → log EW(Hα), log Hα flux, stellar velocity and σ, D4000 "
        "(IVAR and MASK applied).",
    )
    k.add_argument("files", nargs="+", metavar="FILE", help="manga-*-MAPS-*.fits.gz")
    _common(k)
    _grid(k)
    k.add_argument(
        "--min-snr", type=float, default=0.0, help="also blank values with S/N below this (default 0)"
    )
    k.set_defaults(func=run)

    k = kinds.add_parser(
        "fits-cutouts",
        help="multi-band FITS cutouts (e.g. DECaLS g, r, z)",
        description="Multi-band FITS cutouts → images in linear flux per pixel, bands named.",
    )
    k.add_argument("files", nargs="+", metavar="FILE", help="FITS cutouts, (B, H, W) or (H, W)")
    _common(k)
    k.add_argument("--bands", type=_bands, help="band names, comma-separated (default: from the headers)")
    k.add_argument("--size", type=positive_int, help="resize (or, with --pixel-arcsec, cut) to SIZE×SIZE")
    k.add_argument("--pixel-arcsec", type=_positive_float, help="resample to this pixel scale (needs a WCS)")
    k.set_defaults(func=run)

    k = kinds.add_parser(
        "images",
        help="a folder of PNG/JPEG/FITS images plus a CSV catalog",
        description="A folder of images plus a CSV with galaxy_id, file and any other columns; "
        "files match on their stem, are centre-cropped and resized.",
    )
    k.add_argument("folder", metavar="DIR", help="the image folder")
    _common(k, catalog_required=True)
    k.add_argument("--size", type=positive_int, default=64, help="pixels per side (default 64)")
    k.add_argument(
        "--crop",
        type=_crop,
        default=IMAGE_CROP,
        metavar="FRACTION",
        help="fraction of the central square's side kept before resizing: survey cutouts frame the galaxy "
        f"at several Petrosian radii, so the default {IMAGE_CROP:g} keeps the middle half; 1 keeps "
        "the whole square",
    )
    k.set_defaults(func=run)

    k = kinds.add_parser(
        "spectra",
        help="DESI coadds (+ redrock), SDSS spec-lite, MaNGA spectra",
        description="Spectra → one wavelength grid; DESI arms merged, redshift from redrock.",
    )
    k.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="coadd-*.fits with redrock-*.fits, spec-*.fits, MaNGA spectra",
    )
    _common(k)
    k.add_argument(
        "--frame",
        choices=("observed", "rest"),
        default="observed",
        help="wavelength frame (default observed)",
    )
    k.set_defaults(func=run)

    k = kinds.add_parser(
        "catalog",
        help="a property catalog alone, or joined into an existing survey",
        description="A property catalog → standard columns and units plus sf_class; alone (--out) "
        "or joined into a survey (--into) by id or sky position.",
    )
    k.add_argument(
        "file",
        metavar="FILE",
        help="eCALIFA tables, edge_califa.csv, a split .npz, or any FITS/CSV/Parquet table",
    )
    dest = k.add_mutually_exclusive_group(required=True)
    dest.add_argument("--out", metavar="SURVEY", help="write a new catalog-only survey")
    dest.add_argument("--into", metavar="SURVEY", help="join into this existing survey")
    k.add_argument(
        "--on",
        choices=("auto", "id", "sky"),
        default="auto",
        help="join by id, sky position, or auto (id first)",
    )
    k.add_argument("--radius", type=_radius, help="sky match radius, e.g. 3arcsec (default 3 arcsec)")
    k.add_argument(
        "--overwrite", action="store_true", help="replace the survey's values where the catalog has them"
    )
    k.add_argument("--name", help="survey name (with --out)")
    k.set_defaults(func=run)


def _call(args: argparse.Namespace, progress):
    from galexplore.data import ingest as ing

    if args.kind in ("pipe3d", "manga-maps"):
        grid = ing.MapGrid(
            args.grid, args.size, args.extent_re, args.extent_arcsec, args.align, args.deproject
        )
        if args.kind == "pipe3d":
            return ing.ingest_pipe3d(
                args.files,
                args.out,
                catalog=args.catalog,
                grid=grid,
                pixel_arcsec=args.pixel_arcsec,
                name=args.name,
                progress=progress,
            )
        return ing.ingest_manga_maps(
            args.files,
            args.out,
            catalog=args.catalog,
            grid=grid,
            min_snr=args.min_snr,
            name=args.name,
            progress=progress,
        )
    if args.kind == "fits-cutouts":
        return ing.ingest_fits_cutouts(
            args.files,
            args.out,
            catalog=args.catalog,
            bands=args.bands,
            size=args.size,
            pixel_arcsec=args.pixel_arcsec,
            name=args.name,
            progress=progress,
        )
    if args.kind == "images":
        return ing.ingest_images(
            args.folder,
            args.catalog,
            args.out,
            size=args.size,
            crop=args.crop,
            name=args.name,
            progress=progress,
        )
    if args.kind == "spectra":
        return ing.ingest_spectra(
            args.files, args.out, catalog=args.catalog, frame=args.frame, name=args.name, progress=progress
        )
    return ing.ingest_catalog(
        args.file,
        out=args.out,
        into=args.into,
        on=args.on,
        radius=args.radius,
        overwrite=args.overwrite,
        name=args.name,
    )


def run(args: argparse.Namespace) -> int:
    with progress_bar(args, unit="file") as progress:
        result = _call(args, progress)
    for line in result.report.lines():
        print(f"galexplore: {line}", file=sys.stderr)
    survey = result.survey
    mods = ", ".join(f"{k} {tuple(v.shape)}" for k, v in survey.modalities.items()) or "catalog only"
    skipped = f"; {len(result.report.skipped)} skipped" if result.report.skipped else ""
    print(
        f"wrote {survey.n_galaxies} galaxies to {survey.path} "
        f"({mods}{skipped}; report: {survey.paths.ingest_report})",
        file=sys.stderr,
    )
    return 0
