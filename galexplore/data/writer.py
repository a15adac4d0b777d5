"""Writing a survey (DESIGN §2): block by block with :class:`SurveyWriter`, or at once.

A survey is written into a temporary directory and renamed into place only when complete, so
a reader (:class:`~galexplore.data.store.Survey`) never sees half a survey. The layout and the
checks are :mod:`galexplore.data.store`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from galexplore import __version__
from galexplore.artifacts.atomic import atomic_directory, atomic_file, write_json
from galexplore.artifacts.paths import SurveyPaths
from galexplore.data.columns import unit_of
from galexplore.data.store import (
    DEFAULT_CHUNK,
    FORMAT_VERSION,
    ModalitySpec,
    Survey,
    fingerprint,
    validate_catalog,
)
from galexplore.errors import StoreError


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
        catalog = validate_catalog(self._catalog, str(self.path))
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


def write_catalog(survey: Survey | str | os.PathLike, catalog: pd.DataFrame) -> Survey:
    """Replace the catalog of an existing survey atomically (same galaxies, same order).

    New columns are allowed; ``galaxy_id`` must match the survey's ids row by row so that
    the modality arrays stay aligned. ``survey.json`` is updated afterwards.
    """
    survey = survey if isinstance(survey, Survey) else Survey(survey)
    catalog = validate_catalog(catalog, str(survey.paths.catalog))
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


__all__ = ["SurveyWriter", "write_catalog", "write_survey"]
