"""Ingest IFU property maps into the survey store: ``galexplore ingest pipe3d`` and ``manga-maps``.

Each map file is read on its own pixel grid, put on the survey's grid (Rₑ-normalised or fixed
in arcsec; :class:`MapGrid`) with the catalog's Rₑ, PA and b/a, and written as the ``maps``
modality; :mod:`galexplore.data.ingest` re-exports these functions beside the other kinds.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.data.readers import batch
from galexplore.data.readers.batch import IngestReport, IngestResult, catalog_row, finite_or_none
from galexplore.data.readers.distances import rescale_distance
from galexplore.data.readers.manga import CHANNELS as MANGA_CHANNELS
from galexplore.data.readers.manga import UNITS as MANGA_UNITS
from galexplore.data.readers.manga import read_manga_maps
from galexplore.data.readers.native import NativePlanes
from galexplore.data.readers.pipe3d import CHANNELS as PIPE3D_CHANNELS
from galexplore.data.readers.pipe3d import UNITS as PIPE3D_UNITS
from galexplore.data.readers.pipe3d import flux_elines_companion, is_flux_elines, read_pipe3d
from galexplore.data.readers.resample import Geometry, resample
from galexplore.data.store import ModalitySpec
from galexplore.data.synthetic.geometry import Grid
from galexplore.errors import InputFileError
from galexplore.progress import ProgressCallback

GEOMETRY_KEYS = ("re_arcsec", "pa_deg", "axis_ratio")


@dataclass
class _Item:  # one galaxy read from one file (maps here, images in galexplore.data.ingest)
    galaxy_id: str
    array: np.ndarray
    record: dict[str, Any]
    notes: dict[str, Any]
    source: str


@dataclass(frozen=True)
class MapGrid:
    """Output grid of a map ingest: ``kind`` auto / re / arcsec (see :func:`batch.grid_choice`)."""

    kind: str = "auto"
    size: int = 64
    extent_re: float = 2.5
    extent_arcsec: float = 36.0
    align: bool = False
    deproject: bool = False


def _map_item(
    path,
    reader: Callable[[Path], NativePlanes],
    cat,
    gkind: str,
    g: MapGrid,
    adjust: Callable | None,
    rep: IngestReport,
) -> _Item:
    m = reader(Path(path))
    row = catalog_row(cat, m.galaxy_id, m.properties.get("ra"), m.properties.get("dec"))
    if adjust is not None:
        m = adjust(m, row)
    # the catalog's Rₑ, PA and b/a win; the file's own (e.g. MaNGA's REFF) fill the gaps
    used = {
        k: next(
            (v for v in (finite_or_none(row.get(k)), finite_or_none(m.properties.get(k))) if v is not None),
            None,
        )
        for k in GEOMETRY_KEYS
    }
    if gkind == "re" and used["re_arcsec"] is None:
        raise InputFileError(
            path, f"no effective radius for {m.galaxy_id!r} in the catalog or the file (use --grid arcsec)"
        )
    geom = Geometry(used["re_arcsec"] if gkind == "re" else None, used["pa_deg"], used["axis_ratio"])
    planes, info = resample(
        m.data,
        m.frame,
        grid=Grid(g.size, g.extent_re, 0),
        geometry=geom,
        extent_arcsec=g.extent_arcsec,
        align=g.align,
        deproject=g.deproject,
    )
    if not np.isfinite(planes).any():
        raise InputFileError(path, "no valid pixel lands on the output grid")
    for key, text in m.notes.items():
        if isinstance(text, str) and (text.startswith("assumed") or text.startswith("none")):
            rep.warn(path, f"{key}: {text}")
    props = {k: v for k, v in m.properties.items() if v is not None}
    record = {
        "galaxy_id": m.galaxy_id,
        "source_file": str(path),
        **props,
        **{k: v for k, v in used.items() if v is not None},
        "grid_pixel_arcsec": info["pixel_arcsec"],
    }
    return _Item(m.galaxy_id, planes, record, m.notes, str(path))


def _ingest_maps(
    files,
    out,
    *,
    reader,
    adjust,
    kind,
    channels,
    units,
    channel_set,
    catalog,
    grid: MapGrid,
    header_re: bool,
    name,
    progress,
    choices,
    rep=None,
) -> IngestResult:
    cat = batch.load_catalog(catalog)
    rep = rep or IngestReport(kind)
    has_re = header_re or (cat is not None and "re_arcsec" in cat.table.columns)
    gkind = batch.grid_choice(grid.kind, has_re)
    one = functools.partial(_map_item, reader=reader, cat=cat, gkind=gkind, g=grid, adjust=adjust, rep=rep)
    items = batch.dedupe(
        batch.read_each(list(files), one, rep, progress, "reading maps"), lambda r: r.galaxy_id, rep
    )
    arr = np.stack([it.array for it in items]).astype(np.float32)
    spec = ModalitySpec(
        "maps",
        arr.shape[1:],
        channels,
        units,
        batch.maps_grid_json(
            gkind, grid.size, grid.extent_re, grid.extent_arcsec, grid.align, grid.deproject
        ),
    )
    provenance = {
        "kind": kind,
        "channel_set": channel_set,
        "channels": dict(zip(channels, units, strict=True)),
        "choices": {"grid": gkind, **vars(grid), **choices},
        "per_galaxy": {it.galaxy_id: it.notes for it in items},
    }
    table = pd.DataFrame([it.record for it in items])
    return batch.finish(
        out, rep, table, {"maps": (arr, spec)}, name=name, source=kind, provenance=provenance, catalog=cat
    )


def _pipe3d_adjust(m: NativePlanes, row: dict) -> NativePlanes:
    return rescale_distance(
        m, distance_mpc=finite_or_none(row.get("distance_mpc")), z=finite_or_none(row.get("z"))
    )


def ingest_pipe3d(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    catalog=None,
    grid: MapGrid | None = None,
    pixel_arcsec: float | None = None,
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Pipe3D maps (packed FITS, classic SSP + flux_elines, per-spaxel HDF5) → standard channels.

    ``catalog`` gives Rₑ, PA, b/a, distance and redshift per galaxy (matched by id, else by sky
    position within 3″); without it the maps go on a fixed ±36″ grid. ``pixel_arcsec`` is the
    spaxel size of FITS maps without WCS (default 1″). Classic ``flux_elines.*`` files given
    on the command line are paired with their SSP cube by name.
    """
    rep = IngestReport("pipe3d")
    files = [Path(f) for f in files]
    ssp = [f for f in files if not is_flux_elines(f)]
    paired = {flux_elines_companion(f) for f in ssp} - {None}
    for f in files:
        if is_flux_elines(f) and f not in paired:
            rep.skip(
                f,
                "a flux_elines cube is read with its NAME.SSP.cube.fits(.gz), which was not given beside it",
            )
    reader = functools.partial(read_pipe3d, pixel_arcsec=pixel_arcsec)
    choices = {
        "pixel_arcsec_without_wcs": pixel_arcsec or 1.0,
        "solar_metallicity": 0.02,
        "distance": (
            "catalog DL if given, else z (catalog, header or median stellar velocity) "
            "with flat LCDM H0=70 Om=0.27; D_A = D_L/(1+z)^2"
        ),
        "ew_sign": "log10 |EW(Ha)| (Pipe3D emission EWs are negative)",
        "sentinels": "±1.797e308, NaN and Pipe3D's 0 (not fitted) -> NaN",
    }
    return _ingest_maps(
        ssp,
        out,
        reader=reader,
        adjust=_pipe3d_adjust,
        kind="pipe3d",
        channels=PIPE3D_CHANNELS,
        units=PIPE3D_UNITS,
        channel_set="pipe3d-standard",
        catalog=catalog,
        grid=grid or MapGrid(),
        header_re=False,
        name=name,
        progress=progress,
        choices=choices,
        rep=rep,
    )


def ingest_manga_maps(
    files: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    catalog=None,
    grid: MapGrid | None = None,
    min_snr: float = 0.0,
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """MaNGA DAP MAPS → EW(Hα), Hα flux, stellar velocity and σ, D4000 (a channel set of its own).

    Rₑ, PA and b/a come from the catalog when given, else from the MAPS header (REFF,
    ECOOPA, ECOOELL), so the default grid is Rₑ-normalised.
    """
    from galexplore.data.readers.manga import MASK_BITS

    reader = functools.partial(read_manga_maps, min_snr=min_snr)
    choices = {
        "mask_bits": MASK_BITS,
        "min_snr": min_snr,
        "ivar": "IVAR <= 0 -> NaN",
        "note": ("MaNGA DAP has no age, metallicity or mass maps: this channel set differs from Pipe3D's"),
    }
    return _ingest_maps(
        files,
        out,
        reader=reader,
        adjust=None,
        kind="manga-maps",
        channels=MANGA_CHANNELS,
        units=MANGA_UNITS,
        channel_set="manga-dap",
        catalog=catalog,
        grid=grid or MapGrid(),
        header_re=True,
        name=name,
        progress=progress,
        choices=choices,
    )


__all__ = ["GEOMETRY_KEYS", "MapGrid", "ingest_manga_maps", "ingest_pipe3d"]
