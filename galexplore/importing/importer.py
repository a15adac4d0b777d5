"""``import_embeddings``: vectors from any model → ``RUN/embeddings.parquet`` of a survey.

The run it writes is a normal run: ``project``, ``cluster``, ``search``, ``export`` and ``serve``
read it as they read one made by ``embed``. The vectors are copied bit for bit (float32 input
stays float32; other number types are cast to float32 and the file records it). Nothing is
written unless the whole file is good: duplicate ids, a row without a vector, vectors of unequal
length, NaN or inf, and all-zero vectors are refused, naming the id (or the row, counted from 0).
Rows whose galaxy is not in the survey are skipped and counted.

Memory: the file is streamed. Blocks of rows (about 32 MB of vectors, every modality in step)
are read, checked and written as one row group each into a temporary file, which replaces
``embeddings.parquet`` only when the last block has passed; the vectors are never all in memory
(the ids and the row match are: tens of bytes a row).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from galexplore import __version__
from galexplore.artifacts.atomic import check_writable
from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import embeddings_writer
from galexplore.data.readers.batch import file_record
from galexplore.data.store import Survey, open_survey
from galexplore.embedding_checks import BadRow, VectorScan, block_rows, describe_row
from galexplore.errors import InputFileError
from galexplore.importing.match import RowMatch, file_ids, match_rows
from galexplore.importing.sources import VectorColumn, VectorSource, open_source
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)


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
        how = self.match.method + (
            f" within {self.match.radius_arcsec:g} arcsec" if self.match.radius_arcsec is not None else ""
        )
        text = f"imported {self.n_imported} of {self.n_rows} rows ({dims}), matched by {how}"
        if self.n_skipped:
            text += (
                f"; skipped {self.n_skipped} rows whose galaxy is not in the survey "
                f"(e.g. {', '.join(self.skipped_examples)})"
            )
        return text


def checked_blocks(
    source: VectorSource, col: VectorColumn, rows: int, ids: np.ndarray | None
) -> Iterator[np.ndarray]:
    """The rows of one vector column in blocks of exactly ``rows`` rows (the last may be shorter),
    as (n, D) float32, each checked: :class:`InputFileError` names the file, the column and the
    first id (or row) without a vector, of another length, with NaN or inf, or all zeros."""
    scan, pos = VectorScan(), 0
    try:
        for block in _exactly(col.blocks(rows), rows):
            if block.ndim != 2 or block.shape[1] != col.dim:
                raise BadRow(
                    pos, f"{block.shape[-1]} values where the first row has {col.dim} (ragged lengths)"
                )
            if pos + len(block) > source.n_rows:
                raise InputFileError(
                    source.path, f"column {col.column} has more rows than the file's {source.n_rows}"
                )
            block = block.astype(np.float32, copy=False)
            scan.update(block)
            if scan.first_nonfinite >= 0:
                raise InputFileError(
                    source.path,
                    f"column {col.column}: NaN or inf in the vector of "
                    f"{describe_row(scan.first_nonfinite, ids)}",
                )
            if scan.first_all_zero >= 0:
                raise InputFileError(
                    source.path,
                    f"column {col.column}: the vector of "
                    f"{describe_row(scan.first_all_zero, ids)} "
                    "is all zeros (a placeholder, not an embedding)",
                )
            pos += len(block)
            yield block
    except BadRow as bad:
        raise InputFileError(
            source.path, f"column {col.column}: {describe_row(bad.row, ids)}: {bad.what}"
        ) from None
    if pos != source.n_rows:
        raise InputFileError(source.path, f"column {col.column} has {pos} rows, the file {source.n_rows}")


def _exactly(blocks: Iterator[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """The same rows re-cut into blocks of exactly ``rows`` (the last may be shorter), so that
    several columns advance in step; blocks that already have the size pass without a copy."""
    pending: list[np.ndarray] = []
    have = 0
    for block in blocks:
        if not pending and len(block) == rows:
            yield block
            continue
        if pending and block.shape[1:] != pending[0].shape[1:]:
            yield from pending  # a ragged block: let the caller's check name it
            pending, have = [], 0
        pending.append(block)
        have += len(block)
        while have >= rows:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield joined[:rows]
            pending, have = ([joined[rows:]] if have > rows else []), have - rows
    if have:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


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
    galaxy_ids = survey.catalog["galaxy_id"].to_numpy()[match.rows[keep]]
    rows = block_rows(max(c.dim for c in source.vectors.values()))
    dims = {name: col.dim for name, col in source.vectors.items()}
    streams = {name: checked_blocks(source, col, rows, ids) for name, col in source.vectors.items()}
    done, kept = 0, 0
    with embeddings_writer(run, dims, provenance(source, survey, match, model_name, len(keep))) as writer:
        for blocks in zip(*streams.values(), strict=False):
            n = len(blocks[0])
            take = match.rows[done : done + n] >= 0
            k = int(take.sum())
            vecs = {
                m: b if k == n else b[take] for m, b in zip(streams, blocks, strict=True)
            }  # no copy when every row is kept
            writer.write(galaxy_ids[kept : kept + k], vecs)
            done, kept = done + n, kept + k
            report(progress, done, source.n_rows, "importing")
        for stream in streams.values():  # every column ends with the file (checks their row counts)
            next(stream, None)
    skipped = np.flatnonzero(match.rows < 0)[:3]
    examples = [describe_row(int(r), ids) for r in skipped]
    result = ImportResult(out, source.n_rows, len(keep), match, dims, examples)
    log.info("%s → %s: %s", source.path, out, result.summary())
    return result


def provenance(
    source: VectorSource, survey: Survey, match: RowMatch, model_name: str | None, n_imported: int
) -> dict[str, Any]:
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


__all__ = ["ImportResult", "checked_blocks", "import_embeddings", "provenance"]
