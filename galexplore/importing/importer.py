"""``import_embeddings``: vectors from any model → ``RUN/embeddings.parquet`` of a survey.

The run it writes is a normal run: ``project``, ``cluster``, ``search``, ``export`` and ``serve``
read it as they read one made by ``embed``. The vectors are copied bit for bit (float32 input
stays float32; other number types are cast to float32 and the file records it). Nothing is
written unless the whole file is good: duplicate ids, a row without a vector, vectors of unequal
length, NaN or inf, and all-zero vectors are refused, naming the id (or the row, counted from 0).
Rows whose galaxy is not in the survey are skipped and counted.

Memory: each modality's vectors are read block by block into one float32 array (the file is
never held twice), checked block by block, and written in row groups of 64k rows, so the peak is
about the vectors' own size plus a few blocks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from galexplore import __version__
from galexplore._io import check_writable
from galexplore.data.readers.batch import file_record
from galexplore.data.store import Survey, open_survey
from galexplore.embedding_checks import BLOCK_ROWS, VectorScan, describe_row
from galexplore.errors import InputFileError
from galexplore.importing.match import RowMatch, file_ids, match_rows
from galexplore.importing.sources import BadRow, VectorColumn, VectorSource, open_source
from galexplore.progress import ProgressCallback, report
from galexplore.runs import RunPaths, write_embeddings

log = logging.getLogger(__name__)

#: Rows per row group of the written file (bounds the writer's buffer: 256 MB at D = 1,024).
ROW_GROUP = 1 << 16


@dataclass
class ImportResult:
    """What :func:`import_embeddings` wrote and what it skipped."""

    path: Path
    n_rows: int
    n_imported: int
    match: RowMatch
    dims: dict[str, int]
    skipped_examples: list[str] = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        return self.n_rows - self.n_imported

    def summary(self) -> str:
        dims = ", ".join(f"emb_{m} {d}-d" for m, d in self.dims.items())
        how = self.match.method + (f" within {self.match.radius_arcsec:g} arcsec" if self.match.radius_arcsec is not None else "")
        text = f"imported {self.n_imported} of {self.n_rows} rows ({dims}), matched by {how}"
        if self.n_skipped:
            text += f"; skipped {self.n_skipped} rows whose galaxy is not in the survey (e.g. {', '.join(self.skipped_examples)})"
        return text


def read_vectors(source: VectorSource, name: str, col: VectorColumn, ids: np.ndarray | None, *,
                 progress: ProgressCallback | None = None, done: int = 0, total: int | None = None) -> np.ndarray:  # fmt: skip
    """All rows of one vector column as a checked (N, D) float32 array (see module doc)."""
    out = np.empty((source.n_rows, col.dim), dtype=np.float32)
    scan, pos = VectorScan(), 0
    try:
        for block in col.blocks(BLOCK_ROWS):
            if block.ndim != 2 or block.shape[1] != col.dim:
                raise BadRow(pos, f"{block.shape[-1]} values where the first row has {col.dim} (ragged lengths)")
            if pos + len(block) > source.n_rows:
                raise InputFileError(source.path, f"column {col.column} has more rows than the file's {source.n_rows}")
            out[pos : pos + len(block)] = block
            scan.update(out[pos : pos + len(block)])
            pos += len(block)
            report(progress, done + pos, total, "importing")
    except BadRow as bad:
        raise InputFileError(source.path, f"column {col.column}: {describe_row(bad.row, ids)}: {bad.what}") from None
    if pos != source.n_rows:
        raise InputFileError(source.path, f"column {col.column} has {pos} rows, the file {source.n_rows}")
    if scan.first_nonfinite >= 0:
        raise InputFileError(source.path, f"column {col.column}: NaN or inf in the vector of {describe_row(scan.first_nonfinite, ids)}")
    if scan.first_all_zero >= 0:
        raise InputFileError(source.path, f"column {col.column}: the vector of {describe_row(scan.first_all_zero, ids)} "
                                          "is all zeros (a placeholder, not an embedding)")  # fmt: skip
    return out


def keep_rows(arr: np.ndarray, keep: np.ndarray, *, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """``arr[keep]`` for increasing ``keep``, computed in place block by block (no full copy)."""
    if len(keep) == len(arr):
        return arr
    for start in range(0, len(keep), block_rows):
        stop = min(start + block_rows, len(keep))
        arr[start:stop] = arr[keep[start:stop]]  # keep[i] >= i: reads never hit rows already overwritten
    return arr[: len(keep)]


def import_embeddings(
    path: str | os.PathLike,
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    *,
    id_column: str | None = None,
    vector_columns: Sequence[str] = (),
    ids_file: str | os.PathLike | None = None,
    match_radius_arcsec: float = 1.0,
    model_name: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Import the vectors in ``path`` as the embeddings of ``run`` for ``survey``.

    Parameters
    ----------
    path : path-like
        Parquet (a list / fixed-size-list column per modality, or one column per dimension),
        CSV, FITS or ECSV table, HDF5, or NumPy ``.npy`` (N, D) with ``ids_file``.
    survey : Survey or path
        The survey whose galaxies the vectors describe (a catalog-only survey is enough).
    run : path-like
        Run directory; ``RUN/embeddings.parquet`` is written atomically.
    id_column : str, optional
        The column of galaxy ids (default: ``galaxy_id``, ``id``, ``name``, ``objid``, …).
    vector_columns : sequence of str
        Vector columns to import, each ``COL`` or ``COL=MODALITY`` (default: every list column,
        else every group of ≥ 8 one-per-dimension columns). Each becomes ``emb_<modality>``.
    ids_file : path-like, optional
        The row ids of a ``.npy`` file: one per line (``.txt``), a ``.npy``, or a table with an
        id column or ra/dec.
    match_radius_arcsec : float
        Sky-match radius [arcsec], used when no id matches.
    model_name : str, optional
        The model that made the vectors (e.g. ``AstroCLIP``), recorded as provenance.
    progress : callable, optional

    Returns
    -------
    ImportResult
    """
    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    out = check_writable(RunPaths.of(run).embeddings)
    try:
        source = open_source(path, id_column=id_column, vector_columns=vector_columns, ids_file=ids_file)
    except BadRow as bad:
        raise InputFileError(path, f"row {bad.row}: {bad.what}") from None
    match = match_rows(source, survey, radius_arcsec=match_radius_arcsec)
    keep = np.flatnonzero(match.rows >= 0)
    if not len(keep):
        raise InputFileError(source.path, f"no row matches a galaxy of {survey.path} ({match.summary()})")
    ids = file_ids(source)
    total = source.n_rows * len(source.vectors)
    vectors = {}
    for i, (name, col) in enumerate(source.vectors.items()):
        arr = read_vectors(source, name, col, ids, progress=progress, done=i * source.n_rows, total=total)
        vectors[name] = keep_rows(arr, keep)
    galaxy_ids = survey.catalog["galaxy_id"].to_numpy()[match.rows[keep]]
    meta = provenance(source, survey, match, model_name, len(keep))
    write_embeddings(run, galaxy_ids.tolist(), vectors, meta, row_group_size=ROW_GROUP)
    skipped = np.flatnonzero(match.rows < 0)[:3]
    examples = [describe_row(int(r), ids) for r in skipped]
    result = ImportResult(out, source.n_rows, len(keep), match, {m: v.shape[1] for m, v in vectors.items()}, examples)
    log.info("%s → %s: %s", source.path, out, result.summary())
    return result


def provenance(source: VectorSource, survey: Survey, match: RowMatch, model_name: str | None, n_imported: int) -> dict[str, Any]:
    """What ``embeddings.parquet`` records about an import."""
    record = file_record(source.path)
    return {
        "source": "import",
        "model_name": model_name or "unknown",
        "file": record,
        "format": source.format,
        "columns": {m: c.column for m, c in source.vectors.items()},
        "input_dtypes": {m: c.dtype for m, c in source.vectors.items()},
        "id_column": source.key_columns.id,
        "matched_by": match.method,
        "match_radius_arcsec": match.radius_arcsec,
        "n_rows": source.n_rows,
        "n_imported": n_imported,
        "n_skipped": source.n_rows - n_imported,
        "survey": str(survey.path),
        "survey_fingerprint": survey.fingerprint,
        "encoder_fingerprint": "import-" + record["sha256"][:24],
        "imported": datetime.now(UTC).isoformat(timespec="seconds"),
        "galexplore_version": __version__,
    }


__all__ = ["ImportResult", "import_embeddings", "keep_rows", "provenance", "read_vectors"]
