"""Join a property catalog onto a survey's catalog, by id or by sky position.

Rows of the survey stay as they are (same galaxies, same order), so the modality arrays stay
aligned. For every matched galaxy, columns the survey lacks are added; columns it has are
filled where the survey's value is missing (or replaced with ``overwrite=True``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from galexplore.data.columns import sf_class
from galexplore.errors import GalexploreError

log = logging.getLogger(__name__)


@dataclass
class JoinResult:
    """The joined table and what happened."""

    table: pd.DataFrame
    method: str
    n_matched: int
    n_survey: int
    n_catalog: int
    radius_arcsec: float | None = None

    def summary(self) -> str:
        how = self.method + (
            f" within {self.radius_arcsec:g} arcsec" if self.radius_arcsec is not None else ""
        )
        return f"matched {self.n_matched} of {self.n_survey} survey galaxies by {how} ({self.n_catalog} catalog rows)"


def normalise_id(values: pd.Series) -> pd.Series:
    """Ids as compared: upper case, whitespace removed (``"NGC 4047"`` matches ``"ngc4047"``)."""
    return values.astype(str).map(lambda s: re.sub(r"[\s]+", "", s).upper())


def match_by_id(survey_ids: pd.Series, catalog_ids: pd.Series) -> np.ndarray:
    """Row of ``catalog_ids`` matching each survey id (−1 where none); first duplicate wins."""
    cat = normalise_id(catalog_ids)
    first = pd.Series(np.arange(len(cat)), index=cat.to_numpy())
    first = first[~first.index.duplicated(keep="first")]
    return first.reindex(normalise_id(survey_ids).to_numpy()).fillna(-1).to_numpy(dtype=np.int64)


def match_by_sky(survey: pd.DataFrame, catalog: pd.DataFrame, radius) -> tuple[np.ndarray, np.ndarray]:
    """Nearest catalog row within ``radius`` (an astropy angle Quantity) of each survey galaxy.

    Returns the row indices (−1 where none) and the separations in arcsec.
    """
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    if not isinstance(radius, u.Quantity) or not radius.unit.is_equivalent(u.deg):
        raise GalexploreError(f"match radius must be an angle Quantity (e.g. 3 * u.arcsec), got {radius!r}")
    for name, df in (("survey", survey), ("catalog", catalog)):
        if not {"ra", "dec"} <= set(df.columns):
            raise GalexploreError(
                f"the {name} has no ra/dec columns, so it cannot be matched by sky position"
            )
    idx = np.full(len(survey), -1, dtype=np.int64)
    sep = np.full(len(survey), np.nan)
    s_ok = survey["ra"].notna().to_numpy() & survey["dec"].notna().to_numpy()
    c_ok = np.flatnonzero(catalog["ra"].notna().to_numpy() & catalog["dec"].notna().to_numpy())
    if not s_ok.any() or not c_ok.size:
        return idx, sep
    sc = SkyCoord(
        survey.loc[s_ok, "ra"].to_numpy(float) * u.deg, survey.loc[s_ok, "dec"].to_numpy(float) * u.deg
    )
    cc = SkyCoord(catalog["ra"].to_numpy(float)[c_ok] * u.deg, catalog["dec"].to_numpy(float)[c_ok] * u.deg)
    nearest, d2d, _ = sc.match_to_catalog_sky(cc)
    hit = d2d < radius
    rows = np.flatnonzero(s_ok)
    idx[rows[hit]] = c_ok[nearest[hit]]
    sep[rows] = d2d.to_value(u.arcsec)
    return idx, np.where(idx >= 0, sep, np.nan)


def join_catalog(
    survey: pd.DataFrame, catalog: pd.DataFrame, *, on: str = "auto", radius=None, overwrite: bool = False
) -> JoinResult:
    """Join ``catalog`` onto ``survey`` (both with ``galaxy_id``); see module doc.

    Parameters
    ----------
    on : {"auto", "id", "sky"}
        ``auto`` uses ids when any match, else sky positions.
    radius : astropy.units.Quantity, optional
        Sky match radius (default 3 arcsec).
    overwrite : bool
        Replace the survey's existing values with the catalog's where both exist.
    """
    from astropy import units as u

    radius = 3 * u.arcsec if radius is None else radius
    if on not in ("auto", "id", "sky"):
        raise GalexploreError(f"join method must be auto, id or sky, got {on!r}")
    sep = None
    idx = match_by_id(survey["galaxy_id"], catalog["galaxy_id"]) if on in ("auto", "id") else None
    method = "id"
    if on == "sky" or (
        on == "auto" and (idx < 0).all() and {"ra", "dec"} <= set(catalog.columns) & set(survey.columns)
    ):
        idx, sep = match_by_sky(survey, catalog, radius)
        method = "sky position"
    matched = idx >= 0
    picked = catalog.drop(columns=["galaxy_id"]).iloc[np.where(matched, idx, 0)].reset_index(drop=True)
    if (~matched).any() and len(picked.columns):
        picked = picked.astype(
            {c: float for c in picked.columns if pd.api.types.is_integer_dtype(picked[c].dtype)}
        )
        picked.loc[~matched, :] = np.nan
    out = survey.reset_index(drop=True).copy()
    for col in [c for c in picked.columns if c in out.columns]:
        incoming = picked[col]
        if overwrite:
            out[col] = incoming.where(pd.Series(matched), out[col])
        else:
            out[col] = out[col].where(out[col].notna(), incoming)
    out = pd.concat([out, picked[[c for c in picked.columns if c not in out.columns]]], axis=1).copy()
    if sep is not None:
        out["match_sep_arcsec"] = sep
    if "log_sfr" in out and "log_mstar" in out:
        ssfr = out["log_sfr"] - out["log_mstar"]
        out["log_ssfr"] = (
            ssfr
            if "log_ssfr" not in out or overwrite
            else out["log_ssfr"].where(out["log_ssfr"].notna(), ssfr)
        )
    if "ew_ha" in out:
        cls = pd.Series(sf_class(pd.to_numeric(out["ew_ha"], errors="coerce").to_numpy(float)), dtype=object)
        out["sf_class"] = (
            cls if "sf_class" not in out or overwrite else out["sf_class"].where(out["sf_class"].notna(), cls)
        )
    r = radius.to_value(u.arcsec) if method == "sky position" else None
    return JoinResult(out, method, int(matched.sum()), len(survey), len(catalog), r)


__all__ = ["JoinResult", "join_catalog", "match_by_id", "match_by_sky", "normalise_id"]
