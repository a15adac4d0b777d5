"""Export a selection of galaxies to CSV, FITS or VOTable, with provenance (astropy at the edge).

Every exported table carries where it came from, so a file found on a disk a year later still
says which encoder, which projection and which selection produced it:

============================  ==========  ===================================================
provenance key                FITS card   meaning
============================  ==========  ===================================================
``galexplore_version``        GXVERS      version that wrote the file
``created``                   GXDATE      UTC time of writing (ISO 8601)
``run``                       GXRUN       run directory
``survey``                    GXSURVEY    survey directory (when known)
``survey_fingerprint``        GXSURVFP    fingerprint of the survey
``encoder_fingerprint``       GXENCFP     fingerprint of the encoder that made the embeddings
``embedding_fingerprint``     GXEMBFP     hash of the exact embedding vectors
``projection``                GXPROJ      projection parameters (JSON)
``selection``                 GXSELECT    how the rows were chosen, in words
``n_rows``                    GXNROWS     number of galaxies
============================  ==========  ===================================================

CSV is written as ECSV with a comma delimiter: a plain CSV with ``#`` header lines (pandas
reads it with ``comment="#"``) whose YAML header astropy reads back with units and metadata.
FITS keeps the provenance as header cards (long values continue over several cards), VOTable
as ``INFO`` elements. Every column of the catalog contract carries its unit (log quantities in
astropy's ``dex`` units), description and UCD (:mod:`galexplore.data.column_meta`; what each
format keeps: :mod:`galexplore.artifacts.export_formats`). :func:`read_export` reads any of
them back into a Table and the provenance mapping; :func:`export_filename` names a file after
its survey and selection.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galexplore import __version__
from galexplore.artifacts.atomic import atomic_file
from galexplore.artifacts.export_formats import (
    provenance_from_description,
    read_table,
    to_astropy,
    write_ecsv,
    write_fits,
    write_votable,
)
from galexplore.errors import GalexploreError, InputFileError

FORMATS = ("csv", "fits", "votable")
#: The suffix a file of each format gets when no name is given (the dashboard's downloads).
DEFAULT_SUFFIX = {"csv": ".csv", "fits": ".fits", "votable": ".vot"}
SUFFIXES = {
    ".csv": "csv",
    ".ecsv": "csv",
    ".fits": "fits",
    ".fit": "fits",
    ".fits.gz": "fits",
    ".vot": "votable",
    ".xml": "votable",
    ".votable": "votable",
}
#: Provenance key → FITS header keyword (8 characters at most).
FITS_KEYS = {
    "galexplore_version": "GXVERS",
    "created": "GXDATE",
    "run": "GXRUN",
    "survey": "GXSURVEY",
    "survey_fingerprint": "GXSURVFP",
    "encoder_fingerprint": "GXENCFP",
    "embedding_fingerprint": "GXEMBFP",
    "projection": "GXPROJ",
    "selection": "GXSELECT",
    "n_rows": "GXNROWS",
}
_FROM_FITS = {v: k for k, v in FITS_KEYS.items()}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RUNS = re.compile(r"[._-]{2,}")  # "a - b" → "a-b", "../.." → "-"


def infer_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The export format named by ``format`` or by the file's suffix."""
    if format is not None:
        if format not in FORMATS:
            raise GalexploreError(f"unknown export format {format!r} (choose from {', '.join(FORMATS)})")
        return format
    name = str(path).lower()
    for suffix, fmt in sorted(SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise GalexploreError(
        f"{path}: cannot tell the export format from the suffix (use .csv, .fits or .vot, or give a format)"
    )


def provenance_of(run: str | os.PathLike, *, selection: str, survey: Any = None) -> dict[str, str]:
    """Provenance of a run's products: encoder and embedding fingerprints, projection parameters.

    Parameters
    ----------
    run : path-like
        Run directory (embeddings are required, the projection is optional).
    selection : str
        How the exported rows were chosen, in words.
    survey : Survey, optional
        Adds the survey path and fingerprint.
    """
    from galexplore.analysis.projection import embedding_fingerprint
    from galexplore.artifacts.paths import RunPaths
    from galexplore.artifacts.provenance import encoder_fingerprint
    from galexplore.artifacts.runs import read_embeddings, read_projection

    emb = read_embeddings(run)
    prov: dict[str, str] = {"run": str(Path(run).resolve()), "selection": selection}
    prov["encoder_fingerprint"] = encoder_fingerprint(run, emb.metadata) or "unknown"
    vec = np.concatenate([emb.vectors[m] for m in emb.modalities], axis=1)
    prov["embedding_fingerprint"] = embedding_fingerprint(emb.galaxy_ids, vec)
    if RunPaths.of(run).projection.is_file():
        _, params = read_projection(run)
        prov["projection"] = json.dumps(params, sort_keys=True, default=str)
    else:
        prov["projection"] = "none"
    if survey is not None:
        prov["survey"] = str(Path(survey.path).resolve())
        prov["survey_fingerprint"] = str(survey.fingerprint or "unknown")
    return prov


def export_table(
    rows: pd.DataFrame,
    path: str | os.PathLike,
    provenance: Mapping[str, Any],
    *,
    format: str | None = None,
    name: str | None = None,
) -> Path:
    """Write ``rows`` (one galaxy per row) with ``provenance`` atomically.

    Parameters
    ----------
    rows : DataFrame
        The galaxies to export (catalog columns, projection ``x``/``y``, cluster, …).
    path : path-like
        Output file; replaced atomically.
    provenance : mapping
        Keys of :data:`FITS_KEYS` (others are kept too in CSV and VOTable); values become text.
    format : {"csv", "fits", "votable"}, optional
        Default: from the file suffix.
    name : str, optional
        The table's name in a VOTable (its TABLE ``name``); default: the file name without
        its suffix.
    """
    fmt = infer_format(path, format)
    path = Path(path)
    table = to_astropy(rows)
    prov = {
        "galexplore_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **{str(k): str(v) for k, v in provenance.items()},
        "n_rows": str(len(rows)),
    }
    with atomic_file(path) as tmp:
        if fmt == "fits":
            write_fits(table, prov, FITS_KEYS, tmp)
        elif fmt == "votable":
            write_votable(table, prov, tmp, name=name or _stem(path))
        else:
            write_ecsv(table, prov, tmp)
    return path


def read_export(path: str | os.PathLike, format: str | None = None):
    """Read an exported table back: ``(astropy.table.Table, provenance dict)``.

    The Table has the units, descriptions and UCDs (``column.meta["ucd"]``) that were written.
    """
    from astropy.units import UnitsWarning

    fmt = infer_format(path, format)
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        with warnings.catch_warnings():
            # older exports were VOTable 1.4 with 'Angstrom', which VOUnit deprecates
            warnings.simplefilter("ignore", UnitsWarning)
            table, prov = read_table(path, fmt, _FROM_FITS)
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"cannot read as {fmt} ({type(exc).__name__}: {exc})") from exc
    return table, prov


def provenance_from_meta(meta: Mapping[str, Any]) -> dict[str, str]:
    """The provenance in the ``meta`` of an export read with plain ``astropy.table.Table.read``.

    Parameters
    ----------
    meta : mapping
        ``Table.read(path).meta`` of a CSV (ECSV), FITS or VOTable export.

    Returns
    -------
    dict of str to str
        Provenance key → value: from ``meta["galexplore"]`` (ECSV), from the header cards of
        :data:`FITS_KEYS` (FITS) or from the TABLE description (VOTable); ``{}`` if none.
    """
    if isinstance(meta.get("galexplore"), Mapping):
        return {str(k): str(v) for k, v in meta["galexplore"].items()}
    cards = {_FROM_FITS[k]: str(v) for k, v in meta.items() if k in _FROM_FITS}
    return cards or provenance_from_description(meta.get("description"))


def export_filename(survey: str | None, selection: str | None, format: str) -> str:
    """A download's file name, ``<survey>_<selection>.<ext>``, e.g. ``synthetic_lasso-62.fits``.

    Parameters
    ----------
    survey : str or None
        Survey name (``Survey.name``); None gives ``galexplore``.
    selection : str or None
        The selection in a few words, e.g. ``"lasso-62"``; None gives ``selection``.
    format : {"csv", "fits", "votable"}
        Gives the suffix (:data:`DEFAULT_SUFFIX`).

    Returns
    -------
    str
        Only letters, digits, ``.``, ``_`` and ``-``: every other run of characters, and every
        run of punctuation, becomes one ``-``; each part is cut to 60 characters.
    """
    infer_format("", format)
    parts = [_safe(survey, "galexplore"), _safe(selection, "selection")]
    return "_".join(parts) + DEFAULT_SUFFIX[format]


def _stem(path: Path) -> str:
    """The file name without its export suffix (``a.b_lasso-3.fits.gz`` → ``a.b_lasso-3``)."""
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _safe(text: str | None, default: str) -> str:
    safe = _RUNS.sub("-", _UNSAFE.sub("-", text or "")).strip("-._")[:60].rstrip("-._")
    return safe or default


def selection_rows(
    run: str | os.PathLike,
    galaxy_ids: list[str],
    *,
    survey: Any = None,
    clusters: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The rows to export for ``galaxy_ids``: catalog columns, projection ``x``/``y``, cluster.

    Parameters
    ----------
    run : path-like
        Run directory; its projection (if any) adds ``x`` and ``y``.
    galaxy_ids : list of str
        The selected galaxies, in output order.
    survey : Survey, optional
        Adds every catalog column.
    clusters : DataFrame, optional
        ``galaxy_id`` and ``cluster`` of a clustering (adds ``cluster``).
    """
    from galexplore.artifacts.paths import RunPaths
    from galexplore.artifacts.runs import read_projection

    rows = pd.DataFrame({"galaxy_id": [str(g) for g in galaxy_ids]})
    if survey is not None:
        rows = rows.merge(survey.catalog, on="galaxy_id", how="left", validate="one_to_one")
    if RunPaths.of(run).projection.is_file():
        proj, _ = read_projection(run)
        rows = rows.merge(proj[["galaxy_id", "x", "y"]], on="galaxy_id", how="left", validate="one_to_one")
    if clusters is not None:
        rows = rows.merge(
            clusters[["galaxy_id", "cluster"]], on="galaxy_id", how="left", validate="one_to_one"
        )
    return rows


def export_selection(
    run: str | os.PathLike,
    path: str | os.PathLike,
    *,
    galaxies: list[str] | None = None,
    clusters: list[int] | None = None,
    clustering: str | None = None,
    survey: Any = None,
    format: str | None = None,
    selection: str | None = None,
) -> Path:
    """Export chosen galaxies, or whole clusters, of a run with provenance.

    Parameters
    ----------
    run : path-like
        Run directory with embeddings.
    path : path-like
        Output file (.csv, .fits or .vot unless ``format`` is given).
    galaxies : list of str, optional
        Galaxy ids to export (exactly one of ``galaxies`` and ``clusters``).
    clusters : list of int, optional
        Cluster labels of a saved clustering (see :mod:`galexplore.analysis.cluster_store`).
    clustering : str, optional
        Name of the saved clustering (default: the most recent one).
    survey : Survey, optional
        Adds the catalog columns and the survey provenance.
    selection : str, optional
        How the selection was made, in words (default: described from the arguments,
        e.g. ``"clusters [1] of kmeans_k3_embedding (kmeans, k=3, space=embedding)"``).
    """
    from galexplore.analysis.cluster_store import load_clusters
    from galexplore.artifacts.runs import read_embeddings

    if (galaxies is None) == (clusters is None):
        raise GalexploreError("export needs either galaxy ids or cluster labels (not both)")
    ids_all = read_embeddings(run).galaxy_ids.astype(str)
    labels = None
    if clusters is not None:
        result = load_clusters(run, clustering)
        labels = result.labels
        wanted = labels["cluster"].isin([int(c) for c in clusters])
        absent = sorted(set(int(c) for c in clusters) - set(labels["cluster"].unique().tolist()))
        if absent:
            raise GalexploreError(
                f"cluster {absent[0]} not in clustering {result.params.get('name')!r} "
                f"(it has {sorted(labels['cluster'].unique().tolist())})"
            )
        ids = labels.loc[wanted, "galaxy_id"].astype(str).tolist()
        p = result.params
        desc = (
            f"clusters {sorted(int(c) for c in clusters)} of {p.get('name')} "
            f"({p.get('method')}, k={p.get('n_clusters')}, space={p.get('space')}, seed={p.get('random_state')})"
        )
    else:
        ids = list(dict.fromkeys(str(g) for g in galaxies))
        unknown = sorted(set(ids) - set(ids_all))
        if unknown:
            raise GalexploreError(f"unknown galaxy_id {unknown[0]!r} (not in {run}'s embeddings)")
        desc = f"{len(ids)} galaxies chosen by id"
    prov = provenance_of(run, selection=selection or desc, survey=survey)
    return export_table(selection_rows(run, ids, survey=survey, clusters=labels), path, prov, format=format)
