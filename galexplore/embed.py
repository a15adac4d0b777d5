"""Embed a survey with a trained encoder: ``RUN/encoder.pt`` → ``RUN/embeddings.parquet``.

A run can embed a survey other than the one it was trained on (a pretrained encoder applied
to new data) as long as the channels or bands and the array shapes match; otherwise the error
says which. A survey with the same layout but other galaxies only draws a warning.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from galexplore.artifacts.runs import write_embeddings
from galexplore.data.store import Survey, open_survey
from galexplore.errors import StoreError
from galexplore.models.factory import build_model
from galexplore.progress import ProgressCallback, report
from galexplore.training.checkpoint import load_checkpoint
from galexplore.training.setup import ViewMaker, input_pooling, resolve_device

log = logging.getLogger(__name__)


class SurveyMismatchWarning(UserWarning):
    """The survey being embedded is not the one the encoder was trained on (same layout)."""


def load_model(
    run: str | os.PathLike, *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model of a run, in eval mode on ``device``, and its checkpoint dict."""
    ckpt = load_checkpoint(run)
    model = build_model(ckpt["model_config"], ckpt["normalisation"])
    model.load_state_dict(ckpt["model"])
    device = resolve_device(device) if isinstance(device, str) else device
    return model.to(device).eval(), ckpt


def check_compatible(survey: Survey, ckpt: Mapping[str, Any], run: str | os.PathLike = "") -> None:
    """Raise :class:`StoreError` if the survey cannot feed the encoder; warn if it is another survey."""
    trained = ckpt["survey"]
    for m, want in trained["inputs"].items():
        if m not in survey.modalities:
            raise StoreError(
                f"{survey.path}: the encoder in {run} needs modality {m!r}, which this survey lacks "
                f"(it has {sorted(survey.modalities) or 'none'})"
            )
        spec = survey.spec(m)
        if list(spec.channels) != list(want["channels"]):
            what = "bands" if m == "images" else "channels"
            raise StoreError(
                f"{survey.path}: {m} {what} {spec.channels} do not match the {what} {want['channels']} "
                f"the encoder in {run} was trained on"
            )
        if list(spec.shape) != list(want["shape"]):
            raise StoreError(
                f"{survey.path}: {m} per-galaxy shape {list(spec.shape)} does not match {want['shape']} "
                f"of the encoder in {run}"
            )
    if trained.get("fingerprint") and trained["fingerprint"] != survey.fingerprint:
        warnings.warn(
            f"{survey.path}: embedding with an encoder trained on another survey "
            f"({trained.get('name')}, fingerprint {trained['fingerprint']}); channels and shapes match",
            SurveyMismatchWarning,
            stacklevel=3,
        )


@torch.no_grad()
def embed_arrays(
    model: nn.Module,
    arrays: Mapping[str, np.ndarray],
    *,
    views: int = 1,
    augment: nn.Module | None = None,
    batch_size: int = 256,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> dict[str, np.ndarray]:
    """Embed in-memory arrays (modality → (N, …) raw values) in batches, without gradients.

    With ``views`` > 1 each galaxy is embedded ``views`` times through ``augment`` (a
    :class:`~galexplore.training.setup.ViewMaker`) and the per-dimension median is kept.
    """
    device = next(model.parameters()).device
    n = len(next(iter(arrays.values())))
    gen = torch.Generator(device=device).manual_seed(seed)
    out: dict[str, list[np.ndarray]] = {}
    for start in range(0, n, batch_size):
        batch = {
            m: torch.from_numpy(np.ascontiguousarray(a[start : start + batch_size], dtype=np.float32)).to(
                device
            )
            for m, a in arrays.items()
        }
        if views > 1 and augment is not None:
            stacks: dict[str, list[torch.Tensor]] = {}
            for _ in range(views):
                aug = {m: augment.augment[m](x, gen) if m in augment.augment else x for m, x in batch.items()}
                for m, z in model.embed(aug).items():
                    stacks.setdefault(m, []).append(z.float())
            emb = {m: torch.stack(zs).median(dim=0).values for m, zs in stacks.items()}
        else:
            emb = model.embed(batch)
        for m, z in emb.items():
            out.setdefault(m, []).append(z.float().cpu().numpy())
        report(progress, min(start + batch_size, n), n, "embedding")
    return {m: np.concatenate(zs) for m, zs in out.items()}


def read_inputs(
    survey: Survey,
    modalities: list[str],
    progress: ProgressCallback | None = None,
    *,
    pool: Mapping[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """All galaxies of the given modalities, read chunk-aligned into memory as float32
    (k×k-pooled where ``pool`` says so, as the encoder was trained)."""
    from galexplore.training.data import SurveyArrays

    data = SurveyArrays(survey, modalities, max_cache_bytes=1 << 62, pool=pool, progress=progress)
    return data.read(np.arange(survey.n_galaxies))


def embedding_metadata(
    survey: Survey, run: str | os.PathLike, ckpt: Mapping[str, Any], views: int
) -> dict[str, Any]:
    """What ``embeddings.parquet`` records about how it was made."""
    mods = list(ckpt["model_config"]["modalities"])
    return {
        "run": str(run),
        "survey": str(survey.path),
        "survey_fingerprint": survey.fingerprint,
        "trained_on": ckpt["survey"].get("fingerprint"),
        "model_family": ckpt["model_config"]["family"],
        "training_modality": ckpt["model_config"].get("modality", "+".join(mods)),
        "embed_from": ckpt["model_config"].get("embed_from"),
        "epochs": int(ckpt.get("epoch", 0)),
        "n_views": views,
    }


def embed(
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    *,
    views: int = 1,
    batch_size: int = 256,
    device: str = "auto",
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> Path:
    """Embed every galaxy of ``survey`` with the encoder of ``run`` and write ``embeddings.parquet``.

    Parameters
    ----------
    survey : Survey or path
        Usually the survey the run was trained on; another one with the same channels and
        shapes works too (with a :class:`SurveyMismatchWarning`).
    run : path
        Run directory holding ``encoder.pt``.
    views : int
        1: embed each galaxy as it is. N > 1: the median over N augmented views (eCALIFA).
    batch_size : int
    device : {"auto", "cpu", "cuda"}
    seed : int
        Seeds the augmented views.
    progress : callable, optional

    Returns
    -------
    Path
        ``RUN/embeddings.parquet``, with ``emb_<modality>`` column(s): one for a
        single-modality run, one per modality for a cross-modal run.
    """
    if views < 1:
        raise ValueError(f"views must be ≥ 1, got {views}")
    survey = survey if isinstance(survey, Survey) else open_survey(survey)
    model, ckpt = load_model(run, device=device)
    check_compatible(survey, ckpt, run)
    mods = list(ckpt["model_config"]["modalities"])
    arrays = read_inputs(survey, mods, progress, pool=input_pooling(ckpt["model_config"]))
    augment = ViewMaker(ckpt["model_config"]).to(next(model.parameters()).device) if views > 1 else None
    vectors = embed_arrays(
        model, arrays, views=views, augment=augment, batch_size=batch_size, seed=seed, progress=progress
    )
    meta = embedding_metadata(survey, run, ckpt, views)
    path = write_embeddings(run, survey.catalog["galaxy_id"].tolist(), vectors, meta)
    log.info("wrote %s (%s)", path, ", ".join(f"{m}: {v.shape[1]}-d" for m, v in vectors.items()))
    return path


def embed_pretrained(
    survey: Survey | str | os.PathLike, run: str | os.PathLike, name: str, **kwargs: Any
) -> Path:
    """Embed with a pretrained encoder of the field instead of a trained ``encoder.pt``:
    ``timm:<arch>``, ``zoobot:<name>``, ``astropt:<size>``, ``aion:<size>``; see
    :func:`galexplore.models.pretrained.embed_pretrained` for the keyword arguments."""
    from galexplore.models.pretrained import embed_pretrained as _embed_pretrained

    return _embed_pretrained(survey, run, name, **kwargs)


__all__ = [
    "SurveyMismatchWarning",
    "check_compatible",
    "embed",
    "embed_arrays",
    "embed_pretrained",
    "embedding_metadata",
    "load_model",
    "read_inputs",
]
