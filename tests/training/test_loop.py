"""The training loop: checkpoint contents, log, resume, early stopping, devices."""

from __future__ import annotations

import csv

import pytest
import torch

from galexplore.artifacts.paths import RunPaths
from galexplore.errors import GalexploreError, StoreError
from galexplore.training import TrainConfig, load_checkpoint, train

from .conftest import tiny


def _log_epochs(run):
    with open(RunPaths.of(run).train_log) as fh:
        return [int(r["epoch"]) for r in csv.DictReader(fh)]


def test_train_writes_checkpoint_and_log(tiny_survey, tmp_path):
    run = tmp_path / "run"
    res = train(tiny_survey, run, tiny(epochs=2))
    assert res.epochs == 2 and not res.stopped_early
    ckpt = torch.load(run / "encoder.pt", weights_only=True)
    for key in ("model", "model_config", "normalisation", "survey", "train_config", "history", "training"):
        assert key in ckpt
    assert ckpt["survey"]["fingerprint"] == tiny_survey.fingerprint
    assert ckpt["model_config"]["loss"] == {"kind": "infonce", "temperature": 0.2}
    assert len(ckpt["normalisation"]["maps"]["mean"]) == 5
    with open(run / "train_log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    # the default maps run reports its extra terms (inside "loss") beside the total
    extra = ["loss_azimuthal", "loss_profile"]
    assert list(rows[0]) == ["epoch", "loss", "val_loss", "lr", "seconds", "samples_per_s", *extra]
    assert float(rows[0]["samples_per_s"]) > 0 and float(rows[1]["val_loss"]) > 0
    for col in extra:
        assert all(0 < float(r[col]) < float(r["loss"]) for r in rows), col
        assert [h[col] for h in ckpt["history"]] == [float(r[col]) for r in rows]


def test_a_run_without_extra_losses_logs_the_total_only(tiny_survey, tmp_path):
    run = tmp_path / "run"
    train(tiny_survey, run, tiny(epochs=1, profile_loss=0, azimuthal_loss=0))
    with open(run / "train_log.csv") as fh:
        assert next(csv.reader(fh)) == ["epoch", "loss", "val_loss", "lr", "seconds", "samples_per_s"]


def test_training_is_seeded(tiny_survey, tmp_path):
    a = train(tiny_survey, tmp_path / "a", tiny(epochs=1))
    b = train(tiny_survey, tmp_path / "b", tiny(epochs=1))
    assert a.history[0]["loss"] == b.history[0]["loss"]
    sa, sb = load_checkpoint(tmp_path / "a")["model"], load_checkpoint(tmp_path / "b")["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.slow
def test_resume_continues_where_it_stopped(tiny_survey, tmp_path):
    straight = train(tiny_survey, tmp_path / "straight", tiny(epochs=3))
    run = tmp_path / "run"
    with pytest.raises(_Stop):
        train(tiny_survey, run, tiny(epochs=3), on_epoch=_stop_after(2))
    assert _log_epochs(run) == [1, 2]
    res = train(tiny_survey, run, tiny(epochs=3), resume=True)
    assert res.resumed_from == 2
    assert _log_epochs(run) == [1, 2, 3]
    # Same RNG, optimizer and scheduler state: the resumed run matches the uninterrupted one.
    assert res.history[-1]["loss"] == pytest.approx(straight.history[-1]["loss"], rel=1e-4)


class _Stop(Exception):
    pass


def _stop_after(n):
    def cb(row):
        if row["epoch"] >= n:
            raise _Stop

    return cb


def test_resume_can_extend_epochs_and_is_idempotent(tiny_survey, tmp_path):
    run = tmp_path / "run"
    train(tiny_survey, run, tiny(epochs=1))
    train(tiny_survey, run, tiny(epochs=2), resume=True)
    res = train(tiny_survey, run, tiny(epochs=2), resume=True)  # already done: nothing to do
    assert res.epochs == 2 and _log_epochs(run) == [1, 2]


def test_resume_refuses_another_survey(tiny_survey, survey_400, tmp_path):
    run = tmp_path / "run"
    train(tiny_survey, run, tiny(epochs=1))
    with pytest.raises(StoreError, match="fingerprint"):
        train(survey_400, run, tiny(epochs=2), resume=True)


def test_early_stopping(tiny_survey, tmp_path):
    res = train(tiny_survey, tmp_path / "run", tiny(epochs=10, patience=1, min_delta=1e9))
    assert res.stopped_early and res.epochs == 2
    assert load_checkpoint(tmp_path / "run")["stopped_early"]


def test_cuda_without_gpu_is_a_clear_error(tiny_survey, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(GalexploreError, match="CUDA"):
        train(tiny_survey, tmp_path / "run", tiny(device="cuda"))


@pytest.mark.parametrize("modality", ["images", "maps+images", "images+spectra"])
def test_other_families_train(tiny_survey, tmp_path, modality):
    res = train(tiny_survey, tmp_path / modality.replace("+", "_"), tiny(modality=modality, epochs=1))
    assert res.history[0]["loss"] > 0
    cfg = load_checkpoint(tmp_path / modality.replace("+", "_"))["model_config"]
    assert cfg["family"] == ("moco" if modality == "images" else "clip")  # MoCo v2: the images default


def test_simclr_option_and_moco_default_for_images(tiny_survey, tmp_path):
    train(tiny_survey, tmp_path / "moco", tiny(modality="images", epochs=1))
    ckpt = load_checkpoint(tmp_path / "moco")
    assert ckpt["model_config"]["family"] == "moco" and ckpt["train_config"]["loss"] == "moco"
    assert any(k.startswith("key_tower.") for k in ckpt["model"])
    train(tiny_survey, tmp_path / "simclr", tiny(modality="images", loss="ntxent", epochs=1))
    ckpt = load_checkpoint(tmp_path / "simclr")
    assert (
        ckpt["model_config"]["family"] == "contrastive" and ckpt["model_config"]["loss"]["kind"] == "ntxent"
    )
    assert not any(k.startswith("key_tower.") for k in ckpt["model"])


def test_an_images_run_from_before_the_moco_default_resumes_as_simclr(tiny_survey, tmp_path):
    """Checkpoints stored ``loss: None`` for images when None meant SimCLR: resuming one must
    rebuild the same SimCLR model, not a MoCo one that its weights do not fit."""
    import torch as th

    run = tmp_path / "old"
    train(tiny_survey, run, tiny(modality="images", loss="ntxent", epochs=1))
    path = run / "encoder.pt"
    ckpt = th.load(path, weights_only=False)
    ckpt["train_config"]["loss"] = None  # as written before the change
    th.save(ckpt, path)
    res = train(tiny_survey, run, tiny(modality="images", epochs=2), resume=True)
    ckpt = load_checkpoint(run)
    assert res.epochs == 2 and ckpt["model_config"]["family"] == "contrastive"
    assert TrainConfig.from_dict({"modality": "images", "loss": None}).loss == "ntxent"
    assert TrainConfig(modality="images").loss == "moco" and TrainConfig(modality="maps").loss is None


@pytest.mark.gpu
def test_cuda_mixed_precision(tiny_survey, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    res = train(tiny_survey, tmp_path / "run", TrainConfig(epochs=2, batch_size=32, device="cuda"))
    assert res.device == "cuda" and res.epochs == 2


def test_bad_config():
    with pytest.raises(ValueError, match="modality"):
        TrainConfig(modality="sound")


def test_precision_resolution():
    from galexplore.training.setup import cpu_has_native_bf16, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) is None
    assert resolve_precision("bf16", cpu) is torch.bfloat16
    assert resolve_precision("auto", cpu) is (torch.bfloat16 if cpu_has_native_bf16() else None)
    assert resolve_precision("auto", torch.device("cuda")) is torch.float16
    with pytest.raises(GalexploreError, match="fp16 needs a CUDA device"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")


def test_bf16_training_on_cpu_matches_float32_closely(tiny_survey, tmp_path):
    """bfloat16 mixed precision trains the same model: first-epoch losses agree to a few per cent,
    the weights stay float32, and the checkpoint records the arithmetic used."""
    a = train(tiny_survey, tmp_path / "fp32", tiny(epochs=1, modality="images", precision="fp32"))
    b = train(tiny_survey, tmp_path / "bf16", tiny(epochs=1, modality="images", precision="bf16"))
    assert abs(a.history[0]["loss"] - b.history[0]["loss"]) < 0.03 * a.history[0]["loss"]
    ck = load_checkpoint(tmp_path / "bf16")
    assert (
        ck["training"]["precision"] == "bfloat16"
        and load_checkpoint(tmp_path / "fp32")["training"]["precision"] == "float32"
    )
    assert all(v.dtype == torch.float32 for v in ck["model"].values() if v.is_floating_point())


def test_display_images_are_standardised_without_asinh(tmp_path):
    """JPEG/PNG renderings are already stretched: no asinh, sky noise from the frame border."""
    import numpy as np
    import pandas as pd
    from PIL import Image

    from galexplore.data.ingest import ingest_images

    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(40):
        img = rng.normal(20, 4, (32, 32, 3))
        img[12:20, 10:22] += rng.uniform(60, 160)
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(folder / f"g{i}.png")
    pd.DataFrame(
        {"galaxy_id": [f"g{i}" for i in range(40)], "file": [f"g{i}.png" for i in range(40)]}
    ).to_csv(tmp_path / "c.csv", index=False)
    survey = ingest_images(folder, tmp_path / "c.csv", tmp_path / "s", size=32, crop=1.0).survey
    train(survey, tmp_path / "run", tiny(modality="images", epochs=1, batch_size=16))
    ck = load_checkpoint(tmp_path / "run")
    assert ck["normalisation"]["images"]["softening"] is None
    sky = ck["model_config"]["augment"]["images"]["sky_noise"]
    assert len(sky) == 3 and all(abs(s - 4 / 255) < 1.5 / 255 for s in sky)  # the border's pixel noise
    assert ck["model_config"]["augment"]["images"]["max_ebv"] == 0.0
