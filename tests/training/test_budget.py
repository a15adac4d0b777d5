"""``--minutes``: a timed probe sets the epochs that fit, and leaves no trace in the run."""

from __future__ import annotations

import pytest
import torch

from galexplore.cli import main
from galexplore.training import load_checkpoint, train
from galexplore.training.budget import epochs_for_budget

from .conftest import tiny


def test_epochs_for_budget_arithmetic():
    # 0.5 s per step, 10 steps + 2 validation batches per epoch: 5.4 s per epoch
    assert epochs_for_budget(1.0, 0.5, 10, 2) == int(0.95 * 60 // 5.4) == 10
    assert epochs_for_budget(0.01, 0.5, 10, 2) == 1  # always at least one epoch
    assert epochs_for_budget(10.0, 0.5, 10, 0) == int(0.95 * 600 // 5.0)
    with pytest.raises(ValueError, match="minutes"):
        epochs_for_budget(0, 0.5, 10, 2)


@pytest.mark.slow
def test_budget_run_equals_the_same_epochs_without_probe(tiny_survey, tmp_path):
    """The probe's steps are undone: the budgeted run is bit-identical to a plain run of the epochs it chose."""
    res = train(tiny_survey, tmp_path / "budget", tiny(minutes=0.05, precision="fp32"))
    chosen = load_checkpoint(tmp_path / "budget")["train_config"]["epochs"]
    assert chosen == res.epochs >= 1
    plain = train(tiny_survey, tmp_path / "plain", tiny(epochs=chosen, precision="fp32"))
    assert [h["loss"] for h in res.history] == [h["loss"] for h in plain.history]
    a, b = load_checkpoint(tmp_path / "budget")["model"], load_checkpoint(tmp_path / "plain")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_minutes_excludes_epochs(tiny_survey, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(
            ["train", str(tiny_survey.path), "--out", str(tmp_path / "r"), "--epochs", "3", "--minutes", "1"]
        )
    assert e.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["train", str(tiny_survey.path), "--out", str(tmp_path / "r"), "--minutes", "0"])
    assert e.value.code == 2 and "must be > 0" in capsys.readouterr().err
