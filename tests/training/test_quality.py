"""A small version of the encoder-quality acceptance (the full table: bench/encoder_quality.py).

A short training run (4 epochs, width 8) on a 400-galaxy synthetic survey must already give
embeddings from which held-out k-NN regression recovers the integrated properties (R² > 0.7),
far above pixel PCA, and a structural truth that an untrained pooled CNN cannot see: the
radial age gradient, which needs the radius channel, ring pooling *and* training. On the
integrated properties alone a 400-galaxy run does not reliably beat the random-init encoder;
the full 2,000-galaxy, 3-seed comparison is bench/encoder_quality.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.artifacts.runs import read_embeddings
from galexplore.embed import embed
from galexplore.evaluation.baselines import pixel_pca_features, random_init_embeddings
from galexplore.evaluation.probes import knn_r2, split_indices
from galexplore.training import TrainConfig, train


@pytest.fixture(scope="module")
def trained(survey_400, tmp_path_factory):
    run = tmp_path_factory.mktemp("quality") / "run"
    train(survey_400, run, TrainConfig(epochs=4, batch_size=64, lr=3e-3, width=8, device="cpu"))
    embed(survey_400, run, device="cpu")
    return run


@pytest.mark.slow
def test_embeddings_recover_integrated_properties(survey_400, trained):
    z = read_embeddings(trained).get("maps")
    cat = survey_400.catalog
    tr, te = split_indices(len(cat), 0.2, random_state=0)
    scores = {c: knn_r2(z, cat[c], tr, te) for c in ("ew_ha", "log_age_lw", "zh_lw", "log_sigma_star")}
    for col, r2 in scores.items():
        assert r2 > THRESHOLDS[col], (col, scores)
    shuffled = knn_r2(z, np.random.default_rng(0).permutation(cat["log_age_lw"].to_numpy()), tr, te)
    assert shuffled < 0.1


@pytest.mark.slow
def test_trained_and_baselines_on_the_same_split(survey_400, trained):
    cat = survey_400.catalog
    tr, te = split_indices(len(cat), 0.2, random_state=0)
    z = read_embeddings(trained).get("maps")
    rnd = random_init_embeddings(survey_400, trained, seed=0)["maps"]
    pca = pixel_pca_features(survey_400, n_components=64)
    got = {
        name: knn_r2(x, cat["log_age_lw"], tr, te)
        for name, x in [("trained", z), ("random", rnd), ("pca", pca)]
    }
    assert got["trained"] > got["pca"] + 0.3, got  # measured: 0.90 against 0.34
    assert got["random"] > 0.5, got  # pooled CNNs see map averages even untrained (DESIGN §4)


def test_training_learns_the_age_gradient_that_random_init_misses(survey_400, trained):
    """Seeds 0 and 1 of this config measured trained / random init 0.27 / 0.23 and 0.38 / 0.23
    (with the auxiliary loss on the azimuthal amplitudes, on by default since the fourth round of
    docs/training.md; without it 0.33 and 0.39: on this short run it competes with the ring
    means, on 2,000 galaxies it does not: bench/encoder_quality.py 0.67 against 0.50). The
    encoder before the radius channel and ring pooling scored below its random init here."""
    cat = survey_400.catalog
    tr, te = split_indices(len(cat), 0.2, random_state=0)
    z = read_embeddings(trained).get("maps")
    rnd = random_init_embeddings(survey_400, trained, seed=0)["maps"]
    got = {name: knn_r2(x, cat["grad_age"], tr, te) for name, x in [("trained", z), ("random", rnd)]}
    assert got["trained"] > 0.25 and got["trained"] > got["random"] + 0.04, got


#: Measured with this config (two stages, five rings, MLP head, residual azimuthal branch and its
#: auxiliary loss), seeds 0 / 1: 0.75 / 0.73, 0.85 / 0.88, 0.82 / 0.77, 0.87 / 0.84 (before the
#: residual branch: 0.79 / 0.75, 0.90 / 0.88, 0.82 / 0.76, 0.85 / 0.81; pixel PCA: 0.32, 0.34,
#: 0.29, 0.36).
THRESHOLDS = {"ew_ha": 0.65, "log_age_lw": 0.8, "zh_lw": 0.7, "log_sigma_star": 0.7}


def test_the_embedding_predicts_the_radial_profile_of_held_out_galaxies(survey_400, trained):
    """The default maps run trains a linear layer to predict each view's radial profile (ring
    means of every normalised map) from the features, which keeps the plain map levels (log Σ*)
    in the embedding. On held-out galaxies, unaugmented, it must predict them well after this
    short run (measured R² 0.73 over every channel and annulus); an untrained layer on the same
    features does not (measured −0.11)."""
    import torch

    from galexplore.embed import load_model, read_inputs
    from galexplore.training.setup import input_pooling

    model, ckpt = load_model(trained)
    rec = model.reconstruction
    assert rec is not None and rec.weight > 0
    _, te = split_indices(survey_400.n_galaxies, 0.2, random_state=0)
    maps = torch.as_tensor(
        read_inputs(survey_400, ["maps"], pool=input_pooling(ckpt["model_config"]))["maps"][np.sort(te)]
    )
    with torch.no_grad():
        x = model.tower.preprocess(maps)
        f = model.tower.encoder(x)
        target, valid = rec.targets(x)
        untrained = torch.nn.Linear(f.shape[1], target.shape[1])
        preds = {"trained": rec.head(f), "untrained": untrained(f)}
    ok = valid.bool()
    t = target[ok].numpy()
    r2 = {
        k: 1 - float(((p[ok].numpy() - t) ** 2).sum() / ((t - t.mean()) ** 2).sum()) for k, p in preds.items()
    }
    assert r2["trained"] > 0.6 and r2["untrained"] < 0, r2
