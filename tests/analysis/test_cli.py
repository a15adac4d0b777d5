"""The analysis verbs end to end: project, cluster, search, export; one-line errors."""

from __future__ import annotations

import pytest

from galexplore.artifacts.export import read_export
from galexplore.artifacts.runs import read_projection
from galexplore.cli import main


def test_project_cluster_search_export(run_copy, tiny_survey, tmp_path, capsys):
    assert main(["-q", "project", str(run_copy), "--method", "pca"]) == 0
    assert read_projection(run_copy)[1]["method"] == "pca"
    assert "pca" in capsys.readouterr().err

    assert main(["-q", "cluster", str(run_copy), "--method", "kmeans", "--k", "2"]) == 0
    out = capsys.readouterr()
    assert (run_copy / "clusters" / "kmeans_k2_embedding.parquet").is_file()
    assert "frac_star-forming" in out.out and "cluster 1" in out.out  # survey found via the run's metadata
    assert "2 clusters of 96 galaxies" in out.err

    assert (
        main(
            [
                "-q",
                "cluster",
                str(run_copy),
                "--method",
                "hdbscan",
                "--space",
                "projection",
                "--min-cluster-size",
                "5",
            ]
        )
        == 0
    )
    capsys.readouterr()

    gid = tiny_survey.catalog["galaxy_id"].iloc[3]
    assert main(["search", str(run_copy), "--galaxy", gid, "--k", "4", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("rank,galaxy_id,similarity,sf_class")
    assert lines[1].split(",")[1] == gid and len(lines) == 5

    out_file = tmp_path / "c0.vot"
    argv = [
        "-q",
        "export",
        str(run_copy),
        "--cluster",
        "0",
        "--clustering",
        "kmeans_k2_embedding",
        "--out",
        str(out_file),
    ]
    assert main(argv) == 0
    table, prov = read_export(out_file)
    assert len(table) == int(prov["n_rows"]) > 0 and "kmeans_k2_embedding" in prov["selection"]


def test_suggest_k(run_copy, capsys):
    assert main(["-q", "cluster", str(run_copy), "--suggest-k", "2-4", "--no-save"]) == 0
    err = capsys.readouterr().err
    assert "silhouette (higher is better): k=2:" in err and "-> k=" in err
    assert not (run_copy / "clusters").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "{run}", "--galaxy", "ghost"], "unknown galaxy_id 'ghost'"),
        (["export", "{run}", "--cluster", "0", "--out", "{tmp}/x.csv"], "no saved clustering"),
        (["export", "{run}", "--galaxies", "ghost", "--out", "{tmp}/x.csv"], "'ghost'"),
        (["cluster", "{run}", "--space", "projection"], "projection.parquet: not found"),
        (["project", "{tmp}/nowhere"], "nowhere/embeddings.parquet: not found"),
    ],
)
def test_errors_are_one_line(run_copy, tmp_path, capsys, argv, message):
    argv = [a.format(run=run_copy, tmp=tmp_path) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_choices_rejected_by_argparse(run_copy, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["cluster", str(run_copy), "--method", "dbscan"])
    assert exc.value.code == 2 and "'dbscan'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["project", str(run_copy), "--min-dist", "3"])
    assert "must be in [0, 1]" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_verb(run_copy, tiny_survey, capsys):
    import json

    assert (
        main(["-q", "evaluate", str(tiny_survey.path), str(run_copy), "--no-report", "--labels", "sf_class"])
        == 0
    )
    out, err = capsys.readouterr()
    metrics = json.loads((run_copy / "metrics.json").read_text())
    assert list(metrics["knn_accuracy"]) == ["sf_class"]
    assert "random_init" in metrics["baselines_skipped"]  # the stand-in run has no encoder.pt
    assert out.splitlines()[0].split()[:3] == ["k-NN", "R²", "embed"] and "ew_ha" in out
    assert "k=2 clusters vs sf_class: ARI" in out and "metrics.json" in err
    assert "accuracy sf_class:" in out and "balanced" in out and "not computed: random_init" in out
    assert not (run_copy / "report").exists()
    assert main(["evaluate", str(tiny_survey.path), str(run_copy), "--test-fraction", "1"]) == 1
    assert "--test-fraction" in capsys.readouterr().err


def test_cluster_hdbscan_min_samples(run_copy, capsys):
    """--min-samples reaches HDBSCAN: a lower value leaves no more galaxies in noise, and the
    saved clustering names it."""
    import pandas as pd

    noise = {}
    for ms in (1, 10):
        argv = ["-q", "cluster", str(run_copy), "--method", "hdbscan", "--min-cluster-size", "5"]
        assert main([*argv, "--min-samples", str(ms)]) == 0
        labels = pd.read_parquet(run_copy / "clusters" / f"hdbscan_m5_s{ms}_embedding.parquet")
        noise[ms] = int((labels["cluster"] == -1).sum())
    assert noise[1] < noise[10], noise
