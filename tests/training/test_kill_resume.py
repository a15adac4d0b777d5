"""A real ``galexplore train`` process killed with SIGKILL resumes with no lost or repeated epoch."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

EPOCHS = 8


def _epochs(path):
    if not path.is_file():
        return []
    with open(path) as fh:
        return [int(r["epoch"]) for r in csv.DictReader(fh)]


def _cmd(survey, run, *extra):
    return [
        sys.executable,
        "-m",
        "galexplore",
        "-q",
        "train",
        str(survey),
        "--out",
        str(run),
        "--epochs",
        str(EPOCHS),
        "--width",
        "4",
        "--depth",
        "2",
        "--batch-size",
        "8",
        "--threads",
        "1",
        "--device",
        "cpu",
        *extra,
    ]


@pytest.mark.slow
def test_kill_9_then_resume(tiny_survey, tmp_path):
    run = tmp_path / "run"
    log = run / "train_log.csv"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        _cmd(tiny_survey.path, run), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 240
        while len(_epochs(log)) < 2:
            assert proc.poll() is None, f"training exited early: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "training too slow to reach epoch 2"
            time.sleep(0.05)
        assert proc.poll() is None, "training finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = _epochs(log)
    assert 2 <= len(done) < EPOCHS and done == list(range(1, len(done) + 1))
    ckpt_epoch = torch.load(run / "encoder.pt", weights_only=True)["epoch"]
    assert ckpt_epoch in (
        len(done),
        len(done) + 1,
    )  # a kill between checkpoint and log rewrite is healed on resume

    out = subprocess.run(
        _cmd(tiny_survey.path, run, "--resume"), env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert _epochs(log) == list(range(1, EPOCHS + 1))
    ckpt = torch.load(run / "encoder.pt", weights_only=True)
    assert ckpt["epoch"] == EPOCHS and ckpt["finished"]
    assert [h["epoch"] for h in ckpt["history"]] == list(range(1, EPOCHS + 1))
