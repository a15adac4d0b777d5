"""The whole path on the built-in survey: synthesise → train → embed → project → cluster.

Used by ``galexplore demo``. Every stage writes its artifact atomically under one working
directory, and ``demo.json`` there records a fingerprint of each stage's inputs and output.
A second run verifies the fingerprints and reuses what is still valid, so it reaches the
dashboard in seconds; anything missing, changed or made with other settings is redone
(together with every later stage).

::

    WORKDIR/
      survey/        the synthetic survey (galexplore synth)
      run/           encoder.pt, train_log.csv, embeddings.parquet, projection.parquet, clusters/
      demo.json      stage → {"inputs": …, "output": …} fingerprints
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from galexplore.artifacts.atomic import write_json
from galexplore.artifacts.paths import RunPaths, SurveyPaths
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)

STAMP = "demo.json"
STAGES = ("synthesise", "train", "embed", "project", "cluster")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo; changing one redoes the stages that depend on it.

    Parameters
    ----------
    n : int
        Galaxies in the synthetic survey.
    seed : int
        Seed of the survey, the training, the projection and the clustering.
    epochs : int
        Training epochs of the maps encoder.
    n_clusters : int
        k of the k-means clustering saved in the run.
    device : {"auto", "cpu", "cuda"}
    """

    n: int = 1500
    seed: int = 0
    epochs: int = 3
    n_clusters: int = 5
    device: str = "auto"


@dataclass
class StageResult:
    name: str
    reused: bool
    seconds: float


def file_digest(path: Path) -> str:
    """SHA-256 (first 16 hex digits) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class Demo:
    """Run or reuse each stage of the demo in ``workdir``.

    Parameters
    ----------
    workdir : path-like
        Where the survey, the run and ``demo.json`` live.
    config : DemoConfig
    progress : callable, optional
        ``progress(done, total, stage)`` forwarded to every stage.
    """

    def __init__(
        self,
        workdir: str | os.PathLike,
        config: DemoConfig | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.config = config or DemoConfig()
        self.progress = progress
        self.survey_path = self.workdir / "survey"
        self.run_path = self.workdir / "run"
        self._stamp_path = self.workdir / STAMP
        self._stamp: dict[str, Any] = self._read_stamp()

    # -- fingerprints ------------------------------------------------------------------------
    def _read_stamp(self) -> dict[str, Any]:
        try:
            return json.loads(self._stamp_path.read_text())
        except (OSError, ValueError):
            return {}

    def _output_fingerprint(self, stage: str) -> str | None:
        """Fingerprint of a stage's artifact as it is on disk now (None if absent or unreadable)."""
        from galexplore.analysis.cluster_store import clustering_name

        paths = RunPaths.of(self.run_path)
        try:
            if stage == "synthesise":
                survey = SurveyPaths.of(self.survey_path)
                meta = json.loads(survey.meta.read_text())
                return f"{meta['fingerprint']}:{file_digest(survey.catalog)}"
            target = {
                "train": paths.encoder,
                "embed": paths.embeddings,
                "project": paths.projection,
                "cluster": paths.clustering(clustering_name("kmeans", self.config.n_clusters, "embedding")),
            }[stage]
            return file_digest(target)
        except (OSError, ValueError, KeyError):
            return None

    def _inputs(self, stage: str) -> dict[str, Any]:
        """What a stage's output depends on: its settings and the previous stage's output."""
        c = asdict(self.config)
        settings = {
            "synthesise": {"n": c["n"], "seed": c["seed"]},
            "train": {"epochs": c["epochs"], "seed": c["seed"], "modality": "maps"},
            "embed": {},
            "project": {"method": "umap", "seed": c["seed"]},
            "cluster": {"method": "kmeans", "k": c["n_clusters"], "seed": c["seed"]},
        }[stage]
        i = STAGES.index(stage)
        previous = self._stamp.get(STAGES[i - 1], {}).get("output") if i else None
        return {"settings": settings, "previous": previous}

    def is_current(self, stage: str) -> bool:
        """True if the stage's recorded output is on disk, unchanged, and made from the current inputs."""
        rec = self._stamp.get(stage)
        if not rec or rec.get("inputs") != self._inputs(stage):
            return False
        return rec.get("output") is not None and rec["output"] == self._output_fingerprint(stage)

    def _record(self, stage: str) -> None:
        inputs = self._inputs(stage)
        self._stamp[stage] = {"inputs": inputs, "output": self._output_fingerprint(stage)}
        for later in STAGES[STAGES.index(stage) + 1 :]:
            self._stamp.pop(later, None)
        write_json(self._stamp_path, self._stamp)

    # -- stages ------------------------------------------------------------------------------
    def _synthesise(self) -> None:
        from galexplore.data.synthetic import synthesize

        synthesize(self.config.n, self.survey_path, seed=self.config.seed, progress=self.progress)

    def _train(self) -> None:
        from galexplore.training import TrainConfig, train

        cfg = TrainConfig(
            modality="maps", epochs=self.config.epochs, seed=self.config.seed, device=self.config.device
        )
        train(self.survey_path, self.run_path, cfg, progress=self.progress)

    def _embed(self) -> None:
        from galexplore.embed import embed

        embed(self.survey_path, self.run_path, device=self.config.device, progress=self.progress)

    def _project(self) -> None:
        from galexplore.analysis.projection import project_run

        project_run(self.run_path, "umap", random_state=self.config.seed, progress=self.progress)

    def _cluster(self) -> None:
        from galexplore.analysis.cluster_store import cluster_run

        report(self.progress, 0, 1, "clustering")
        cluster_run(self.run_path, "kmeans", self.config.n_clusters, random_state=self.config.seed)
        report(self.progress, 1, 1, "clustering")

    def run(
        self, *, fresh: bool = False, on_stage: Callable[[StageResult], None] | None = None
    ) -> list[StageResult]:
        """Make every artifact, reusing the current ones unless ``fresh``.

        ``on_stage`` is called after each stage with what happened and how long it took.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        results, redo = [], fresh
        for stage in STAGES:
            t0 = time.perf_counter()
            reuse = not redo and self.is_current(stage)
            if not reuse:
                redo = True  # every later stage depends on this one
                log.info("demo: %s", stage)
                getattr(self, f"_{'synthesise' if stage == 'synthesise' else stage}")()
                self._record(stage)
            result = StageResult(stage, reuse, round(time.perf_counter() - t0, 3))
            results.append(result)
            if on_stage is not None:
                on_stage(result)
        return results
