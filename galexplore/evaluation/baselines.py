"""Baseline features that the trained embeddings must beat (DESIGN §2, ``metrics.json``).

* ``pixel_pca``: the first 64 principal components of the raw (standardised) pixels;
* ``radial_profile``: annular means of every channel, rotation-invariant by construction,
  and so blind to bars and spiral arms;
* ``random_init``: the same encoder architecture as a run, untrained (seeded), with the
  run's input normalisation.
"""

from __future__ import annotations

import os

import numpy as np

from galexplore.data.store import Survey, open_survey
from galexplore.models.preprocess import Standardize


def _survey(survey: Survey | str | os.PathLike) -> Survey:
    return survey if isinstance(survey, Survey) else open_survey(survey)


def _read_all(survey: Survey, modality: str) -> np.ndarray:
    from galexplore.embed import read_inputs

    return read_inputs(survey, [modality])[modality]


def pixel_pca_features(
    survey: Survey | str | os.PathLike, modality: str = "maps", n_components: int = 64, random_state: int = 0
) -> np.ndarray:
    """The first ``n_components`` principal components of the raw pixels, (N, n_components).

    Each channel is standardised over the survey (images through asinh first, as the encoders
    see them); missing pixels become 0, the channel mean.
    """
    from sklearn.decomposition import PCA

    survey = _survey(survey)
    x = _read_all(survey, modality)
    if x.ndim == 2:
        x = x[:, None, :, None]
    norm = Standardize.fit(x, asinh=(modality == "images"))
    import torch

    with torch.no_grad():
        z = norm(torch.from_numpy(x)).numpy()
    flat = np.nan_to_num(z.reshape(len(z), -1), nan=0.0, posinf=0.0, neginf=0.0)
    k = min(n_components, *flat.shape)
    return (
        PCA(n_components=k, svd_solver="randomized", random_state=random_state)
        .fit_transform(flat)
        .astype(np.float32)
    )


def radial_profile_features(
    survey: Survey | str | os.PathLike, modality: str = "maps", n_bins: int = 8
) -> np.ndarray:
    """Annular means of every channel in ``n_bins`` equal-width rings about the centre, (N, C·n_bins).

    NaN pixels are ignored; a ring with no data takes the survey mean of that feature.
    """
    survey = _survey(survey)
    x = _read_all(survey, modality)
    n, c, h, w = x.shape
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2)
    ring = np.minimum((r / (min(h, w) / 2) * n_bins).astype(int), n_bins)  # n_bins = corners, dropped
    feats = np.empty((n, c, n_bins), dtype=np.float64)
    for b in range(n_bins):
        sel = ring == b
        vals = x[:, :, sel]
        ok = np.isfinite(vals)
        cnt = ok.sum(axis=2)
        s = np.where(ok, vals, 0.0).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            feats[:, :, b] = np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)
    feats = feats.reshape(n, c * n_bins)
    col_mean = np.nanmean(feats, axis=0)
    col_mean = np.where(np.isfinite(col_mean), col_mean, 0.0)
    return np.where(np.isfinite(feats), feats, col_mean[None, :]).astype(np.float32)


def random_init_embeddings(
    survey: Survey | str | os.PathLike,
    run: str | os.PathLike,
    *,
    seed: int = 0,
    batch_size: int = 256,
    device: str = "cpu",
) -> dict[str, np.ndarray]:
    """Embeddings of ``survey`` by the run's encoder architecture with untrained, seeded weights.

    The input normalisation is the run's (it is fitted, not learned); the weights come from
    ``torch.manual_seed(seed)``. Returns modality → (N, D) like the trained embeddings.
    """
    import torch

    from galexplore.embed import check_compatible, embed_arrays, read_inputs
    from galexplore.models.factory import build_model
    from galexplore.training.checkpoint import load_checkpoint
    from galexplore.training.setup import input_pooling, resolve_device

    survey = _survey(survey)
    ckpt = load_checkpoint(run)
    check_compatible(survey, ckpt, run)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(ckpt["model_config"], ckpt["normalisation"])
    model = model.to(resolve_device(device)).eval()
    arrays = read_inputs(
        survey, list(ckpt["model_config"]["modalities"]), pool=input_pooling(ckpt["model_config"])
    )
    return embed_arrays(model, arrays, batch_size=batch_size)


__all__ = ["pixel_pca_features", "radial_profile_features", "random_init_embeddings"]
