"""The Dask path gives the same embeddings as the single-process path, partitioned."""

from __future__ import annotations

import numpy as np
import pytest

from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import read_embeddings

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def trained_run(tiny_survey, tmp_path_factory):
    from galexplore.training import TrainConfig, train

    run = tmp_path_factory.mktemp("dask") / "run"
    train(
        tiny_survey,
        run,
        TrainConfig(epochs=1, batch_size=32, width=4, depth=2, device="cpu", val_fraction=0.0, threads=1),
    )
    return run


@pytest.fixture(scope="module")
def client():
    from galexplore.scale.dask_embed import dask_client

    with dask_client(n_workers=2) as c:
        yield c


def test_partition_bounds_are_whole_batches():
    from galexplore.scale.dask_embed import partition_bounds

    b = partition_bounds(1000, 300, 64)
    assert b[0] == (0, 320) and b[-1][1] == 1000
    assert all((e - s) % 64 == 0 for s, e in b[:-1])
    assert sum(e - s for s, e in b) == 1000


@pytest.mark.slow
def test_two_workers_match_single_process(tiny_survey, trained_run, client, tmp_path):
    import shutil

    from galexplore.embed import embed
    from galexplore.scale.dask_embed import embed_with_dask

    embed(tiny_survey, trained_run, batch_size=16, device="cpu")
    single = read_embeddings(trained_run)
    done = []
    embed_with_dask(
        tiny_survey,
        trained_run,
        client,
        rows_per_partition=20,
        batch_size=16,
        progress=lambda d, t, s: done.append((d, t)),
    )
    parts = sorted(RunPaths.of(trained_run).embeddings.glob("part-*.parquet"))
    assert len(parts) == 3  # 96 galaxies in partitions of 32 rows (20 rounded up to whole batches)
    dask = read_embeddings(trained_run)
    assert dask.galaxy_ids.tolist() == single.galaxy_ids.tolist() == tiny_survey.catalog["galaxy_id"].tolist()
    np.testing.assert_array_equal(dask.get("maps"), single.get("maps"))
    assert done[-1] == (96, 96)
    assert dask.metadata["survey_fingerprint"] == tiny_survey.fingerprint
    # The single-process path can overwrite the partitioned artifact again (file replaces directory).
    embed(tiny_survey, trained_run, batch_size=16, device="cpu")
    assert RunPaths.of(trained_run).embeddings.is_file()
    shutil.rmtree(trained_run / "tmp", ignore_errors=True)


def test_failed_partition_leaves_old_embeddings(tiny_survey_copy, trained_run, client):
    from galexplore.embed import embed
    from galexplore.errors import StoreError
    from galexplore.scale.dask_embed import embed_with_dask

    embed(tiny_survey_copy, trained_run, batch_size=16, device="cpu")
    before = RunPaths.of(trained_run).embeddings.read_bytes()
    chunk = tiny_survey_copy.path / "maps.zarr" / "data" / "c" / "1" / "0" / "0" / "0"
    chunk.write_bytes(b"damaged on disk")  # rows 32-63: one worker's partition fails
    with pytest.raises(StoreError, match="maps.zarr: cannot read"):
        embed_with_dask(tiny_survey_copy, trained_run, client, rows_per_partition=32, batch_size=16)
    assert RunPaths.of(trained_run).embeddings.read_bytes() == before
    assert not list(trained_run.glob("embeddings.parquet.tmp-*"))


@pytest.mark.slow
def test_dask_projection_matches_single_process(tiny_survey, trained_run, client):
    from galexplore.analysis.projection import UMAPProjector, embedding_fingerprint
    from galexplore.artifacts.runs import read_projection
    from galexplore.scale.dask_embed import embed_with_dask
    from galexplore.scale.dask_project import project_with_dask

    embed_with_dask(tiny_survey, trained_run, client, rows_per_partition=32, batch_size=16)  # 3 parts
    X = read_embeddings(trained_run).get("maps")
    # Fit on 60 of 96 rows, place the other 36 in batches of 16, as the single-process path does.
    single = UMAPProjector(n_neighbors=8, random_state=0, max_fit_samples=60, batch_size=16, n_epochs=50).fit(
        X
    )
    project_with_dask(
        trained_run, client, n_neighbors=8, random_state=0, max_fit_samples=60, batch_size=16, n_epochs=50
    )
    proj, meta = read_projection(trained_run)
    assert len(list(RunPaths.of(trained_run).projection.glob("part-*.parquet"))) == 3
    assert proj["galaxy_id"].tolist() == tiny_survey.catalog["galaxy_id"].tolist()
    np.testing.assert_array_equal(proj[["x", "y"]].to_numpy(), single.embedding_)
    assert meta["n_fit"] == 60 and meta["embedding_fingerprint"] == embedding_fingerprint(
        tiny_survey.catalog["galaxy_id"], X
    )
