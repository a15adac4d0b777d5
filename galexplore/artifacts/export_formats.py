"""The file formats of :mod:`galexplore.artifacts.export`: a DataFrame to an astropy Table with
column metadata, and that Table to FITS, VOTable or ECSV with provenance (astropy at the edge).

Every column that :func:`galexplore.data.column_meta.column_meta` knows gets its unit, its
description and its UCD; the others are written as they are. What each format keeps, read back
with ``astropy.table.Table.read``:

- **FITS**: ``TUNITn`` where FITS has the unit. Log units (``dex(solMass)``), which FITS lacks,
  go into astropy's serialized-column header with the descriptions and UCDs, so astropy reads
  them back. ``TCOMMn`` holds each description, plus the unit where ``TUNITn`` cannot, for
  other readers. The provenance is header cards (``GXSELECT`` …), in ``Table.read(...).meta``.
- **VOTable**: ``unit``, ``ucd`` and ``DESCRIPTION`` of each FIELD. Written as VOTable 1.3,
  whose units follow the CDS standard: log units are written ``[solMass]`` (VOUnit, the units
  of VOTable 1.4, has none) and Å ``Angstrom`` (deprecated in VOUnit). The provenance is
  ``INFO`` elements of the RESOURCE; ``Table.read`` drops those, but keeps the TABLE's ``name``
  (the file's name) and ``DESCRIPTION`` (the provenance as JSON) in ``meta``.
- **ECSV**: every unit, description and ``meta["ucd"]``; the provenance in ``meta["galexplore"]``.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from galexplore.data.column_meta import column_meta

#: The one astropy warning that FITS writing expects: a log unit has no ``TUNITn`` (it is kept
#: in the serialized-column header and in ``TCOMMn``).
_NOT_NATIVE_FITS = ".*could not be saved in native FITS format.*"
_TCOMM = re.compile(r"TCOMM\d+")


def to_astropy(df: pd.DataFrame):
    """``df`` as an astropy Table: units, descriptions and UCDs (``meta["ucd"]``) where known.

    Parameters
    ----------
    df : DataFrame
        One galaxy per row. Booleans stay booleans, other numbers become float64 or int64,
        everything else fixed-width text with missing values as ``""``.

    Returns
    -------
    astropy.table.Table
    """
    from astropy import units as u
    from astropy.table import Table

    table = Table()
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s.dtype):
            data = s.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            data = s.to_numpy(dtype=float if pd.api.types.is_float_dtype(s.dtype) else np.int64)
        else:  # strings, categories, objects: fixed-width text, missing as ""
            data = np.asarray(s.astype("string").fillna("").to_numpy(dtype=str))
        col = str(name)
        table[col] = data
        meta = column_meta(col)
        if meta is None:
            continue
        if meta.unit and data.dtype.kind in "fi":
            table[col].unit = u.Unit(meta.unit)
        if meta.description:
            table[col].description = meta.description
        if meta.ucd:
            table[col].meta["ucd"] = meta.ucd
    return table


def _fits_unit(unit) -> str | None:
    """The ``TUNITn`` string of ``unit``, or None where FITS has no such unit (log units)."""
    try:
        return unit.to_string("fits")
    except ValueError:
        return None


def write_fits(table, prov: Mapping[str, str], keys: Mapping[str, str], path: str | os.PathLike) -> None:
    """Write ``table`` as a FITS binary table with ``TCOMMn`` and provenance header cards.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`to_astropy`.
    prov : mapping of str to str
        Provenance; each value becomes a header card (long values continue over several cards).
    keys : mapping of str to str
        Provenance key → header keyword; other keys become their first 8 letters, upper case.
    path : path-like
        Output file.
    """
    from astropy.table import QTable

    # A QTable's units all go into astropy's serialized-column header, log units included, which
    # Table.read and QTable.read restore; TUNITn holds the units that FITS itself has.
    qtable = QTable(table, copy=False)
    qtable.meta = {}
    for i, name in enumerate(table.colnames, start=1):
        col = table[name]
        text = col.description or ""
        if col.unit is not None and _fits_unit(col.unit) is None:
            text = f"{text} [{col.unit.to_string()}]".strip()
        if text:  # not a column keyword to astropy: written from meta as it is
            qtable.meta[f"TCOMM{i}"] = text
    for key, value in prov.items():
        qtable.meta[keys.get(key, key.upper()[:8])] = value  # long values continue over cards
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_NOT_NATIVE_FITS)
        qtable.write(path, format="fits", overwrite=True)


def write_votable(table, prov: Mapping[str, str], path: str | os.PathLike, *, name: str) -> None:
    """Write ``table`` as a VOTable 1.3 with units, UCDs and descriptions on its FIELDs.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`to_astropy`.
    prov : mapping of str to str
        Provenance: one ``INFO`` element per key in the RESOURCE, and the TABLE's description
        (:func:`provenance_description`), which ``Table.read(..., format="votable")`` returns
        in ``meta["description"]`` (it drops the INFO elements).
    path : path-like
        Output file.
    name : str
        The TABLE's name (``Table.read(...).meta["name"]``).
    """
    from astropy import units as u
    from astropy.io.votable.tree import Info, Resource, TableElement, VOTableFile

    table = table.copy(copy_data=False)
    for col in table.itercols():
        if col.unit == u.dex:  # plain dex: the CDS standard writes it [-]
            col.unit = u.dex(u.one)
    vot = VOTableFile(version="1.3")  # CDS units: log units as [unit], which VOUnit lacks
    resource = Resource()
    vot.resources.append(resource)
    element = TableElement.from_table(vot, table)
    element.name = name
    element.description = provenance_description(prov)
    resource.tables.append(element)
    for key, value in prov.items():
        resource.infos.append(Info(name=key, value=value))
    vot.to_xml(str(path))


def provenance_description(prov: Mapping[str, str]) -> str:
    """A VOTable TABLE description that carries ``prov`` as JSON, whatever astropy does to it.

    astropy's writer wraps a DESCRIPTION at spaces, hyphens and within long words, so the JSON
    is written without spaces and hyphens (escaped as ``\\u0020`` and ``\\u002d``, all values
    being strings): :func:`provenance_from_description` removes every whitespace and reads it.
    """
    blob = json.dumps(dict(prov), sort_keys=True, separators=(",", ":"))
    blob = blob.replace(" ", "\\u0020").replace("-", "\\u002d")
    return f"Galaxies exported by galexplore. Provenance as JSON: {blob}"


def provenance_from_description(text: str | None) -> dict[str, str]:
    """The provenance of :func:`provenance_description` (``{}`` if ``text`` holds none)."""
    joined = "".join((text or "").split())
    start = joined.find("{")
    if start < 0:
        return {}
    try:
        prov = json.loads(joined[start:])
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in prov.items()} if isinstance(prov, dict) else {}


def write_ecsv(table, prov: Mapping[str, str], path: str | os.PathLike) -> None:
    """Write ``table`` as comma-separated ECSV with the provenance in ``meta["galexplore"]``."""
    table = table.copy(copy_data=False)
    table.meta["galexplore"] = dict(prov)
    table.write(path, format="ascii.ecsv", delimiter=",", overwrite=True)


def read_table(path: Path, fmt: str, from_keywords: Mapping[str, str]):
    """Read a file of :func:`write_fits`, :func:`write_votable` or :func:`write_ecsv`.

    Returns
    -------
    table : astropy.table.Table
        With units, descriptions and UCDs (``meta["ucd"]``) of the columns.
    provenance : dict of str to str
    """
    from astropy.table import Table

    if fmt == "fits":
        table = Table.read(path, format="fits")
        for key in [k for k in table.meta if _TCOMM.fullmatch(k)]:  # already column descriptions
            del table.meta[key]
        return table, {from_keywords[k]: str(v) for k, v in table.meta.items() if k in from_keywords}
    if fmt == "votable":
        from astropy import units as u
        from astropy.io.votable import parse

        vot = parse(str(path))
        infos = vot.resources[0].infos if vot.resources else []
        table = vot.get_first_table().to_table()
        for col in table.itercols():
            if col.unit is not None and col.unit == u.dex:  # CDS [-] reads as dex(---): the same
                col.unit = u.dex
        return table, {info.name: str(info.value) for info in infos}
    table = Table.read(path, format="ascii.ecsv")
    return table, dict(table.meta.get("galexplore", {}))
