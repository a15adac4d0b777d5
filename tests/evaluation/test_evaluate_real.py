"""Evaluation on real labels: a Galaxy Zoo 1 subset (../shared/data/real/gz1_images), imbalanced like the whole set."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.real


@pytest.mark.slow
def test_gz1_labels_are_found_and_scored_with_balanced_accuracy(real_data, tmp_path):
    """Pixel-PCA vectors imported as a run score exactly as the pixel_pca baseline does, and the
    class-balanced probe finds the minority classes of a 70 %-elliptical set."""
    from galexplore.artifacts.runs import write_embeddings
    from galexplore.data.ingest import ingest_images
    from galexplore.evaluation.baselines import pixel_pca_features
    from galexplore.evaluation.evaluate import evaluate

    if not (real_data / "gz1_images" / "catalog.csv").is_file():
        pytest.skip(f"real survey files not present: {real_data / 'gz1_images'}")
    folder = real_data / "gz1_images" / "images"
    full = pd.read_csv(real_data / "gz1_images" / "catalog.csv", dtype={"galaxy_id": str})
    picked = [
        full[full["label_coarse"] == c].head(n)
        for c, n in (("elliptical", 280), ("spiral", 60), ("edge_on", 60))
    ]
    pd.concat(picked).to_csv(tmp_path / "catalog.csv", index=False)
    survey = ingest_images(folder, tmp_path / "catalog.csv", tmp_path / "gz1", size=32).survey
    run = tmp_path / "run"
    write_embeddings(
        run,
        survey.catalog["galaxy_id"],
        {"images": pixel_pca_features(survey, "images")},
        {"source": "import-embeddings", "model_name": "pixel PCA"},
    )
    m = evaluate(survey, run, baselines=("pixel_pca",), write_report=False)
    assert m["labels"] == [
        "label",
        "label_coarse",
    ]  # found without --labels; the code column is not a label name
    info = m["label_classes"]["label_coarse"]
    assert set(info["counts"]) == {"elliptical", "spiral", "edge_on"} and info["majority_accuracy"] > 0.6
    emb, base = (
        m["classification"]["label_coarse"],
        m["baselines_classification"]["pixel_pca"]["label_coarse"],
    )
    assert emb == base  # the same vectors through the run path and the baseline path
    assert emb["linear_probe"]["balanced_accuracy"] > info["chance_balanced_accuracy"] + 0.1
    assert emb["knn"]["balanced_accuracy"] < emb["knn"]["accuracy"]  # imbalance: accuracy flatters
    le = m["label_efficiency_classification"]["labels"]["label_coarse"]
    assert (
        3 <= le["n_labels"][0] < le["n_labels"][1] < le["n_labels"][2] == info["n_train"]
    )  # every class in 1 %
