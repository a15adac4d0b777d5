"""The survey store: one survey in one directory (DESIGN §2).

::

    SURVEY/
      survey.json        name, source, creation time, count, modalities, provenance, fingerprint
      catalog.parquet    one row per galaxy, ``galaxy_id`` unique
      maps.zarr/         group with ``data`` (N, C, H, W) float32, NaN where there is no data
      images.zarr/       group with ``data`` (N, B, H, W) float32, linear flux
      spectra.zarr/      group with ``data`` (N, L) and ``wavelength`` (L,)

Arrays are chunked along the galaxy axis and read lazily. This module reads a survey
(:class:`Survey`) and defines what every survey holds (:class:`ModalitySpec`, the catalog's
checks, the fingerprint); :mod:`galexplore.data.writer` writes one. File names are in
:class:`~galexplore.artifacts.paths.SurveyPaths`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from galexplore.artifacts.atomic import recover_directory
from galexplore.artifacts.paths import CATALOG, SURVEY_JSON, SurveyPaths
from galexplore.data.columns import STANDARD_COLUMNS, unit_of
from galexplore.errors import StoreError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: Galaxies per chunk along the first axis of every modality array.
DEFAULT_CHUNK = 32


@dataclass
class ModalitySpec:
    """What one modality holds, per galaxy.

    Parameters
    ----------
    name : str
        ``"maps"``, ``"images"`` or ``"spectra"`` (other names are allowed).
    shape : tuple of int
        Shape of one galaxy's array: (C, H, W) for maps and images, (L,) for spectra.
    channels : list of str
        Channel or band names, one per entry of ``shape[0]`` for maps and images;
        ``["flux"]`` for spectra.
    units : list of str
        Unit of each channel.
    grid : dict
        How pixels map to the sky or to the galaxy, e.g.
        ``{"kind": "re_normalised", "extent_re": 2.5}`` or
        ``{"kind": "arcsec", "pixel_arcsec": 0.262}``.
    """

    name: str
    shape: tuple[int, ...]
    channels: list[str]
    units: list[str]
    grid: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        self.channels = [str(c) for c in self.channels]
        self.units = [str(u) for u in self.units]
        if len(self.units) != len(self.channels):
            raise StoreError(
                f"modality {self.name!r}: {len(self.channels)} channels but {len(self.units)} units"
            )
        if len(self.shape) >= 2 and self.shape[0] != len(self.channels):
            raise StoreError(
                f"modality {self.name!r}: shape {self.shape} has {self.shape[0]} channels "
                f"but {len(self.channels)} channel names were given"
            )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ModalitySpec:
        return cls(**{k: d[k] for k in ("name", "shape", "channels", "units", "grid", "dtype") if k in d})


def fingerprint(galaxy_ids: Sequence[str], specs: Sequence[ModalitySpec]) -> str:
    """A short hash of the galaxy ids and the modality layout (not of pixel values).

    Two surveys with the same ids in the same order and the same channels share a
    fingerprint; a checkpoint records it to detect being applied to another survey.
    """
    h = hashlib.sha256()
    for gid in galaxy_ids:
        h.update(str(gid).encode())
        h.update(b"\0")
    for s in sorted(specs, key=lambda s: s.name):
        h.update(json.dumps([s.name, list(s.shape), s.channels], sort_keys=True).encode())
    return h.hexdigest()[:16]


def validate_catalog(catalog: pd.DataFrame, where: str) -> pd.DataFrame:
    """``catalog`` with unique, non-missing ``galaxy_id`` strings and a fresh index; a
    :class:`StoreError` naming ``where`` otherwise."""
    if "galaxy_id" not in catalog.columns:
        raise StoreError(f"{where}: catalog has no 'galaxy_id' column")
    ids = catalog["galaxy_id"]
    if ids.isna().any():
        raise StoreError(f"{where}: catalog has {int(ids.isna().sum())} missing galaxy_id values")
    ids = ids.astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise StoreError(f"{where}: galaxy_id is not unique ({len(dup)} duplicates, e.g. {dup.iloc[0]!r})")
    out = catalog.copy()
    out["galaxy_id"] = ids
    return out.reset_index(drop=True)


class Survey:
    """A survey on disk, opened read-only and validated.

    Parameters
    ----------
    path : path-like
        The survey directory.

    Raises
    ------
    StoreError
        If the directory is not a complete, consistent survey; the message says what is wrong.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.paths = SurveyPaths(self.path)
        recover_directory(self.path)
        meta_path = self.paths.meta
        if not self.path.is_dir():
            raise StoreError(f"{self.path}: no such survey directory")
        if not meta_path.is_file():
            raise StoreError(f"{self.path}: not a survey (no {SURVEY_JSON})")
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{meta_path}: corrupt survey metadata ({exc})") from exc
        for key in ("n_galaxies", "modalities"):
            if key not in self.meta:
                raise StoreError(f"{meta_path}: missing key {key!r}")
        self.modalities: dict[str, ModalitySpec] = {
            k: ModalitySpec.from_json(v) for k, v in self.meta["modalities"].items()
        }
        self._validate()

    # -- validation -------------------------------------------------------------------
    def _validate(self) -> None:
        n = self.n_galaxies
        cat = self.catalog  # reads and validates ids
        if len(cat) != n:
            raise StoreError(f"{self.paths.catalog}: {len(cat)} rows but survey.json says {n} galaxies")
        for name, spec in self.modalities.items():
            arr = self.array(name)
            if arr.shape[0] != n:
                raise StoreError(
                    f"{self.paths.modality(name)}: {arr.shape[0]} galaxies but the catalog has {n}"
                )
            if tuple(arr.shape[1:]) != spec.shape:
                raise StoreError(
                    f"{self.paths.modality(name)}: per-galaxy shape {tuple(arr.shape[1:])} "
                    f"!= {spec.shape} in survey.json"
                )
            stored = arr.attrs.get("channels")
            if stored is not None and list(stored) != spec.channels:
                raise StoreError(
                    f"{self.paths.modality(name)}: channels {list(stored)} != {spec.channels} in survey.json"
                )

    # -- properties -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.path.name))

    @property
    def n_galaxies(self) -> int:
        return int(self.meta["n_galaxies"])

    @property
    def fingerprint(self) -> str:
        return str(self.meta.get("fingerprint", ""))

    @cached_property
    def catalog(self) -> pd.DataFrame:
        """The catalog as a DataFrame, ``galaxy_id`` as strings, in store order."""
        path = self.paths.catalog
        if not path.is_file():
            raise StoreError(f"{self.path}: missing {CATALOG}")
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise StoreError(f"{path}: cannot read catalog ({type(exc).__name__}: {exc})") from exc
        return validate_catalog(df, str(path))

    @cached_property
    def index(self) -> pd.Index:
        """``galaxy_id`` → row position."""
        return pd.Index(self.catalog["galaxy_id"])

    def positions(self, galaxy_ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """Row positions of the given ids; raises :class:`StoreError` naming unknown ids."""
        pos = self.index.get_indexer(list(galaxy_ids))
        if (pos < 0).any():
            bad = [g for g, p in zip(galaxy_ids, pos, strict=True) if p < 0]
            raise StoreError(
                f"{self.path}: unknown galaxy_id {bad[0]!r}"
                + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else "")
            )
        return pos.astype(np.int64)

    def unit(self, column: str) -> str:
        return self.meta.get("columns", {}).get(column, unit_of(column))

    # -- arrays -----------------------------------------------------------------------
    def spec(self, name: str) -> ModalitySpec:
        """The :class:`ModalitySpec` of one modality; a clear error if the survey lacks it."""
        if name not in self.modalities:
            raise StoreError(
                f"{self.path}: survey has no modality {name!r} (it has {sorted(self.modalities) or 'none'})"
            )
        return self.modalities[name]

    def _group(self, name: str):
        import zarr

        self.spec(name)
        path = self.paths.modality(name)
        try:
            return zarr.open_group(path, mode="r")
        except Exception as exc:
            raise StoreError(f"{path}: cannot open array store ({type(exc).__name__}: {exc})") from exc

    def array(self, name: str):
        """The lazily read array of one modality (a ``zarr.Array``; index it to read)."""
        group = self._group(name)
        if "data" not in group:
            raise StoreError(f"{self.paths.modality(name)}: no 'data' array")
        return group["data"]

    def aux(self, name: str, key: str) -> np.ndarray:
        """A small array stored beside a modality, e.g. ``aux("spectra", "wavelength")``."""
        group = self._group(name)
        if key not in group:
            raise StoreError(f"{self.paths.modality(name)}: no {key!r} array")
        return np.asarray(group[key][...])

    def read(self, name: str, rows: npt.ArrayLike | slice) -> np.ndarray:
        """Read the given rows (positions or a slice) of one modality into memory.

        A corrupt or missing chunk raises :class:`StoreError` naming the store and the rows.
        """
        arr = self.array(name)
        try:
            if isinstance(rows, slice):
                return np.asarray(arr[rows])
            rows = np.asarray(rows, dtype=np.int64)
            if rows.size == 0:
                return np.empty((0, *arr.shape[1:]), dtype=arr.dtype)
            order = np.argsort(rows)
            out = np.empty((rows.size, *arr.shape[1:]), dtype=arr.dtype)
            out[order] = arr.get_orthogonal_selection((rows[order],))
            return out
        except (IndexError, StoreError):
            raise
        except Exception as exc:  # codecs and the store raise many types for damaged chunks
            what = f"rows {rows.start}:{rows.stop}" if isinstance(rows, slice) else f"{np.size(rows)} rows"
            raise StoreError(
                f"{self.paths.modality(name)}: cannot read {what} ({type(exc).__name__}: {exc})"
            ) from exc

    def channel_index(self, name: str, channel: str) -> int:
        spec = self.spec(name)
        if channel not in spec.channels:
            raise StoreError(f"{self.path}: {name} has no channel {channel!r} (it has {spec.channels})")
        return spec.channels.index(channel)

    def __repr__(self) -> str:
        mods = ", ".join(f"{k}{v.shape}" for k, v in self.modalities.items())
        return f"Survey({str(self.path)!r}, n={self.n_galaxies}, {mods})"


def open_survey(path: str | os.PathLike) -> Survey:
    """Open and validate a survey directory."""
    return Survey(path)


__all__ = [
    "ModalitySpec",
    "Survey",
    "STANDARD_COLUMNS",
    "fingerprint",
    "open_survey",
]
