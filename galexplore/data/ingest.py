"""Ingest real survey files into the survey store: one function per ``galexplore ingest`` kind.

Every function reads all its inputs, skips and reports the bad ones (``SURVEY/ingest_report.json``;
each reason names the file), fails only if nothing could be read, and writes the survey
atomically with ``survey.json`` provenance: source files, package versions, the choices made,
the conversions and the channel set. See ``docs/ingest.md`` for the conversions. The map kinds
(Pipe3D, MaNGA MAPS) live in :mod:`galexplore.data.ingest_maps` and are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.atomic import write_json
from galexplore.data.ingest_maps import GEOMETRY_KEYS, MapGrid, _Item, ingest_manga_maps, ingest_pipe3d
from galexplore.data.readers import batch
from galexplore.data.readers.batch import IngestReport, IngestResult, finite_or_none
from galexplore.data.readers.cutouts import read_cutout, to_common
from galexplore.data.readers.image_folder import match_files, read_image, read_image_catalog
from galexplore.data.readers.join import join_catalog
from galexplore.data.readers.spectra import common_grid, is_redrock, read_spectra
from galexplore.data.store import ModalitySpec, open_survey
from galexplore.data.writer import write_catalog, write_survey
from galexplore.errors import GalexploreError, InputFileError
from galexplore.progress import ProgressCallback

#: Default fraction of each image's central square kept by :func:`ingest_images`. Survey cutouts
#: such as the Galaxy Zoo SDSS and DECaLS renderings frame the galaxy at several Petrosian radii,
#: so the galaxy fills only the middle of the frame; keeping the central half gives the encoder
#: about twice as many pixels across it at the same stored size (docs/ingest.md).
IMAGE_CROP = 0.5


def _images_spec(items: list[_Item], bands, unit, grid: dict) -> ModalitySpec:
    return ModalitySpec("images", items[0].array.shape, list(bands), [unit] * len(bands), grid)


def ingest_fits_cutouts(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    catalog=None,
    bands: list[str] | None = None,
    size: int | None = None,
    pixel_arcsec: float | None = None,
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Multi-band FITS cutouts → ``images`` (linear flux per pixel, bands named).

    ``size`` and/or ``pixel_arcsec`` put all cutouts on a common grid (see
    :func:`~galexplore.data.readers.cutouts.to_common`); without them all must share a shape.
    A cutout whose shape or bands differ from the first one read is skipped and reported.
    """
    rep = IngestReport("fits-cutouts")
    ref: dict[str, Any] = {}

    def one(path) -> _Item:
        cut = read_cutout(path, bands=bands)
        data, pix = to_common(cut, size=size, pixel_arcsec=pixel_arcsec)
        ref.setdefault("shape", data.shape)
        ref.setdefault("bands", cut.channels)
        ref.setdefault("unit", cut.units[0])
        if data.shape != ref["shape"]:
            raise InputFileError(
                path,
                f"shape {data.shape} differs from {ref['shape']}; pass --size/--pixel-arcsec to resample",
            )
        if cut.channels != ref["bands"]:
            raise InputFileError(path, f"bands {cut.channels} differ from {ref['bands']}")
        if cut.properties["bad_pixel_frac"] > 0.25:
            rep.warn(
                path,
                f"{cut.properties['bad_pixel_frac']:.0%} of pixels are bad (set to NaN): {cut.notes['bad_pixel_frac']}",
            )
        rec = {
            "galaxy_id": cut.galaxy_id,
            "source_file": str(path),
            **{k: v for k, v in cut.properties.items() if v is not None},
        }
        rec["image_pixel_arcsec"] = pix if pix is not None else np.nan
        return _Item(cut.galaxy_id, data.astype(np.float32), rec, cut.notes, str(path))

    items = batch.dedupe(
        batch.read_each(list(files), one, rep, progress, "reading cutouts"), lambda r: r.galaxy_id, rep
    )
    grid = (
        {"kind": "arcsec", "pixel_arcsec": pixel_arcsec, "size": items[0].array.shape[-1]}
        if pixel_arcsec
        else {"kind": "native" if size is None else "resized", "pixel_arcsec_column": "image_pixel_arcsec"}
    )
    spec = _images_spec(items, ref["bands"], ref["unit"], grid)
    prov = {
        "kind": "fits-cutouts",
        "bands": ref["bands"],
        "unit": ref["unit"],
        "choices": {
            "size": size,
            "pixel_arcsec": pixel_arcsec,
            "bad_pixels": "non-finite, sentinels and exact 0.0 -> NaN",
            "flux": "linear flux per pixel, rescaled by the pixel-area ratio when resampled",
        },
        "per_galaxy": {it.galaxy_id: it.notes for it in items},
    }
    arr = np.stack([it.array for it in items])
    table = pd.DataFrame([it.record for it in items])
    return batch.finish(
        out,
        rep,
        table,
        {"images": (arr, spec)},
        name=name,
        source="fits-cutouts",
        provenance=prov,
        catalog=batch.load_catalog(catalog),
    )


def ingest_images(
    folder: str | os.PathLike,
    catalog: str | os.PathLike,
    out: str | os.PathLike,
    *,
    size: int = 64,
    crop: float = IMAGE_CROP,
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """A folder of PNG/JPEG/FITS images plus a CSV (``galaxy_id``, ``file``, …) → ``images``.

    Files are matched on their stem, centre-cropped to a square of which the central ``crop``
    fraction of the side is kept (default :data:`IMAGE_CROP`), and resized to
    ``size``×``size``. Other CSV columns pass through to the catalog.
    """
    if not 0 < crop <= 1:
        raise GalexploreError(f"crop must be in (0, 1], got {crop}")
    rep = IngestReport("images")
    df = read_image_catalog(catalog)
    paths = match_files(folder, df["file"])
    wanted = {
        str(p if p is not None else Path(folder) / f): (i, p)
        for i, (f, p) in enumerate(zip(df["file"], paths, strict=True))
    }
    ref: dict[str, Any] = {}

    def one(key) -> _Item:
        i, path = wanted[key]
        if path is None:
            raise InputFileError(key, "no image with this file stem in the folder")
        data, bands, unit = read_image(path, size=size, crop=crop)
        ref.setdefault("bands", bands)
        ref.setdefault("unit", unit)
        if bands != ref["bands"] or unit != ref["unit"]:
            raise InputFileError(path, f"bands {bands} ({unit}) differ from {ref['bands']} ({ref['unit']})")
        rec = {**df.iloc[i].to_dict(), "image_file": str(path)}
        return _Item(str(df["galaxy_id"].iloc[i]), data, rec, {}, str(path))

    items = batch.dedupe(
        batch.read_each(list(wanted), one, rep, progress, "reading images"), lambda r: r.galaxy_id, rep
    )
    spec = _images_spec(
        items,
        ref["bands"],
        ref["unit"],
        {"kind": "resized", "size": size, "crop": "centre square", "crop_fraction": crop},
    )
    prov = {
        "kind": "images",
        "folder": str(Path(folder).resolve()),
        "bands": ref["bands"],
        "unit": ref["unit"],
        "choices": {
            "size": size,
            "match": "file stem",
            "crop_fraction": crop,
            "crop": (
                f"centre square, its central {crop:g} of the side kept, then anti-aliased bilinear resize"
            ),
        },
        "image_catalog": batch.file_record(catalog),
    }
    arr = np.stack([it.array for it in items])
    table = pd.DataFrame([it.record for it in items])
    return batch.finish(
        out, rep, table, {"images": (arr, spec)}, name=name, source="images", provenance=prov, catalog=None
    )


def _pair_redrock(files: list[Path], rep: IngestReport) -> tuple[list[Path], dict[Path, Path]]:
    rr = {f.name.lower().replace("redrock-", "").replace("zbest-", ""): f for f in files if is_redrock(f)}
    spectra = [f for f in files if not is_redrock(f)]
    pairs = {
        f: rr[f.name.lower().replace("coadd-", "")]
        for f in spectra
        if f.name.lower().replace("coadd-", "") in rr
    }
    for f in set(rr.values()) - set(pairs.values()):
        rep.warn(
            f, "redrock file not paired with any coadd given (pairing is by name: coadd-X <-> redrock-X)"
        )
    return spectra, pairs


def ingest_spectra(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    catalog=None,
    frame: str = "observed",
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """DESI coadds (+ redrock), SDSS spec-lite and MaNGA spectra → ``spectra`` on one grid.

    The grid is the first spectrum's (DESI: arms merged, 0.8 Å steps). ``frame="rest"`` divides
    each wavelength by 1 + z and multiplies f_λ by 1 + z; spectra without a redshift are then
    skipped. Spectra with no good pixel are skipped and reported.
    """
    if frame not in ("observed", "rest"):
        raise GalexploreError(f"frame must be observed or rest, got {frame!r}")
    rep = IngestReport("spectra")
    files, pairs = _pair_redrock([Path(f) for f in files], rep)
    spectra = batch.read_each(
        files, lambda f: read_spectra(f, redrock=pairs.get(f)), rep, progress, "reading spectra"
    )
    rep.read.extend(str(p) for p in pairs.values())
    kept = []
    for s in spectra:
        z = finite_or_none(s.properties.get("z"))
        if not np.isfinite(s.flux).any():
            rep.skip(f"{s.source}[{s.galaxy_id}]", "no good pixel (all masked or IVAR <= 0)")
        elif frame == "rest" and z is None:
            rep.skip(f"{s.source}[{s.galaxy_id}]", "no redshift, so it cannot be put in the rest frame")
        else:
            if frame == "rest":
                s.wave, s.flux = s.wave / (1 + z), s.flux * (1 + z)
            kept.append(s)
    kept = batch.dedupe(kept, lambda s: s.galaxy_id, rep)
    if not kept:
        raise GalexploreError("nothing could be read: no spectrum has a good pixel")
    wave, flux = common_grid(kept)
    for source, unit in dict.fromkeys((s.source, s.unit) for s in kept if s.unit != kept[0].unit):
        rep.warn(source, f"flux unit {unit!r} differs from {kept[0].unit!r} of the first spectrum")
    spec = ModalitySpec(
        "spectra",
        (wave.size,),
        ["flux"],
        [kept[0].unit],
        {"kind": "wavelength", "frame": frame, "unit": "Angstrom", "aux": "wavelength"},
    )
    table = pd.DataFrame([{"galaxy_id": s.galaxy_id, "source_file": s.source, **s.properties} for s in kept])
    prov = {
        "kind": "spectra",
        "choices": {
            "frame": frame,
            "grid": "first spectrum's; others linearly interpolated",
            "bad_pixels": "IVAR <= 0 or MASK != 0 -> NaN",
            "arms": "ivar-weighted mean where arms overlap",
        },
        "per_spectrum": {s.galaxy_id: s.notes for s in kept},
    }
    return batch.finish(
        out,
        rep,
        table,
        {"spectra": (flux, spec)},
        name=name,
        source="spectra",
        provenance=prov,
        catalog=batch.load_catalog(catalog),
        aux={"spectra": {"wavelength": wave}},
    )


def ingest_catalog(
    path: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    into: str | os.PathLike | None = None,
    on: str = "auto",
    radius=None,
    overwrite: bool = False,
    name: str | None = None,
) -> IngestResult:
    """A property catalog alone (``out``) or joined into an existing survey (``into``).

    Joining keeps the survey's galaxies and order (by id, else by sky position within
    ``radius``, an astropy angle Quantity, default 3″) and records the join in ``survey.json``.
    """
    if (out is None) == (into is None):
        raise GalexploreError("give exactly one of out (a new survey) or into (an existing survey)")
    cat = batch.load_catalog(path)
    rep = IngestReport("catalog", read=[str(path)])
    if out is not None:
        prov = {
            "kind": "catalog",
            "layout": cat.layout,
            "conversions": cat.conversions,
            "sources": [batch.file_record(path)],
            "packages": batch.package_versions(),
        }
        survey = write_survey(
            out, cat.table, None, name=name or Path(out).name, source="catalog", provenance=prov
        )
        write_json(survey.paths.ingest_report, vars(rep))
        return IngestResult(survey, rep)
    survey = open_survey(into)
    joined = join_catalog(survey.catalog, cat.table, on=on, radius=radius, overwrite=overwrite)
    if joined.n_matched == 0:
        raise GalexploreError(f"{path}: no galaxy of {into} matched ({joined.method})")
    if joined.n_matched < joined.n_survey:
        rep.warn(path, f"{joined.n_survey - joined.n_matched} survey galaxies have no catalog row")
    survey = write_catalog(survey, joined.table)
    meta = dict(survey.meta)
    meta.setdefault("provenance", {}).setdefault("joined_catalogs", []).append(
        {
            "file": batch.file_record(path),
            "layout": cat.layout,
            "conversions": cat.conversions,
            "join": joined.summary(),
            "overwrite": overwrite,
            "packages": batch.package_versions(),
        }
    )
    write_json(survey.paths.meta, meta)
    write_json(survey.paths.ingest_report, vars(rep))
    return IngestResult(open_survey(into), rep)


__all__ = [
    "GEOMETRY_KEYS",
    "IMAGE_CROP",
    "MapGrid",
    "ingest_catalog",
    "ingest_fits_cutouts",
    "ingest_images",
    "ingest_manga_maps",
    "ingest_pipe3d",
    "ingest_spectra",
]
