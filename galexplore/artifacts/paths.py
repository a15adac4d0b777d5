"""Where every artifact lives: the file names of a survey (SURVEY/) and a run (RUN/), defined once.

::

    SURVEY/                      SurveyPaths
      survey.json                  .meta
      catalog.parquet              .catalog
      <modality>.zarr/             .modality("maps"), …
      ingest_report.json           .ingest_report

    RUN/                         RunPaths
      encoder.pt                   .encoder
      train_log.csv                .train_log
      embeddings.parquet           .embeddings     (a file, or a folder of part-NNNNN.parquet)
      projection.parquet           .projection     (idem)
      metrics.json, report/        .metrics, .report
      clusters/<name>.parquet      .clusters, .clustering(name)
      anomaly.parquet              .anomaly        (anomaly scores, cached)
      tags.parquet                 .tags           (user tags; tags.parquet.lock beside it)
      cache/                       .cache          (derived, safe to delete)

Pure :mod:`pathlib`: light enough for the command line's ``--help``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SURVEY_JSON = "survey.json"
CATALOG = "catalog.parquet"
INGEST_REPORT = "ingest_report.json"
#: The files of a partitioned Parquet artifact (written by the Dask paths and the map table).
PART_GLOB = "part-*.parquet"


def part_file(folder: str | os.PathLike, index: int) -> Path:
    """``folder/part-NNNNN.parquet``: part ``index`` of a partitioned Parquet artifact."""
    return Path(folder) / f"part-{int(index):05d}.parquet"


@dataclass(frozen=True)
class SurveyPaths:
    """Standard paths inside a survey directory (DESIGN §2)."""

    root: Path

    @classmethod
    def of(cls, survey: str | os.PathLike) -> SurveyPaths:
        return cls(Path(survey))

    @property
    def meta(self) -> Path:
        """``survey.json``: name, source, count, modalities, provenance, fingerprint."""
        return self.root / SURVEY_JSON

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG

    @property
    def ingest_report(self) -> Path:
        return self.root / INGEST_REPORT

    def modality(self, name: str) -> Path:
        """The chunked array store of one modality, e.g. ``maps.zarr``."""
        return self.root / f"{name}.zarr"


@dataclass(frozen=True)
class RunPaths:
    """Standard artifact paths inside a run directory (DESIGN §2)."""

    root: Path

    @classmethod
    def of(cls, run: str | os.PathLike) -> RunPaths:
        return cls(Path(run))

    @property
    def encoder(self) -> Path:
        return self.root / "encoder.pt"

    @property
    def train_log(self) -> Path:
        return self.root / "train_log.csv"

    @property
    def embeddings(self) -> Path:
        return self.root / "embeddings.parquet"

    @property
    def projection(self) -> Path:
        return self.root / "projection.parquet"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def clusters(self) -> Path:
        return self.root / "clusters"

    def clustering(self, name: str) -> Path:
        """One saved clustering, ``clusters/<name>.parquet``."""
        return self.clusters / f"{name}.parquet"

    @property
    def anomaly(self) -> Path:
        """Anomaly score of every galaxy (derived from the embeddings, recomputed when stale)."""
        return self.root / "anomaly.parquet"

    @property
    def tags(self) -> Path:
        """User tags: ``galaxy_id``, ``tag``, ``created`` (UTC); merged, never lost."""
        return self.root / "tags.parquet"

    @property
    def cache(self) -> Path:
        """Derived data (cached projections, reference profiles, the map table): safe to delete."""
        return self.root / "cache"
