"""``galexplore train`` and ``galexplore embed`` from the command line."""

from __future__ import annotations

import pytest

from galexplore.artifacts.runs import read_embeddings
from galexplore.cli import main


@pytest.mark.parametrize(
    ("head", "dim"),
    # width 4, 2 stages: 16 channels × 5 rings of ring means + 2 channels × 4 rings × 3 azimuthal
    # orders (m = 2, 3, 4); --azimuthal-orders with none: ring means only; eCALIFA: the 64-d output
    # --azimuthal-loss and the default profile loss train extra layers that are not part of the embedding
    [
        ([], 80 + 24),
        (["--azimuthal-orders"], 80),
        (["--head", "none", "--profile-loss", "0"], 64),
        (["--azimuthal-loss", "1"], 80 + 24),
        (["--profile-loss", "0"], 80 + 24),
    ],
    ids=["mlp", "rings-only", "ecalifa", "azimuthal-loss", "no-profile-loss"],
)
def test_train_then_embed(tiny_survey, tmp_path, capsys, head, dim):
    run = tmp_path / "run"
    rc = main(
        [
            "-q",
            "train",
            str(tiny_survey.path),
            "--out",
            str(run),
            "--epochs",
            "1",
            "--width",
            "4",
            "--depth",
            "2",
            "--batch-size",
            "32",
            "--device",
            "cpu",
            *head,
        ]
    )
    assert rc == 0
    assert "trained 1 epochs on cpu" in capsys.readouterr().err
    assert main(["-q", "embed", str(tiny_survey.path), str(run), "--device", "cpu"]) == 0
    assert f"embedded 96 galaxies (emb_maps {dim}-d)" in capsys.readouterr().err
    assert read_embeddings(run).get().shape == (96, dim)


def test_azimuthal_loss_needs_the_amplitudes_and_the_mlp_head(tiny_survey, tmp_path, capsys):
    for extra in (["--head", "none"], ["--azimuthal-orders"], ["--modality", "images"]):
        assert (
            main(
                [
                    "train",
                    str(tiny_survey.path),
                    "--out",
                    str(tmp_path / "r"),
                    "--azimuthal-loss",
                    "1",
                    *extra,
                ]
            )
            == 1
        )
        err = capsys.readouterr().err.strip()
        assert "azimuthal" in err and "\n" not in err, (extra, err)


def test_profile_loss_is_for_maps_runs(tiny_survey, tmp_path, capsys):
    for extra in (["--modality", "images"], ["--loss", "moco"]):
        assert (
            main(
                ["train", str(tiny_survey.path), "--out", str(tmp_path / "r"), "--profile-loss", "1", *extra]
            )
            == 1
        )
        err = capsys.readouterr().err.strip()
        assert "--profile-loss" in err and "\n" not in err, (extra, err)
    assert not (tmp_path / "r").exists()


def test_embed_without_run_is_one_line_error(tiny_survey, tmp_path, capsys):
    assert main(["embed", str(tiny_survey.path), str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("galexplore: error:") and "encoder.pt" in err and "\n" not in err


def test_cuda_request_without_gpu(tiny_survey, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["train", str(tiny_survey.path), "--out", str(tmp_path / "r"), "--device", "cuda"]) == 1
    assert "CUDA" in capsys.readouterr().err


def test_bad_modality_is_rejected(tiny_survey, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", str(tiny_survey.path), "--out", str(tmp_path / "r"), "--modality", "sound"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_choices_agree_with_library():
    from galexplore.cli import train as cli_train
    from galexplore.models import factory
    from galexplore.models.factory import HEADS, MODALITY_CHOICES
    from galexplore.training.config import DEVICES, PRECISIONS, TrainConfig

    assert (cli_train.AZIMUTHAL_LOSS_WEIGHT, cli_train.AZIMUTHAL_LOSS_RINGS) == (
        factory.AZIMUTHAL_LOSS_WEIGHT,
        factory.AZIMUTHAL_LOSS_RINGS,
    )
    assert cli_train.PROFILE_LOSS_WEIGHT == factory.PROFILE_LOSS_WEIGHT
    assert cli_train.MODALITIES == tuple(MODALITY_CHOICES)
    assert cli_train.HEADS == HEADS
    assert cli_train.DEVICES == DEVICES
    assert cli_train.PRECISIONS == PRECISIONS
    d = TrainConfig()
    for k, v in vars(cli_train.DEFAULTS).items():
        assert getattr(d, k) == v, k
    from galexplore.training import config

    assert cli_train.MODALITY_DEFAULTS == config.MODALITY_DEFAULTS
    assert cli_train.GENERIC_DEFAULTS == config.GENERIC_DEFAULTS
    assert (d.epochs, d.batch_size, d.lr) == (12, 64, 3e-3)  # maps
    img = TrainConfig(modality="images")
    assert (img.epochs, img.batch_size, img.lr) == (20, 256, 2e-3)
    assert TrainConfig(modality="images", epochs=3).epochs == 3


def test_resume_without_epochs_keeps_the_planned_epochs(tiny_survey, tmp_path, capsys):
    """An images run planned for 2 epochs: --resume alone does not switch it to another default."""
    from galexplore.training import load_checkpoint

    run = tmp_path / "r"
    base = [
        "train",
        str(tiny_survey.path),
        "--out",
        str(run),
        "--modality",
        "images",
        "--width",
        "4",
        "--depth",
        "2",
        "--batch-size",
        "32",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    assert main([*base, "--epochs", "2"]) == 0
    assert main([*base, "--resume"]) == 0
    assert load_checkpoint(run)["epoch"] == 2 and load_checkpoint(run)["train_config"]["epochs"] == 2
    assert main([*base, "--resume", "--epochs", "3"]) == 0
    assert load_checkpoint(run)["epoch"] == 3
