"""Match the rows of an imported file to the galaxies of a survey: by id, else by sky position.

Ids are compared as strings, exactly first; when none matches exactly, as
:func:`~galexplore.data.readers.join.normalise_id` writes them (``"NGC 4047"`` = ``"ngc4047"``).
When no id matches (or the file has none), each row's RA/Dec is matched to the nearest survey
galaxy within the radius (astropy ``SkyCoord.match_to_catalog_sky``). A galaxy may receive only
one row: two rows on one galaxy is an error naming both, never a silent choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from galexplore.data.readers.join import normalise_id
from galexplore.data.store import Survey
from galexplore.embedding_checks import duplicated_id
from galexplore.errors import GalexploreError, InputFileError
from galexplore.importing.sources import VectorSource


@dataclass
class RowMatch:
    """Survey row of each file row (−1: not in the survey) and how it was found."""

    rows: np.ndarray
    method: str
    radius_arcsec: float | None = None

    @property
    def n_matched(self) -> int:
        return int((self.rows >= 0).sum())

    def summary(self) -> str:
        how = self.method + (
            f" within {self.radius_arcsec:g} arcsec" if self.radius_arcsec is not None else ""
        )
        return f"{self.n_matched} of {len(self.rows)} rows matched by {how}"


def file_ids(source: VectorSource) -> np.ndarray | None:
    """The file's own ids as stripped strings (None if it has no id column)."""
    col = source.key_columns.id
    if col is None:
        return None
    return source.keys[col].astype(str).str.strip().to_numpy(dtype=object)


def match_rows(source: VectorSource, survey: Survey, *, radius_arcsec: float = 1.0) -> RowMatch:
    """Match every row of ``source`` to ``survey`` (see module doc)."""
    ids = file_ids(source)
    if ids is not None:
        dup = duplicated_id(ids)
        if dup is not None:
            raise InputFileError(
                source.path, f"id {dup!r} occurs more than once in column {source.key_columns.id!r}"
            )
        rows = survey.index.get_indexer(pd.Index(ids))
        method = "galaxy_id"
        if (rows < 0).all():
            rows, method = _by_normalised_id(ids, survey), "galaxy_id (case and spaces ignored)"
            _refuse_shared_galaxies(
                source, survey, rows, "match it when case and spaces are ignored: remove one"
            )
        if (rows >= 0).any():
            return RowMatch(rows.astype(np.int64), method)
    kc = source.key_columns
    if kc.ra is None or kc.dec is None:
        if ids is None:
            raise InputFileError(
                source.path,
                "no id column (galaxy_id, id, name, objid, targetid …; or --id-column) "
                "and no ra/dec columns to match the survey by",
            )
        raise InputFileError(
            source.path,
            f"none of its {len(ids)} ids is a galaxy of {survey.path} (e.g. {ids[0]!r}), "
            "and it has no ra/dec columns to match by sky position",
        )
    return _by_sky(source, survey, radius_arcsec)


def _by_normalised_id(ids: np.ndarray, survey: Survey) -> np.ndarray:
    norm = normalise_id(survey.catalog["galaxy_id"])
    if norm.duplicated().any():
        return np.full(len(ids), -1, dtype=np.int64)
    return pd.Index(norm.to_numpy()).get_indexer(normalise_id(pd.Series(ids)).to_numpy())


def _by_sky(source: VectorSource, survey: Survey, radius_arcsec: float) -> RowMatch:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    cat = survey.catalog
    if not {"ra", "dec"} <= set(cat.columns):
        raise GalexploreError(
            f"{survey.path}: the survey catalog has no ra/dec, so {source.path} cannot be matched by sky position"
        )
    ra = pd.to_numeric(source.keys[source.key_columns.ra], errors="coerce").to_numpy(float)
    dec = pd.to_numeric(source.keys[source.key_columns.dec], errors="coerce").to_numpy(float)
    s_ra, s_dec = cat["ra"].to_numpy(float), cat["dec"].to_numpy(float)
    rows = np.full(len(ra), -1, dtype=np.int64)
    ok, s_ok = np.isfinite(ra) & np.isfinite(dec), np.flatnonzero(np.isfinite(s_ra) & np.isfinite(s_dec))
    if ok.any() and s_ok.size:
        near, sep, _ = SkyCoord(ra[ok] * u.deg, dec[ok] * u.deg).match_to_catalog_sky(
            SkyCoord(s_ra[s_ok] * u.deg, s_dec[s_ok] * u.deg)
        )
        hit = sep.to_value(u.arcsec) < radius_arcsec
        rows[np.flatnonzero(ok)[hit]] = s_ok[near[hit]]
    _refuse_shared_galaxies(
        source,
        survey,
        rows,
        f"lie within {radius_arcsec:g} arcsec of it: "
        "a galaxy takes one vector "
        "(use a smaller --match-radius or remove one)",
    )
    return RowMatch(rows, "sky position", radius_arcsec)


def _refuse_shared_galaxies(source: VectorSource, survey: Survey, rows: np.ndarray, why: str) -> None:
    """One line naming two file rows that matched the same survey galaxy, and ``why``."""
    hit = rows[rows >= 0]
    if len(np.unique(hit)) == len(hit):
        return
    dup_row = int(pd.Series(hit).duplicated().to_numpy().nonzero()[0][0])
    galaxy = int(hit[dup_row])
    both = np.flatnonzero(rows == galaxy)[:2]
    gid = survey.catalog["galaxy_id"].iloc[galaxy]
    raise InputFileError(source.path, f"rows {both[0]} and {both[1]} both match galaxy {gid!r}: they {why}")


__all__ = ["RowMatch", "file_ids", "match_rows"]
