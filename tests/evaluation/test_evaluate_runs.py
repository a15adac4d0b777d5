"""Evaluation of runs that did not train here (imported or pretrained vectors), of catalog-only
surveys, and of several runs side by side."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import write_embeddings
from galexplore.cli import main
from galexplore.errors import GalexploreError

TRUTHS = ["ew_ha", "log_age_lw", "zh_lw", "log_sigma_star", "log_mstar"]


def _truth_vectors(catalog: pd.DataFrame, noise: float, seed: int = 0) -> np.ndarray:
    """The standardised truths plus ``noise`` (an embedding that knows the physics), (N, 8)."""
    t = catalog[TRUTHS].to_numpy(float, copy=True)
    t[:, 0] = np.log10(np.maximum(t[:, 0], 0.1))
    t = (t - t.mean(0)) / t.std(0)
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [t + noise * rng.normal(size=t.shape), rng.normal(size=(len(t), 3))], axis=1
    ).astype(np.float32)


def _run(path, catalog, vectors, meta, modality="images"):
    from galexplore.analysis.projection import project_run

    write_embeddings(path, catalog["galaxy_id"], {modality: vectors}, meta)
    project_run(path, method="pca")  # the report's map; PCA keeps the test fast
    return path


@pytest.fixture(scope="module")
def catalog_only(survey_400, tmp_path_factory):
    """A catalog-only survey (``ingest catalog``) of survey_400's catalog."""
    from galexplore.data.ingest import ingest_catalog

    tmp = tmp_path_factory.mktemp("catonly")
    survey_400.catalog.to_csv(tmp / "catalog.csv", index=False)
    return ingest_catalog(tmp / "catalog.csv", out=tmp / "survey").survey


@pytest.mark.slow
def test_imported_run_on_a_catalog_only_survey(catalog_only, tmp_path):
    """Vectors from another model, and a survey with no pixels: every baseline is skipped with its
    reason, in metrics.json and in the report; the embedding itself is scored in full."""
    from galexplore.evaluation.evaluate import evaluate

    assert catalog_only.modalities == {}
    cat = catalog_only.catalog
    run = _run(
        tmp_path / "astroclip",
        cat,
        _truth_vectors(cat, 0.1),
        {"source": "import-embeddings", "model_name": "AstroCLIP", "survey": str(catalog_only.path)},
    )
    m = evaluate(catalog_only, run, supervised_baseline=True)
    assert m["run_kind"] == {"name": "astroclip", "kind": "imported", "model": "AstroCLIP"}
    assert m["baselines"] == {} and set(m["baselines_skipped"]) == {
        "pixel_pca",
        "random_init",
        "radial_profile",
    }
    for b in ("pixel_pca", "radial_profile"):
        assert "catalog-only" in m["baselines_skipped"][b]
    assert (
        "encoder.pt" in m["baselines_skipped"]["random_init"]
        and "imported (AstroCLIP)" in m["baselines_skipped"]["random_init"]
    )
    assert "pixel_pca" in m["skipped"]["label_efficiency"] and "encoder.pt" in m["skipped"]["supervised_cnn"]
    sf = m["classification"]["sf_class"]
    assert m["knn_r2"]["log_age_lw"] > 0.8 and sf["knn"]["accuracy"] > 0.85
    assert (
        sf["knn"]["balanced_accuracy"] > 0.55 and sf["linear_probe"]["balanced_accuracy"] > 0.55
    )  # chance: 1/3
    le = m["label_efficiency_classification"]["labels"]["sf_class"]
    assert (
        set(le) == {"n_labels", "embedding"}
        and le["embedding"]["balanced_accuracy"][-1] == sf["linear_probe"]["balanced_accuracy"]
    )
    md = (RunPaths.of(run).report / "report.md").read_text()
    assert "## Not computed" in md and "catalog-only" in md and "supervised_cnn" in md
    assert "| majority class |" in md and "## Label `sf_class`" in md


@pytest.mark.slow
def test_pretrained_run_keeps_the_pixel_baselines(tiny_survey, tmp_path):
    from galexplore.evaluation.evaluate import evaluate

    cat = tiny_survey.catalog
    run = _run(tmp_path / "zoobot", cat, _truth_vectors(cat, 0.3), {"pretrained": "zoobot:convnext_nano"})
    m = evaluate(tiny_survey, run, write_report=False, labels=["sf_class"])
    assert m["run_kind"]["kind"] == "pretrained" and m["run_kind"]["model"] == "zoobot:convnext_nano"
    assert set(m["baselines"]) == {
        "pixel_pca",
        "radial_profile",
    }  # on the survey's images, the embedded modality
    assert "made by a pretrained model (zoobot:convnext_nano)" in m["baselines_skipped"]["random_init"]
    assert set(m["baselines_classification"]["pixel_pca"]["sf_class"]) == {"knn", "linear_probe"}


def test_vectors_under_another_name_use_the_only_pixel_modality(tiny_survey, tmp_path):
    from galexplore.data import write_survey
    from galexplore.evaluation.inputs import baseline_modality

    maps_only = write_survey(
        tmp_path / "maps",
        tiny_survey.catalog,
        {"maps": (tiny_survey.read("maps", slice(None)), tiny_survey.spec("maps"))},
        name="m",
        source="t",
    )
    assert baseline_modality(maps_only, "clip_vectors") == "maps"
    with pytest.raises(GalexploreError, match="cannot tell which pixels"):
        baseline_modality(tiny_survey, "clip_vectors")  # maps and images: ambiguous


def test_the_split_is_drawn_over_the_survey(tiny_survey):
    """Whatever the order or subset of a run's rows, a galaxy falls on the same side of the split."""
    from galexplore.evaluation.inputs import survey_split
    from galexplore.evaluation.probes import split_indices

    n = tiny_survey.n_galaxies
    ids = tiny_survey.catalog["galaxy_id"].to_numpy()
    tr, te = survey_split(tiny_survey, np.arange(n), 0.2, 0)
    assert [list(a) for a in (tr, te)] == [list(a) for a in split_indices(n, 0.2, 0)]
    rows = np.random.default_rng(1).permutation(n)[: n * 2 // 3]
    _, te_sub = survey_split(tiny_survey, rows, 0.2, 0)
    assert set(ids[rows[te_sub]]) == set(ids[te]) & set(ids[rows])
    with pytest.raises(GalexploreError, match="too few"):
        survey_split(tiny_survey, rows[:3], 0.2, 0)


def test_label_columns_of_real_sets():
    from galexplore.evaluation.inputs import check_labels, default_labels

    n = 300
    cat = pd.DataFrame(
        {
            "galaxy_id": [str(i) for i in range(n)],
            "label": ["elliptical", "spiral", None] * 100,
            "label_coarse": ["e", "s", "s"] * 100,
            "class": ["x"] * n,
            "objid": np.arange(n),
            "gz_votes": np.arange(n) % 7,
        }
    )
    assert default_labels(cat) == ["label", "label_coarse"]  # "class" has one class only
    assert check_labels(cat, ["gz_votes", "label"], "cat") == ["gz_votes", "label"]
    with pytest.raises(GalexploreError, match="'class' has 1 class"):
        check_labels(cat, ["class"], "cat")
    with pytest.raises(GalexploreError, match="is it a label"):
        check_labels(cat, ["objid"], "cat")


@pytest.fixture(scope="module")
def three_runs(tiny_survey, tmp_path_factory):
    """An oracle (imported), a noisy pretrained run and a random one on the tiny survey."""
    cat = tiny_survey.catalog
    root = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(4)
    return [
        _run(
            root / "oracle",
            cat,
            _truth_vectors(cat, 0.05),
            {"source": "import-embeddings", "model_name": "truths"},
        ),
        _run(root / "pretrained", cat, _truth_vectors(cat, 1.0), {"pretrained": "timm:resnet18"}),
        _run(
            root / "noise",
            cat,
            rng.normal(size=(len(cat), 8)).astype(np.float32),
            {"source": "import-embeddings"},
        ),
    ]


@pytest.mark.slow
def test_compare_runs_side_by_side(tiny_survey, three_runs, tmp_path, monkeypatch):
    from galexplore.evaluation import baselines
    from galexplore.evaluation.compare import compare_runs, markdown, write_comparison

    calls = []
    real = baselines.pixel_pca_features
    monkeypatch.setattr(baselines, "pixel_pca_features", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    comp = compare_runs(tiny_survey, three_runs, labels=["sf_class", "has_bar"], write_report=False)
    assert len(calls) == 1  # the survey-level baseline is computed once for the three runs
    table = comp.table()
    assert list(table["method"]) == ["oracle", "pretrained", "noise", "pixel_pca", "radial_profile"]
    assert list(table["kind"]) == ["imported", "pretrained", "imported", "baseline", "baseline"]
    r2 = table.set_index("method")["mean_knn_r2"]
    assert r2["oracle"] > r2["pretrained"] > r2["noise"] and r2["noise"] < 0.2
    bal = table.set_index("method")["sf_class:knn_balanced_accuracy"]
    assert bal["oracle"] > bal["noise"]
    assert all(
        json.loads(RunPaths.of(r).metrics.read_text())["n_test"] == table["n_test"][0] for r in three_runs
    )
    md = markdown(comp)
    assert f"**{r2['oracle']:.3f}**" in md and "| majority class | guess |" in md
    assert "random_init not computed for oracle" in md
    paths = write_comparison(comp, tmp_path / "cmp")
    assert [p.name for p in paths] == ["comparison.md", "comparison.csv", "comparison.json"]
    csv = pd.read_csv(paths[1])
    assert len(csv) == 5 and "has_bar:linear_balanced_accuracy" in csv and "knn_r2:log_age_lw" in csv
    doc = json.loads(paths[2].read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert [r["method"] for r in doc["rows"]] == list(table["method"]) and doc["labels"] == [
        "sf_class",
        "has_bar",
    ]


@pytest.mark.slow
def test_evaluate_verb_with_several_runs(tiny_survey, three_runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = [
        "-q",
        "evaluate",
        str(tiny_survey.path),
        *map(str, three_runs[:2]),
        "--out",
        str(out),
        "--no-report",
        "--baselines",
        "pixel_pca",
        "--labels",
        "sf_class",
    ]
    assert main(argv) == 0
    stdout, err = capsys.readouterr()
    assert (
        "side by side" in stdout
        and "| oracle | imported |" in stdout
        and "| pixel_pca | baseline |" in stdout
    )
    assert "radial_profile" not in stdout and "comparison.csv" in err
    assert (out / "comparison.md").read_text().startswith("# Embeddings of")
    for bad, message in (
        [[str(three_runs[0]), str(three_runs[0])], "the same run is named twice"],
        [[str(three_runs[0]), "--out", str(out / "comparison.md")], "is not a directory"],
        [[str(three_runs[0]), "--supervised-steps", "5"], "--supervised-baseline"],
    ):
        assert main(["evaluate", str(tiny_survey.path), *bad, "--no-report"]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(SystemExit):
        main(["evaluate", str(tiny_survey.path), str(three_runs[0]), "--baselines", "pixels"])
    capsys.readouterr()


def test_help_states_the_supervised_defaults(capsys):
    from galexplore.evaluation.supervised import MAX_STEPS

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"(default: {MAX_STEPS})" in out
        and "comparison.csv" in out
        and "catalog-only survey has no pixels" in out
    )


def _metrics(run_name, kind, modality, n_test=20, pixels="maps", embedded=None):
    return {
        "run_kind": {"name": run_name, "kind": kind, "model": None},
        "modality": modality,
        "n_test": n_test,
        "embedded_modalities": embedded or [modality],
        "knn_r2": {"ew_ha": 0.5},
        "seed": 0,
        "k": 16,
        "properties": {"standard": ["ew_ha"], "structural": []},
        "labels": [],
        "baseline_modality": pixels,
        "baselines": ({"pixel_pca": {"ew_ha": 0.1}} if pixels else {})
        | ({"random_init": {"ew_ha": 0.2}} if kind == "trained" else {}),
        "baselines_skipped": ({} if pixels else {"pixel_pca": "catalog-only"})
        | ({} if kind == "trained" else {"random_init": "no encoder.pt"}),
    }


def test_comparison_rows_name_runs_and_baselines_unambiguously():
    from galexplore.evaluation.compare import comparison_of, markdown

    comp = comparison_of(
        "s",
        {
            "a/run": _metrics("run", "trained", "maps"),
            "b/run": _metrics("run", "trained", "images", pixels="images"),
            "c/clip": _metrics("clip", "imported", "spec", n_test=10, pixels=None, embedded=["img", "spec"]),
        },
    )
    methods = [r["method"] for r in comp.rows]
    assert methods == [
        "a/run",
        "b/run",
        "clip [spec]",
        "pixel_pca (maps)",
        "random_init (a/run)",
        "pixel_pca (images)",
        "random_init (b/run)",
    ]
    assert any("different galaxies" in n for n in comp.notes) and any("clip [spec]" in n for n in comp.notes)
    same = comparison_of(
        "s", {"a/r1": _metrics("r1", "trained", "maps"), "b/r2": _metrics("r2", "imported", "maps")}
    )
    assert [r["method"] for r in same.rows] == [
        "r1",
        "r2",
        "pixel_pca",
        "random_init (r1)",
    ] and "different" not in markdown(same)


def test_run_kind_and_class_counts_text(tmp_path):
    from galexplore.evaluation.inputs import describe_run
    from galexplore.evaluation.scores import counts_text

    assert (
        describe_run(tmp_path, {"pretrained": {"name": "timm:resnet18", "weights": "w.pt"}})["model"]
        == "timm:resnet18"
    )
    assert describe_run(
        tmp_path, {"provenance": {"source": "import-embeddings", "model_name": "AION-1"}}
    ) == {"name": tmp_path.name, "kind": "imported", "model": "AION-1"}
    (tmp_path / "encoder.pt").write_bytes(b"")
    assert describe_run(tmp_path, {"model_family": "contrastive"})["kind"] == "trained"
    counts = {f"c{i}": 100 - i for i in range(15)}
    assert counts_text(counts) == ", ".join(f"c{i} {100 - i}" for i in range(12)) + " and 3 more classes"
