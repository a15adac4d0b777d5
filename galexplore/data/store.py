"""The survey store: one survey in one directory (DESIGN §2).

::

    SURVEY/
      survey.json        name, source, creation time, count, modalities, provenance, fingerprint
      catalog.parquet    one row per galaxy, ``galaxy_id`` unique
      maps.zarr/         group with ``data`` (N, C, H, W) float32, NaN where there is no data
      images.zarr/       group with ``data`` (N, B, H, W) float32, linear flux
      spectra.zarr/      group with ``data`` (N, L) and ``wavelength`` (L,)

Arrays are chunked along the galaxy axis and read lazily. A survey is written by
:class:`SurveyWriter` into a temporary directory and renamed into place only when complete,
so a reader never sees half a survey.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from galexplore import __version__
from galexplore.artifacts.atomic import atomic_directory, atomic_file, recover_directory, write_json
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


def _validate_catalog(catalog: pd.DataFrame, where: str) -> pd.DataFrame:
    if "galaxy_id" not in catalog.columns:
        raise StoreError(f"{where}: catalog has no 'galaxy_id' column")
    ids = catalog["galaxy_id"]
    if ids.isna().any():
        raise StoreError(f"{where}: catalog has {int(ids.isna().sum())} missing galaxy_id values")
    ids = ids.astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise StoreError(
            f"{where}: galaxy_id is not unique ({len(dup)} duplicates, e.g. {dup.iloc[0]!r})"
        )
    out = catalog.copy()
    out["galaxy_id"] = ids
    return out.reset_index(drop=True)


class SurveyWriter:
    """Write a survey atomically, block by block.

    Examples
    --------
    >>> with SurveyWriter("SURVEY", name="demo", source="synthetic", n_galaxies=n) as w:
    ...     w.add_modality(ModalitySpec("maps", (5, 64, 64), channels, units))
    ...     for start, block in blocks:
    ...         w.write("maps", start, block)
    ...     w.set_catalog(catalog)                                   # doctest: +SKIP

    Nothing appears at ``SURVEY`` unless the ``with`` block completes; an existing survey
    there is replaced only then.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        name: str,
        source: str,
        n_galaxies: int,
        provenance: Mapping[str, Any] | None = None,
        chunk: int = DEFAULT_CHUNK,
    ) -> None:
        self.path = Path(path)
        self.name = name
        self.source = source
        self.n_galaxies = int(n_galaxies)
        self.provenance: dict[str, Any] = dict(provenance or {})
        self.chunk = int(chunk)
        self._specs: dict[str, ModalitySpec] = {}
        self._arrays: dict[str, Any] = {}
        self._groups: dict[str, Any] = {}
        self._catalog: pd.DataFrame | None = None
        self._ctx = None
        self._tmp: Path | None = None

    def __enter__(self) -> SurveyWriter:
        self._ctx = atomic_directory(self.path)
        self._tmp = self._ctx.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        assert self._ctx is not None
        if exc_type is None:
            try:
                self._finish()
            except BaseException as err:
                self._ctx.__exit__(type(err), err, err.__traceback__)
                raise
        return self._ctx.__exit__(exc_type, exc, tb)

    def add_modality(self, spec: ModalitySpec, *, chunk: int | None = None) -> None:
        """Create the chunked array of one modality, filled with NaN."""
        import zarr
        from zarr.codecs import BloscCodec

        assert self._tmp is not None, "use SurveyWriter as a context manager"
        group = zarr.open_group(SurveyPaths(self._tmp).modality(spec.name), mode="w")
        c = chunk or self.chunk
        arr = group.create_array(
            "data",
            shape=(self.n_galaxies, *spec.shape),
            chunks=(min(c, max(self.n_galaxies, 1)), *spec.shape),
            dtype=spec.dtype,
            fill_value=np.nan,
            compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")],
        )
        arr.attrs.update(spec.to_json())
        self._specs[spec.name] = spec
        self._arrays[spec.name] = arr
        self._groups[spec.name] = group

    def add_aux(self, modality: str, key: str, values: npt.ArrayLike) -> None:
        """Store a small array beside a modality, e.g. the spectra's ``wavelength`` grid."""
        values = np.asarray(values)
        arr = self._groups[modality].create_array(key, shape=values.shape, dtype=values.dtype)
        arr[...] = values

    def write(self, modality: str, start: int, block: npt.ArrayLike) -> None:
        """Write galaxies ``start : start + len(block)`` of one modality."""
        block = np.asarray(block, dtype=self._specs[modality].dtype)
        expected = self._specs[modality].shape
        if block.shape[1:] != expected:
            raise StoreError(f"modality {modality!r}: block shape {block.shape[1:]} != {expected}")
        self._arrays[modality][start : start + len(block)] = block

    def set_catalog(self, catalog: pd.DataFrame) -> None:
        """Set the catalog; validated when the survey is finished."""
        self._catalog = catalog

    def _finish(self) -> None:
        assert self._tmp is not None
        if self._catalog is None:
            raise StoreError(f"{self.path}: no catalog was set")
        catalog = _validate_catalog(self._catalog, str(self.path))
        if len(catalog) != self.n_galaxies:
            raise StoreError(
                f"{self.path}: catalog has {len(catalog)} rows but {self.n_galaxies} galaxies were declared"
            )
        catalog.to_parquet(SurveyPaths(self._tmp).catalog, index=False)
        specs = list(self._specs.values())
        meta = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "source": self.source,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "galexplore_version": __version__,
            "n_galaxies": self.n_galaxies,
            "fingerprint": fingerprint(catalog["galaxy_id"].tolist(), specs),
            "columns": {c: unit_of(c) for c in catalog.columns if unit_of(c)},
            "modalities": {s.name: s.to_json() for s in specs},
            "provenance": self.provenance,
        }
        write_json(SurveyPaths(self._tmp).meta, meta)


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
            raise StoreError(
                f"{self.paths.catalog}: {len(cat)} rows but survey.json says {n} galaxies"
            )
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
        return _validate_catalog(df, str(path))

    @cached_property
    def index(self) -> pd.Index:
        """``galaxy_id`` → row position."""
        return pd.Index(self.catalog["galaxy_id"])

    def positions(self, galaxy_ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """Row positions of the given ids; raises :class:`StoreError` naming unknown ids."""
        pos = self.index.get_indexer(list(galaxy_ids))
        if (pos < 0).any():
            bad = [g for g, p in zip(galaxy_ids, pos, strict=True) if p < 0]
            raise StoreError(f"{self.path}: unknown galaxy_id {bad[0]!r}" + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""))
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


def write_catalog(survey: Survey | str | os.PathLike, catalog: pd.DataFrame) -> Survey:
    """Replace the catalog of an existing survey atomically (same galaxies, same order).

    New columns are allowed; ``galaxy_id`` must match the survey's ids row by row so that
    the modality arrays stay aligned. ``survey.json`` is updated afterwards.
    """
    survey = survey if isinstance(survey, Survey) else Survey(survey)
    catalog = _validate_catalog(catalog, str(survey.paths.catalog))
    if not catalog["galaxy_id"].equals(survey.catalog["galaxy_id"]):
        raise StoreError(f"{survey.path}: the new catalog's galaxy_id column does not match the survey's")
    with atomic_file(survey.paths.catalog) as tmp:
        catalog.to_parquet(tmp, index=False)
    meta = dict(survey.meta)
    meta["columns"] = {c: unit_of(c) for c in catalog.columns if unit_of(c)}
    write_json(survey.paths.meta, meta)
    return Survey(survey.path)


def write_survey(
    path: str | os.PathLike,
    catalog: pd.DataFrame,
    arrays: Mapping[str, tuple[npt.ArrayLike, ModalitySpec]] | None = None,
    *,
    name: str,
    source: str,
    provenance: Mapping[str, Any] | None = None,
    aux: Mapping[str, Mapping[str, npt.ArrayLike]] | None = None,
) -> Survey:
    """Write a whole in-memory survey at once (small surveys, tests, ingest)."""
    with SurveyWriter(path, name=name, source=source, n_galaxies=len(catalog), provenance=provenance) as w:
        for arr, spec in (arrays or {}).values():
            w.add_modality(spec)
            w.write(spec.name, 0, arr)
            for key, values in (aux or {}).get(spec.name, {}).items():
                w.add_aux(spec.name, key, values)
        w.set_catalog(catalog)
    return Survey(path)


__all__ = [
    "ModalitySpec",
    "Survey",
    "SurveyWriter",
    "STANDARD_COLUMNS",
    "fingerprint",
    "open_survey",
    "write_catalog",
    "write_survey",
]
