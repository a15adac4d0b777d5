"""``galexplore demo``: fingerprints decide what is reused."""

from __future__ import annotations

import pandas as pd
import pytest

from galexplore.cli import main
from galexplore.demo import STAGES, Demo, DemoConfig


def test_fingerprints_track_settings_and_artifacts(tmp_path):
    demo = Demo(tmp_path, DemoConfig(n=40, seed=3))
    assert not demo.is_current("synthesise")
    demo._synthesise()
    demo._record("synthesise")
    assert Demo(tmp_path, DemoConfig(n=40, seed=3)).is_current("synthesise")  # read back from demo.json
    assert not Demo(tmp_path, DemoConfig(n=41, seed=3)).is_current("synthesise")  # other settings
    assert not Demo(tmp_path, DemoConfig(n=40, seed=4)).is_current("synthesise")
    assert not demo.is_current("train")  # nothing trained yet
    cat = pd.read_parquet(demo.survey_path / "catalog.parquet")
    cat.loc[0, "log_mstar"] += 0.1  # an artifact changed behind the demo's back
    cat.to_parquet(demo.survey_path / "catalog.parquet", index=False)
    assert not Demo(tmp_path, DemoConfig(n=40, seed=3)).is_current("synthesise")


@pytest.mark.slow
def test_second_demo_run_reuses_everything(tmp_path, capsys):
    args = ["-q", "demo", "--workdir", str(tmp_path), "--n", "64", "--epochs", "1", "--k", "3", "--no-serve"]
    assert main(args) == 0
    first = capsys.readouterr().err
    assert all(f"{s}: done" in first for s in STAGES)
    assert main(args) == 0
    second = capsys.readouterr().err
    assert all(f"{s}: reused" in second for s in STAGES)
    assert main([*args[:-1], "--k", "4", "--no-serve"]) == 0  # only the clustering depends on k
    third = capsys.readouterr().err
    assert all(f"{s}: reused" in third for s in STAGES[:-1]) and "cluster: done" in third
