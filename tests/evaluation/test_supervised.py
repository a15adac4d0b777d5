"""The supervised CNN baseline: it learns from labels alone, is seeded, and runs where torch does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from galexplore.errors import GalexploreError
from galexplore.evaluation.supervised import SupervisedCNN, dihedral, run_inputs
from galexplore.models.preprocess import Standardize

ENCODER = {"kind": "conv", "in_channels": 1, "width": 4, "depth": 2, "blocks": 1, "stem_stride": 1}


def _discs_and_rings(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """16×16 one-channel images: a central disc or a ring of the same total light, noisy, NaN corners."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16] - 7.5
    r = np.hypot(yy, xx)
    disc, ring = (r < 3).astype(np.float32), ((r > 4.5) & (r < 6)).astype(np.float32)
    disc, ring = disc / disc.sum(), ring / ring.sum()
    y = rng.choice(np.array(["disc", "ring"]), n)
    x = np.where((y == "disc")[:, None, None], disc, ring) * rng.uniform(50, 150, (n, 1, 1))
    x = (x + rng.normal(0, 0.3, x.shape)).astype(np.float32)[:, None]
    x[:, :, 0, 0] = np.nan  # maps carry NaN where there is no data
    return x, y


def _model(**kw) -> SupervisedCNN:
    x, _ = _discs_and_rings(64, 0)
    opts = {"max_steps": 60, "min_steps": 60, "batch_size": 32, "device": "cpu"} | kw
    return SupervisedCNN(ENCODER, Standardize.fit(x).stats(), **opts)


def test_it_learns_from_labels_and_is_seeded():
    x, y = _discs_and_rings(160, 1)
    xt, yt = _discs_and_rings(200, 2)
    a = _model(random_state=0).fit(x, y)
    assert a.n_steps_ == 60 and set(a.classes_) == {"disc", "ring"} and np.isfinite(a.final_loss_)
    pred = a.predict(xt)
    assert pred.dtype.kind == "U" and np.mean(pred == yt) > 0.9
    assert np.array_equal(pred, _model(random_state=0).fit(x, y).predict(xt))
    untrained = _model(random_state=0, max_steps=1, min_steps=1).fit(x, y)
    assert np.mean(untrained.predict(xt) == yt) < 0.8


def test_schedule_and_bad_input():
    m = SupervisedCNN(ENCODER, {}, epochs=30, min_steps=100, max_steps=600, batch_size=64)
    assert m.n_steps(12) == 100 and m.n_steps(640) == 300 and m.n_steps(5000) == 600
    with pytest.raises(ValueError, match="at least 2"):
        _model().fit(np.zeros((1, 1, 16, 16), np.float32), ["a"])


def test_dihedral_views_are_flips_and_rotations():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    out = dihedral(x, torch.Generator().manual_seed(0))
    for i in range(2):
        views = [torch.rot90(v, r, (-2, -1)) for v in (x[i], x[i].flip(-1)) for r in range(4)]
        assert any(torch.equal(out[i], v) for v in views)
    spectra = torch.randn(4, 100)
    assert dihedral(spectra, torch.Generator()) is spectra


def test_run_inputs_needs_a_trained_run(tiny_survey, tmp_path):
    from galexplore.artifacts.runs import write_embeddings

    write_embeddings(
        tmp_path, tiny_survey.catalog["galaxy_id"], {"maps": np.ones((tiny_survey.n_galaxies, 4))}
    )
    with pytest.raises(GalexploreError, match="encoder.pt: not found"):
        run_inputs(tiny_survey, tmp_path, "maps")


@pytest.mark.gpu
def test_trains_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x, y = _discs_and_rings(160, 1)
    m = SupervisedCNN(ENCODER, Standardize.fit(x).stats(), max_steps=60, min_steps=60, device="cuda").fit(
        x, y
    )
    assert next(m.model_.parameters()).is_cuda
    xt, yt = _discs_and_rings(200, 2)
    assert np.mean(m.predict(xt) == yt) > 0.9
