"""The images modality on real SDSS images (gz1_images): the default encoder learns morphology.

A balanced subset of Galaxy Zoo 1 (elliptical / spiral / edge-on) goes through the product
path with the defaults (``ingest_images``, ``train``, ``embed``); only the number of epochs is
cut. A linear probe on the trained embedding must beat one on the pixel baseline (PCA of the
stored pixels) on balanced accuracy, in 5-fold cross-validation. The embedding does not yet
beat pixels or the same encoder untrained with k-NN by a margin a test could hold (issue 17;
bench/real_images.py measures those over 3 seeds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ..conftest import real_file

pytestmark = pytest.mark.real

PER_CLASS = 300
CLASSES = ("elliptical", "spiral", "edge_on")


def _cv_balanced(X: np.ndarray, y: np.ndarray, kind: str) -> float:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        if kind == "knn":
            model = KNeighborsClassifier(10, metric="cosine")
        elif kind == "pixels_knn":
            model = make_pipeline(
                StandardScaler(), PCA(32, random_state=0), KNeighborsClassifier(10, metric="cosine")
            )
        elif kind == "pixels_logistic":
            model = make_pipeline(
                StandardScaler(), PCA(32, random_state=0), LogisticRegression(max_iter=2000)
            )
        else:
            model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        scores.append(balanced_accuracy_score(y[te], model.fit(X[tr], y[tr]).predict(X[te])))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def gz1_subset(tmp_path_factory):
    """A survey of PER_CLASS images of each class, ingested with the defaults."""
    from galexplore.data.ingest import ingest_images

    cat = pd.read_csv(real_file("gz1_images", "catalog.csv"), dtype={"galaxy_id": str})
    rng = np.random.default_rng(0)
    picks = [rng.choice(np.flatnonzero(cat["label_coarse"] == c), PER_CLASS, replace=False) for c in CLASSES]
    sub = cat.iloc[np.sort(np.concatenate(picks))]
    d = tmp_path_factory.mktemp("gz1")
    sub.to_csv(d / "catalog.csv", index=False)
    return ingest_images(real_file("gz1_images"), d / "catalog.csv", d / "survey").survey


@pytest.mark.slow
def test_default_images_encoder_learns_real_morphology(gz1_subset, tmp_path):
    from galexplore.artifacts.runs import read_embeddings
    from galexplore.embed import embed
    from galexplore.evaluation.baselines import random_init_embeddings
    from galexplore.training import TrainConfig, train

    survey = gz1_subset
    y = survey.catalog["label_coarse"].astype(str).to_numpy()
    run = tmp_path / "run"
    train(survey, run, TrainConfig(modality="images", epochs=12, seed=0))
    embed(survey, run, device="cpu")
    emb = read_embeddings(run).get("images")
    rand = random_init_embeddings(survey, run, seed=0)["images"]
    pixels = survey.read("images", np.arange(survey.n_galaxies)).reshape(survey.n_galaxies, -1)
    got = {
        "trained_knn": _cv_balanced(emb, y, "knn"),
        "random_knn": _cv_balanced(rand, y, "knn"),
        "pixels_knn": _cv_balanced(pixels, y, "pixels_knn"),
        "trained_logistic": _cv_balanced(emb, y, "logistic"),
        "pixels_logistic": _cv_balanced(pixels, y, "pixels_logistic"),
    }
    # a linear probe reads morphology off the trained embedding far better than off pixels
    # (0.74 against 0.60 here). k-NN on this subset is not above pixels yet (0.64 against 0.66;
    # on all 6,481 images 0.56 against 0.54): issue 17 stays open on it, so it is not asserted.
    assert got["trained_logistic"] > got["pixels_logistic"] + 0.05, got
