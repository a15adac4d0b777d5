"""Bad inputs to import-embeddings, to the readers of embeddings.parquet and to embed --pretrained.

Each case runs the real command line and checks the contract of test_bad_inputs.py: non-zero
exit, one line naming the file and the id or row at fault, no traceback, nothing written (an
earlier good embeddings.parquet stays byte for byte).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from galexplore.artifacts.paths import RunPaths

from .test_bad_inputs import assert_one_line_error, gx

#: CLI runs end to end (1.5–3 s each): out of the quick loop, in every CI run
pytestmark = pytest.mark.slow

N, D = 30, 8


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    root = tmp_path_factory.mktemp("cat_only")
    rng = np.random.default_rng(3)
    pd.DataFrame(
        {
            "galaxy_id": [f"G{i:02d}" for i in range(N)],
            "ra": rng.uniform(10, 11, N),
            "dec": rng.uniform(-1, 0, N),
            "log_mstar": rng.normal(10, 1, N),
        }
    ).to_csv(root / "cat.csv", index=False)
    assert gx("ingest", "catalog", root / "cat.csv", "--out", root / "s").returncode == 0
    return root / "s"


@pytest.fixture
def good_run(survey, tmp_path):
    """A run with a good imported embeddings.parquet, to check that a failed import keeps it."""
    z = np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)
    pq.write_table(
        pa.table({"galaxy_id": [f"G{i:02d}" for i in range(N)], "z": list(z)}), tmp_path / "good.parquet"
    )
    assert (
        gx(
            "import-embeddings", tmp_path / "good.parquet", "--survey", survey, "--out", tmp_path / "run"
        ).returncode
        == 0
    )
    return tmp_path / "run"


def vectors(n: int = N) -> tuple[list[str], np.ndarray]:
    return [f"G{i:02d}" for i in range(n)], np.random.default_rng(1).normal(size=(n, D)).astype(np.float32)


def import_fails(survey, run, path, *must_name, extra=()) -> None:
    before = RunPaths.of(run).embeddings.read_bytes() if RunPaths.of(run).embeddings.exists() else None
    assert_one_line_error(
        gx("import-embeddings", path, "--survey", survey, "--out", run, *extra), str(path.name), *must_name
    )
    after = RunPaths.of(run).embeddings.read_bytes() if RunPaths.of(run).embeddings.exists() else None
    assert after == before
    assert not list(run.glob("*.tmp-*")) if run.exists() else True


@pytest.mark.slow
def test_duplicate_ids(survey, good_run, tmp_path):
    ids, z = vectors()
    ids[7] = ids[3]
    pq.write_table(pa.table({"galaxy_id": ids, "z": list(z)}), tmp_path / "dup.parquet")
    import_fails(survey, good_run, tmp_path / "dup.parquet", "'G03'", "more than once")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf(survey, good_run, tmp_path, bad):
    ids, z = vectors()
    z[12, 5] = bad
    pq.write_table(pa.table({"galaxy_id": ids, "z": list(z)}), tmp_path / "nan.parquet")
    import_fails(survey, good_run, tmp_path / "nan.parquet", "'G12'", "NaN or inf")


def test_ragged_lengths(survey, good_run, tmp_path):
    ids, z = vectors()
    rows = [list(r) for r in z]
    rows[9] = rows[9][:-1]
    pq.write_table(pa.table({"galaxy_id": ids, "z": rows}), tmp_path / "ragged.parquet")
    import_fails(survey, good_run, tmp_path / "ragged.parquet", "'G09'", "ragged")
    # the same in a CSV list column
    pd.DataFrame({"galaxy_id": ids, "z": ["[" + ",".join(map(str, r)) + "]" for r in rows]}).to_csv(
        tmp_path / "ragged.csv", index=False
    )
    import_fails(survey, good_run, tmp_path / "ragged.csv", "'G09'", "ragged")


def test_all_zero_vector(survey, good_run, tmp_path):
    ids, z = vectors()
    z[20] = 0.0
    np.save(tmp_path / "zero.npy", z)
    (tmp_path / "ids.txt").write_text("\n".join(ids))
    import_fails(
        survey, good_run, tmp_path / "zero.npy", "'G20'", "all zeros", extra=("--ids", tmp_path / "ids.txt")
    )


def test_row_without_a_vector(survey, good_run, tmp_path):
    ids, z = vectors()
    rows = [list(r) for r in z]
    rows[4] = None
    pq.write_table(
        pa.table({"galaxy_id": ids, "z": pa.array(rows, type=pa.list_(pa.float32()))}),
        tmp_path / "null.parquet",
    )
    import_fails(survey, good_run, tmp_path / "null.parquet", "'G04'", "no vector")


@pytest.mark.slow
def test_no_vector_column_and_unknown_column(survey, tmp_path):
    pd.DataFrame({"galaxy_id": ["G01"], "mass": [10.0]}).to_csv(tmp_path / "novec.csv", index=False)
    import_fails(survey, tmp_path / "r1", tmp_path / "novec.csv", "no vector column")
    ids, z = vectors()
    pq.write_table(pa.table({"galaxy_id": ids, "z": list(z)}), tmp_path / "v.parquet")
    import_fails(
        survey, tmp_path / "r2", tmp_path / "v.parquet", "'image'", extra=("--vector-column", "image")
    )
    assert not (tmp_path / "r1").exists() or not RunPaths.of(tmp_path / "r1").embeddings.exists()


@pytest.mark.slow
def test_npy_without_ids_and_with_too_few_ids(survey, tmp_path):
    _, z = vectors()
    np.save(tmp_path / "v.npy", z)
    import_fails(survey, tmp_path / "r", tmp_path / "v.npy", "--ids")
    (tmp_path / "ids.txt").write_text("G00\nG01\n")
    assert_one_line_error(
        gx(
            "import-embeddings",
            tmp_path / "v.npy",
            "--ids",
            tmp_path / "ids.txt",
            "--survey",
            survey,
            "--out",
            tmp_path / "r",
        ),
        "ids.txt",
        f"2 ids for the {N} vectors",
    )


def test_nothing_matches_the_survey(survey, tmp_path):
    z = vectors()[1]
    pq.write_table(
        pa.table({"galaxy_id": [f"Y{i}" for i in range(N)], "z": list(z)}), tmp_path / "other.parquet"
    )
    import_fails(survey, tmp_path / "r", tmp_path / "other.parquet", "'Y0'")


@pytest.mark.slow
def test_two_rows_on_one_galaxy(survey, tmp_path):
    from galexplore.data import open_survey

    cat = open_survey(survey).catalog
    z = vectors()[1]
    ra, dec = cat["ra"].to_numpy().copy(), cat["dec"].to_numpy().copy()
    ra[5], dec[5] = ra[2] + 0.2 / 3600, dec[2]
    pd.DataFrame({"ra": ra, "dec": dec, **{f"e{k}": z[:, k] for k in range(D)}}).to_csv(
        tmp_path / "pos.csv", index=False
    )
    import_fails(survey, tmp_path / "r", tmp_path / "pos.csv", "rows 2 and 5", "'G02'")


@pytest.mark.slow
def test_unknown_file_type_and_bad_radius(survey, tmp_path):
    (tmp_path / "v.txt").write_text("1 2 3\n")
    import_fails(survey, tmp_path / "r", tmp_path / "v.txt", "unknown vector file type")
    out = gx(
        "import-embeddings",
        tmp_path / "v.txt",
        "--survey",
        survey,
        "--out",
        tmp_path / "r",
        "--match-radius",
        "-1",
    )
    assert out.returncode == 2 and "positive number of arcsec" in out.stderr


# -- every reader of embeddings.parquet validates it ------------------------------------------------
def _corrupt(run, **columns) -> None:
    path = RunPaths.of(run).embeddings
    table = pq.read_table(path)
    for name, values in columns.items():
        table = table.set_column(table.column_names.index(name), name, values)
    pq.write_table(table, path)


def test_duplicated_ids_in_embeddings_are_named_by_project_and_cluster(good_run):
    ids = [f"G{i:02d}" for i in range(N)]
    ids[-1] = ids[0]
    _corrupt(good_run, galaxy_id=pa.array(ids))
    for args in (("project", good_run, "--method", "pca"), ("cluster", good_run, "--k", "2")):
        line = assert_one_line_error(gx(*args), "embeddings.parquet", "'G00'")
        assert "projection.parquet" not in line


def test_nan_in_embeddings_is_named_by_search(good_run):
    z = np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)
    z[6, 0] = np.nan
    _corrupt(good_run, emb_z=pa.FixedSizeListArray.from_arrays(pa.array(z.ravel()), D))
    assert_one_line_error(gx("search", good_run, "--galaxy", "G01"), "embeddings.parquet", "'G06'", "NaN")


# -- embed --pretrained -----------------------------------------------------------------------------
@pytest.mark.slow
def test_pretrained_without_weights_or_network_says_what_to_download(tiny_survey, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import os

    from . import test_bad_inputs

    monkeypatch.setattr(test_bad_inputs, "ENV", {**os.environ, "OMP_NUM_THREADS": "1"})
    line = assert_one_line_error(
        gx("embed", tiny_survey.path, tmp_path / "r", "--pretrained", "zoobot:convnext_nano"),
        "https://huggingface.co/mwalmsley/zoobot-encoder-convnext_nano",
        "--weights",
    )
    assert "model.safetensors" in line
    assert_one_line_error(gx("embed", tiny_survey.path, tmp_path / "r", "--pretrained", "clip:vit"), "'clip'")
    assert_one_line_error(
        gx(
            "embed",
            tiny_survey.path,
            tmp_path / "r",
            "--pretrained",
            "timm:test_convnext",
            "--weights",
            tmp_path / "nope",
        ),
        "nope",
    )
    assert not (tmp_path / "r" / "embeddings.parquet").exists()


@pytest.mark.slow
def test_pretrained_weights_of_another_model(tiny_survey, tmp_path):
    import importlib.util

    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed (the [pretrained] extra)")
    from safetensors.torch import save_file

    from galexplore.models.pretrained._torchvision import import_timm

    save_file(
        import_timm().create_model("test_efficientnet", num_classes=0).state_dict(),
        tmp_path / "model.safetensors",
    )
    assert_one_line_error(
        gx(
            "embed",
            tiny_survey.path,
            tmp_path / "r",
            "--pretrained",
            "timm:test_convnext",
            "--weights",
            tmp_path / "model.safetensors",
        ),
        "model.safetensors",
        "do not fit",
    )
    assert not (tmp_path / "r" / "embeddings.parquet").exists()
