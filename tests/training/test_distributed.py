"""Data-parallel training: 2 gloo processes under torchrun against one process on the same batch."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from galexplore.artifacts.paths import RunPaths
from galexplore.artifacts.runs import read_embeddings
from galexplore.errors import GalexploreError
from galexplore.training.distributed import Distributed

WORKER = Path(__file__).with_name("ddp_worker.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def torchrun(*args: str | os.PathLike, nproc: int = 2) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        *map(str, args),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.mark.slow
def test_ddp_loss_and_steps_match_one_process_on_the_global_batch(tiny_survey, tmp_path):
    out = tmp_path / "ddp.json"
    torchrun(WORKER, tiny_survey.path, out)
    report = json.loads(out.read_text())
    assert report["world_size"] == 2
    for name, r in report["results"].items():
        # every rank sees the loss of the whole global batch, equal to the single-process one …
        for per_rank in r["ddp_per_rank"]:
            np.testing.assert_allclose(per_rank, r["reference"], rtol=2e-5, err_msg=name)
        # … and the averaged gradients take the same step from the same state (up to rounding)
        assert r["max_state_diff"] < 1e-3, (name, r["max_state_diff"])
        assert r["same_keys"], name
        # the steps did change the loss, so equality is not that of an untouched model
        assert abs(r["reference"][-1] - r["reference"][0]) > 1e-3, name


@pytest.mark.slow
def test_torchrun_train_writes_one_run_that_a_single_process_embeds(tiny_survey, tmp_path):
    run = tmp_path / "run"
    res = torchrun(
        "-m",
        "galexplore",
        "train",
        tiny_survey.path,
        "--out",
        run,
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--threads",
        "1",
    )
    assert res.stderr.count("trained 2 epochs") == 1  # rank 0 reports, rank 1 stays quiet
    with RunPaths.of(run).train_log.open() as f:
        log = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in log] == [1, 2]
    assert all(np.isfinite(float(r["loss"])) for r in log)
    ckpt = torch.load(RunPaths.of(run).encoder, map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 2 and not any(k.startswith("module.") for k in ckpt["model"])
    subprocess.run(
        [sys.executable, "-m", "galexplore", "-q", "embed", str(tiny_survey.path), str(run)],
        check=True,
        env=ENV,
    )
    emb = read_embeddings(run)
    assert len(emb.galaxy_ids) == tiny_survey.n_galaxies
    z = emb.vectors["maps"]
    assert np.isfinite(z).all() and z.std(axis=0).mean() > 0


def test_environment_and_batch_checks(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    ctx = Distributed.from_env()
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.active, ctx.is_main) == (1, 2, 1, True, False)
    batch = {"maps": np.arange(8)}
    assert ctx.shard(batch)["maps"].tolist() == [4, 5, 6, 7]
    assert ctx.local_batch(8) == 4
    with pytest.raises(GalexploreError, match="--batch-size 7"):
        ctx.local_batch(7)
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(GalexploreError, match="RANK=2"):
        Distributed.from_env()
    assert not Distributed().active and Distributed().shard(batch) is batch
