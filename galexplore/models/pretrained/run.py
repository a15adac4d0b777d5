"""Embed a survey with a pretrained encoder: the survey's modality → the model → ``RUN/embeddings.parquet``.

The run it writes is a normal run (``emb_<modality>``, one row per galaxy of the survey); its
metadata names the model, the weights file and its SHA-256, the preprocessing and the package
versions, so downstream stages and exports say where the vectors came from.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from galexplore import __version__
from galexplore.artifacts.atomic import check_writable
from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import write_embeddings
from galexplore.data.readers.batch import file_record
from galexplore.data.store import Survey, open_survey
from galexplore.errors import GalexploreError
from galexplore.models.pretrained import aion_model, astropt_model, timm_models  # noqa: F401 - they register
from galexplore.models.pretrained.base import ADAPTERS, PretrainedEncoder
from galexplore.progress import ProgressCallback, report

log = logging.getLogger(__name__)


def parse_name(name: str) -> PretrainedEncoder:
    """``family:variant`` → its adapter (not loaded yet)."""
    family, sep, variant = name.partition(":")
    if not sep or not variant.strip():
        raise GalexploreError(
            f"--pretrained {name!r}: expected FAMILY:NAME, e.g. timm:resnet50, zoobot:convnext_nano, "
            "astropt:095M, aion:base"
        )
    if family not in ADAPTERS:
        raise GalexploreError(
            f"--pretrained {name!r}: unknown family {family!r} (known: {', '.join(sorted(ADAPTERS))})"
        )
    return ADAPTERS[family](variant.strip())


def embed_survey(
    encoder: PretrainedEncoder,
    survey: Survey,
    *,
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Vectors (N, D) float32 of every galaxy of ``survey`` from a loaded encoder, in batches."""
    spec = survey.spec(encoder.modality)
    n = survey.n_galaxies
    out: list[np.ndarray] = []
    for start in range(0, n, batch_size):
        batch = survey.read(encoder.modality, slice(start, min(start + batch_size, n)))
        out.append(np.asarray(encoder.embed(batch, spec), dtype=np.float32))
        report(progress, min(start + batch_size, n), n, f"embedding with {encoder.name}")
    return np.concatenate(out) if out else np.empty((0, 0), np.float32)


def package_versions(encoder: PretrainedEncoder) -> dict[str, str]:
    out = {}
    for name in encoder.packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def embed_pretrained(
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    name: str,
    *,
    weights: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str = "auto",
    progress: ProgressCallback | None = None,
) -> Path:
    """Embed every galaxy of ``survey`` with the pretrained encoder ``name`` into ``run``.

    Parameters
    ----------
    survey : Survey or path
    run : path-like
        Run directory (created); ``RUN/embeddings.parquet`` is written atomically.
    name : str
        ``timm:<arch>``, ``zoobot:<name>``, ``astropt:<size>`` or ``aion:<size>``.
    weights : path-like, optional
        A weights file or folder; default: the Hugging Face cache (or a download when online).
    batch_size : int
        Galaxies per forward pass (the vectors do not depend on it).
    device : {"auto", "cpu", "cuda"}
    progress : callable, optional

    Returns
    -------
    Path
        ``RUN/embeddings.parquet`` with one column ``emb_<modality>`` (e.g. ``emb_images``).
    """
    from galexplore.training.setup import resolve_device

    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    encoder = parse_name(name)
    encoder.check(survey.spec(encoder.modality))
    check_writable(RunPaths.of(run).embeddings)
    encoder.load(weights, resolve_device(device))
    vectors = embed_survey(encoder, survey, batch_size=batch_size, progress=progress)
    path = write_embeddings(
        run,
        survey.catalog["galaxy_id"].tolist(),
        {encoder.modality: vectors},
        provenance(encoder, survey, batch_size),
    )
    log.info("wrote %s (%s, %d-d)", path, encoder.name, vectors.shape[1])
    return path


def provenance(encoder: PretrainedEncoder, survey: Survey, batch_size: int) -> dict[str, Any]:
    """What ``embeddings.parquet`` records about a pretrained embedding."""
    record = file_record(encoder.weights_file) if encoder.weights_file is not None else {}
    return {
        "source": "pretrained",
        "model_name": encoder.name,
        "model_family": encoder.family,
        "weights": record,
        "preprocessing": encoder.preprocessing(),
        "packages": package_versions(encoder),
        "survey": str(survey.path),
        "survey_fingerprint": survey.fingerprint,
        "encoder_fingerprint": f"pretrained-{encoder.name}-" + record.get("sha256", "")[:24],
        "batch_size": batch_size,
        "embedded": datetime.now(UTC).isoformat(timespec="seconds"),
        "galexplore_version": __version__,
    }


__all__ = ["embed_pretrained", "embed_survey", "parse_name", "provenance"]
