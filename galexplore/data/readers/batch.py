"""Batch machinery shared by the ingest kinds: skip-and-report, provenance, catalog look-ups.

A bad input never stops a batch: :func:`read_each` records it in an :class:`IngestReport`
with a one-line reason naming the file, and raises only when nothing at all could be read.
:func:`finish` joins the optional catalog, writes the survey atomically and then
``SURVEY/ingest_report.json``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore.artifacts.atomic import write_json
from galexplore.data.readers.catalogs import Catalog, read_catalog
from galexplore.data.readers.join import join_catalog, match_by_id, match_by_sky
from galexplore.data.store import Survey
from galexplore.data.writer import write_survey
from galexplore.errors import GalexploreError, InputFileError
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

PACKAGES = ("galexplore", "numpy", "scipy", "pandas", "astropy", "h5py", "zarr", "pillow")
#: Errors that mean "this input is bad", turned into a skip; anything else is a bug.
INPUT_ERRORS = (GalexploreError, OSError, ValueError, KeyError, IndexError, TypeError)


@dataclass
class IngestReport:
    """What a batch read: files read, files skipped (with reasons) and warnings."""

    kind: str
    read: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def skip(self, item: object, exc: BaseException | str) -> None:
        if isinstance(exc, InputFileError):
            reason = exc.reason
        elif isinstance(exc, GalexploreError) or not isinstance(exc, BaseException):
            reason = " ".join(str(exc).split())
        else:
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        self.skipped.append({"file": str(item), "reason": reason})
        log.info("skipped %s: %s", item, reason)

    def warn(self, item: object, message: str) -> None:
        self.warnings.append({"file": str(item), "warning": message})

    def lines(self) -> list[str]:
        """One line per skipped file and per warning, each naming the file."""
        return [f"skipped {s['file']}: {s['reason']}" for s in self.skipped] + [
            f"warning {w['file']}: {w['warning']}" for w in self.warnings
        ]


@dataclass
class IngestResult:
    survey: Survey
    report: IngestReport


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def file_record(path: str | os.PathLike) -> dict[str, Any]:
    """Path, size and SHA-256 of a source file, for provenance."""
    p = Path(path)
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"path": str(p.resolve()), "bytes": p.stat().st_size, "sha256": h.hexdigest()}


def read_each(
    items: Sequence, read_one: Callable, rep: IngestReport, progress: ProgressCallback | None, stage: str
) -> list:
    """``read_one(item)`` for every item; bad inputs are skipped into ``rep``. Flattens lists."""
    out = []
    for i, item in enumerate(items):
        try:
            got = read_one(item)
        except INPUT_ERRORS as exc:
            rep.skip(item, exc)
        else:
            out.extend(got if isinstance(got, list) else [got])
            rep.read.append(str(item))
        report(progress, i + 1, len(items), stage)
    if not out:
        first = rep.skipped[0] if rep.skipped else {"file": "", "reason": "no input files"}
        raise GalexploreError(
            f"nothing could be read ({len(rep.skipped)} input(s) failed; first: {first['file']}: {first['reason']})"
        )
    return out


def dedupe(records: list, key: Callable[[Any], str], rep: IngestReport) -> list:
    """Drop records whose galaxy id was already seen, reporting each."""
    seen: dict[str, str] = {}
    out = []
    for r in records:
        gid, src = key(r), getattr(r, "source", "")
        if gid in seen:
            rep.skip(src, f"duplicate galaxy_id {gid!r} (already read from {seen[gid]})")
            continue
        seen[gid] = src
        out.append(r)
    return out


def finish(
    out,
    rep: IngestReport,
    catalog_table: pd.DataFrame,
    arrays: dict,
    *,
    name: str | None,
    source: str,
    provenance: dict,
    catalog: Catalog | None,
    aux: dict | None = None,
) -> IngestResult:
    """Join the optional catalog, write the survey and its ingest report."""
    if catalog is not None:
        joined = join_catalog(catalog_table, catalog.table, on="auto")
        catalog_table = joined.table
        provenance["catalog"] = {
            "file": file_record(catalog.source),
            "layout": catalog.layout,
            "conversions": catalog.conversions,
            "join": joined.summary(),
        }
        if joined.n_matched < joined.n_survey:
            rep.warn(catalog.source, f"{joined.n_survey - joined.n_matched} galaxies have no catalog row")
    provenance.update(
        packages=package_versions(), sources=[file_record(f) for f in rep.read], skipped=rep.skipped
    )
    survey = write_survey(
        out, catalog_table, arrays, name=name or Path(out).name, source=source, provenance=provenance, aux=aux
    )
    write_json(survey.paths.ingest_report, asdict(rep))
    return IngestResult(survey, rep)


def load_catalog(path: str | os.PathLike | None) -> Catalog | None:
    """The ``--catalog`` of a map/image ingest, standardised; a bad one is a hard error."""
    return read_catalog(path) if path is not None else None


def catalog_row(
    catalog: Catalog | None, gid: str, ra: float | None, dec: float | None, radius_arcsec: float = 3.0
) -> dict:
    """The catalog's row for one galaxy (by id, else by sky position), as a dict; {} if none."""
    if catalog is None:
        return {}
    t = catalog.table
    i = int(match_by_id(pd.Series([gid]), t["galaxy_id"])[0])
    if i < 0 and ra is not None and dec is not None and {"ra", "dec"} <= set(t.columns):
        from astropy import units as u

        i = int(match_by_sky(pd.DataFrame({"ra": [ra], "dec": [dec]}), t, radius_arcsec * u.arcsec)[0][0])
    return {} if i < 0 else t.iloc[i].to_dict()


def finite_or_none(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def grid_choice(grid: str, has_re: bool) -> str:
    """``auto`` → ``re`` when Rₑ is available (catalog or file), else ``arcsec``."""
    if grid not in ("auto", "re", "arcsec"):
        raise GalexploreError(f"grid must be auto, re or arcsec, got {grid!r}")
    return ("re" if has_re else "arcsec") if grid == "auto" else grid


def maps_grid_json(
    kind: str, size: int, extent_re: float, extent_arcsec: float, align: bool, deproject: bool
) -> dict:
    note = "pixel centres span ±extent·(1−1/size); x to the west, y to the north (row 0 north)"
    if kind == "re":
        return {
            "kind": "re_normalised",
            "extent_re": extent_re,
            "size": size,
            "note": note,
            "aligned_major_axis": align,
            "deprojected": deproject,
        }
    return {
        "kind": "arcsec",
        "extent_arcsec": extent_arcsec,
        "size": size,
        "pixel_arcsec": 2 * extent_arcsec / size,
        "note": note,
    }


__all__ = [
    "INPUT_ERRORS",
    "IngestReport",
    "IngestResult",
    "catalog_row",
    "dedupe",
    "file_record",
    "finish",
    "finite_or_none",
    "grid_choice",
    "load_catalog",
    "maps_grid_json",
    "package_versions",
    "read_each",
]
