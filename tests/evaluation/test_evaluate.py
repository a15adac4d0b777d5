"""Evaluation: every metrics.json key and figure, and scores that mean what they say."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import write_embeddings
from galexplore.errors import GalexploreError

DESIGN_KEYS = (
    "knn_r2",
    "baselines",
    "knn_accuracy",
    "correlation_ranking",
    "clusters",
    "n_train",
    "n_test",
    "seed",
)
FIGURES = (
    "umap_properties.png",
    "main_sequence_clusters.png",
    "r2_baselines.png",
    "label_efficiency.png",
    "cluster_mix.png",
    "correlation_ranking.png",
)


@pytest.fixture(scope="module")
def trained_run(tiny_survey, tmp_path_factory):
    """A tiny encoder really trained (2 epochs) and embedded by the models package."""
    from galexplore.embed import embed
    from galexplore.training import TrainConfig, train

    run = tmp_path_factory.mktemp("eval") / "run"
    train(
        tiny_survey,
        run,
        TrainConfig(epochs=2, batch_size=32, width=4, depth=2, device="cpu", val_fraction=0.2, threads=1),
    )
    embed(tiny_survey, run)
    return run


@pytest.fixture(scope="module")
def evaluated(tiny_survey, trained_run):
    from galexplore.analysis.projection import project_run
    from galexplore.evaluation.evaluate import evaluate

    project_run(trained_run, method="pca")  # the report reuses an existing projection
    calls = []
    metrics = evaluate(
        tiny_survey,
        trained_run,
        label_fractions=(0.25, 0.5, 1.0),
        supervised_baseline=["sf_class"],
        supervised_options={"device": "cpu", "min_steps": 10, "max_steps": 10},
        progress=lambda d, t, s: calls.append((d, t)) if s == "evaluate" else None,
    )
    return metrics, calls


@pytest.mark.slow
def test_metrics_json_has_every_key(evaluated, trained_run, tiny_survey):
    from galexplore.data.synthetic import STRUCTURAL_TRUTHS

    metrics, calls = evaluated
    on_disk = json.loads(
        RunPaths.of(trained_run).metrics.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON")
    )
    assert on_disk == metrics
    for key in DESIGN_KEYS:
        assert key in metrics, key
    assert set(metrics["baselines"]) == {"pixel_pca", "random_init", "radial_profile"}
    assert metrics["n_train"] + metrics["n_test"] == tiny_survey.n_galaxies and metrics["seed"] == 0
    # Every standard property and structural truth is scored by the embedding and all three baselines.
    structural = [t for t in STRUCTURAL_TRUTHS if t != "has_bar"]
    assert metrics["properties"]["structural"] == structural
    for prop in ["ew_ha", "log_age_lw", "zh_lw", "log_sigma_star", *structural]:
        assert prop in metrics["knn_r2"] and prop in metrics["linear_probe_r2"]
        for b in metrics["baselines"].values():
            assert prop in b
    assert (
        set(metrics["knn_accuracy"])
        == set(metrics["linear_probe_accuracy"])
        == {"sf_class", "morph_type", "has_bar"}
    )
    assert all(
        0 <= v <= 1 for v in [*metrics["knn_accuracy"].values(), *metrics["linear_probe_accuracy"].values()]
    )
    # every label: k-NN and linear probe, accuracy, balanced accuracy and macro-F1, for the embedding and each baseline
    for scores in [metrics["classification"], *metrics["baselines_classification"].values()]:
        assert set(scores) == {"sf_class", "morph_type", "has_bar"}
        for s in scores.values():
            assert set(s) == {"knn", "linear_probe"} and set(s["knn"]) == {
                "accuracy",
                "balanced_accuracy",
                "macro_f1",
                "f1_weighted",
            }
    cls = metrics["classification"]["sf_class"]
    assert cls["knn"]["accuracy"] == metrics["knn_accuracy"]["sf_class"]
    assert cls["linear_probe"]["accuracy"] == metrics["linear_probe_accuracy"]["sf_class"]
    info = metrics["label_classes"]["sf_class"]
    assert sum(info["counts"].values()) == tiny_survey.n_galaxies and info[
        "chance_balanced_accuracy"
    ] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["run_kind"]["kind"] == "trained" and metrics["skipped"] == {}
    lec = metrics["label_efficiency_classification"]
    assert lec["fractions"] == [0.01, 0.1, 1.0] and set(lec["labels"]) == {
        "sf_class",
        "morph_type",
        "has_bar",
    }
    assert set(lec["labels"]["sf_class"]) == {"n_labels", "embedding", "pixel_pca", "supervised_cnn"}
    assert "supervised_cnn" not in lec["labels"]["has_bar"]
    sup = lec["supervised_cnn"]
    assert sup["steps"] == [10, 10, 10] and sup["device"] == "cpu" and sup["n_parameters"] > 1000
    assert all(0 <= v <= 1 for v in lec["labels"]["sf_class"]["supervised_cnn"]["balanced_accuracy"])
    assert metrics["correlation_ranking"]["method"].startswith("distance correlation")
    dcor = [r["dcor"] for r in metrics["correlation_ranking"]["ranking"]]
    assert dcor == sorted(dcor, reverse=True) and all(0 <= d <= 1 for d in dcor)
    assert set(metrics["clusters"]) == {"2", "3"}
    assert metrics["cluster_details"]["2"]["excluded"] == ["green-valley"]
    assert metrics["cluster_details"]["2"]["space"] == "projection"
    assert -1 <= metrics["cluster_details"]["2"]["ari_embedding"] <= 1
    for d in metrics["cluster_details"].values():
        assert sum(m["size"] for m in d["mix"].values()) == tiny_survey.n_galaxies
    assert {"sigma_mad", "outlier_fraction"} <= set(metrics["photo_z"])
    le = metrics["label_efficiency"]
    assert le["fractions"] == [0.25, 0.5, 1.0] and set(le["properties"]) == {
        "ew_ha",
        "log_age_lw",
        "zh_lw",
        "log_sigma_star",
    }
    assert calls[-1] == (calls[-1][1], calls[-1][1])
    assert metrics["projection"]["method"] == "pca"


@pytest.mark.slow
def test_report_figures_render(evaluated, trained_run):
    import matplotlib.image as mpimg

    report = RunPaths.of(trained_run).report
    md = (report / "report.md").read_text()
    for name in FIGURES:
        img = mpimg.imread(report / name)
        assert img.shape[0] > 200 and img.shape[1] > 300, name
        assert img[..., :3].std() > 0.05, f"{name} is blank"
        assert f"]({name})" in md
    assert "random_init" in md and "ARI" in md and "embedding linear" in md
    assert "## Label `has_bar`: held-out classification" in md and "| majority class |" in md
    assert "## Label efficiency of the label columns" in md and "| supervised CNN |" in md and "1% (" in md


def _oracle_run(survey, path, noise: float, shuffle: bool = False):
    """A run whose 'embedding' is the standardised truths plus noise (an oracle), or shuffled."""
    cat = survey.catalog
    cols = ["ew_ha", "log_age_lw", "zh_lw", "log_sigma_star", "log_mstar"]
    t = cat[cols].to_numpy(float)
    t[:, 0] = np.log10(np.maximum(t[:, 0], 0.1))
    t = (t - t.mean(0)) / t.std(0)
    rng = np.random.default_rng(0)
    Z = np.concatenate([t, noise * rng.normal(size=(len(t), 3))], axis=1).astype(np.float32)
    if shuffle:
        Z = Z[rng.permutation(len(Z))]
    write_embeddings(path, cat["galaxy_id"], {"maps": Z})
    return path


@pytest.mark.slow
def test_scores_separate_an_oracle_from_noise(survey_400, tmp_path):
    """The protocol rewards an embedding that holds the truths and not one that does not."""
    from galexplore.evaluation.evaluate import evaluate

    good = evaluate(
        survey_400, _oracle_run(survey_400, tmp_path / "oracle", 0.05), baselines=(), write_report=False
    )
    shuffled = _oracle_run(survey_400, tmp_path / "shuffled", 0.05, shuffle=True)
    bad = evaluate(survey_400, shuffled, baselines=(), write_report=False)
    for prop in ("log_age_lw", "zh_lw", "log_sigma_star", "log_mstar"):
        assert good["knn_r2"][prop] > 0.8 and bad["knn_r2"][prop] < 0.1
    assert good["knn_accuracy"]["sf_class"] > 0.85 and bad["knn_accuracy"]["sf_class"] < 0.75
    # sf_class follows EW(Hα) and age, which the oracle holds linearly
    assert (
        good["linear_probe_accuracy"]["sf_class"] > 0.85 and bad["linear_probe_accuracy"]["sf_class"] < 0.75
    )
    for probe in ("knn", "linear_probe"):  # balanced accuracy: a shuffled embedding is near chance (1/3)
        assert bad["classification"]["sf_class"][probe]["balanced_accuracy"] < 0.5
        assert good["classification"]["sf_class"][probe]["balanced_accuracy"] > 0.6
    assert good["clusters"]["2"] > 0.5 and abs(bad["clusters"]["2"]) < 0.1
    assert (
        good["correlation_ranking"]["ranking"][0]["dcor"] > bad["correlation_ranking"]["ranking"][0]["dcor"]
    )
    assert "random_init" not in good["baselines"] and "random_init" not in good.get("baselines_skipped", {})
    # without an encoder.pt the random_init baseline is reported as skipped, not faked
    skipped = evaluate(survey_400, tmp_path / "oracle", baselines=("random_init",), write_report=False)
    assert "encoder.pt" in skipped["baselines_skipped"]["random_init"] and skipped["baselines"] == {}


def test_photo_z_predictions_follow_the_probe_protocol(survey_400):
    from sklearn.metrics import r2_score

    from galexplore.evaluation.photoz import knn_predict, photoz_metrics
    from galexplore.evaluation.probes import knn_r2, split_indices

    cat = survey_400.catalog
    X = cat[["z", "log_mstar"]].to_numpy(np.float32) + np.random.default_rng(1).normal(
        0, 0.002, (len(cat), 2)
    ).astype(np.float32)
    tr, te = split_indices(len(cat), 0.2, 0)
    z = cat["z"].to_numpy(float)
    pred = knn_predict(X, z, tr, te)
    assert r2_score(z[te], pred) == pytest.approx(knn_r2(X, z, tr, te))
    m = photoz_metrics(z[te], pred)
    assert m["sigma_mad"] < 0.01 and m["outlier_fraction"] == 0.0
    assert photoz_metrics([0.1, 0.1], [0.1, 0.3])["outlier_fraction"] == 0.5


def test_bad_inputs(survey_400, tiny_survey, feature_run, tmp_path):
    from galexplore.evaluation.evaluate import evaluate

    with pytest.raises(GalexploreError, match="unknown galaxy_id"):
        evaluate(survey_400, feature_run, write_report=False)  # the run belongs to another survey
    run = tmp_path / "run"
    shutil.copytree(feature_run, run)
    with pytest.raises(GalexploreError, match="no label column 'zoo'"):
        evaluate(tiny_survey, run, labels=["zoo"], write_report=False)


@pytest.mark.slow
def test_cross_modal_retrieval(survey_400, tmp_path):
    """Aligned modalities (two noisy views of the same latent) retrieve their partner far above chance."""
    from galexplore.evaluation.evaluate import evaluate
    from galexplore.evaluation.report import markdown

    cat = survey_400.catalog
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(len(cat), 16))
    views = {
        m: (latent + 0.1 * rng.normal(size=latent.shape)).astype(np.float32) for m in ("images", "spectra")
    }
    write_embeddings(tmp_path, cat["galaxy_id"], views)
    m = evaluate(survey_400, tmp_path, modality="images", baselines=(), write_report=False)
    r = m["cross_modal_retrieval"]
    assert set(r) == {"images->spectra", "spectra->images"}
    assert r["images->spectra"]["top1"] > 0.9 and r["images->spectra"]["chance_top1"] == 1 / m["n_test"]
    assert "Cross-modal retrieval" in markdown(m, [])
