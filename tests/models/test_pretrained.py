"""embed --pretrained: every adapter built with random weights saved here, through the whole path.

For each of timm, Zoobot, AstroPT and AION: the vectors have the model's width, are the same on
a second run and for any batch size, equal the model's own output on the documented
preprocessing, and change when one weight in the file changes (so the file is really loaded).
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from galexplore.artifacts.runs import read_embeddings
from galexplore.models.pretrained import MissingWeightsError, embed_pretrained, parse_name
from galexplore.models.pretrained.images import display_rgb, resize

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(p) is None for p in ("timm", "astropt", "aion", "safetensors")),
    reason='the [pretrained] extra is not installed (pip install "galexplore[pretrained]")',
)
N = 10


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from galexplore.data.synthetic import synthesize

    return synthesize(N, tmp_path_factory.mktemp("pre") / "s", seed=4, workers=1)


@pytest.fixture(autouse=True)
def offline_hub(tmp_path, monkeypatch):
    """No test may reach the network or a real hub cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)


def save_safetensors(model: torch.nn.Module, folder, config: dict | None = None):
    from safetensors.torch import save_model

    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, str(folder / "model.safetensors"))
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return folder


def perturbed(folder, out, key: str | None = None, sub: str = ""):
    """A copy of the weights folder with one tensor changed by seeded noise of 0.05 (not a constant:
    a norm layer after it could cancel a constant shift)."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(folder, out)
    state = load_file(str(out / sub / "model.safetensors"))
    key = key or next(k for k, v in state.items() if v.dtype.is_floating_point and v.ndim >= 2)
    noise = torch.randn(state[key].shape, generator=torch.Generator().manual_seed(0))
    state[key] = state[key] + 0.05 * noise
    save_file(state, str(out / sub / "model.safetensors"))
    return out


def check_adapter(survey, tmp_path, name, weights, changed, width):
    """Shapes, determinism, batch-size invariance and that the weights file is really used."""
    a = read_embeddings(
        embed_pretrained(survey, tmp_path / "a", name, weights=weights, batch_size=4, device="cpu").parent
    )
    z = a.get("images")
    assert z.shape == (N, width) and z.dtype == np.float32 and np.isfinite(z).all()
    assert list(a.galaxy_ids) == list(survey.catalog["galaxy_id"])
    assert a.metadata["source"] == "pretrained" and a.metadata["model_name"] == name
    assert len(a.metadata["weights"]["sha256"]) == 64
    again = read_embeddings(
        embed_pretrained(survey, tmp_path / "b", name, weights=weights, batch_size=4, device="cpu").parent
    )
    np.testing.assert_array_equal(again.get("images"), z)
    one = read_embeddings(
        embed_pretrained(survey, tmp_path / "c", name, weights=weights, batch_size=1, device="cpu").parent
    )
    np.testing.assert_allclose(one.get("images"), z, rtol=1e-4, atol=1e-5)
    other = read_embeddings(
        embed_pretrained(survey, tmp_path / "d", name, weights=changed, batch_size=4, device="cpu").parent
    )
    assert np.abs(other.get("images") - z).max() > 1e-4
    return z


def loaded(name, weights):
    enc = parse_name(name)
    enc.load(weights, torch.device("cpu"))
    return enc


@pytest.mark.slow
def test_timm_backbone(survey, tmp_path):
    from galexplore.models.pretrained._torchvision import import_timm

    timm = import_timm()
    torch.manual_seed(0)
    model = timm.create_model("test_convnext", pretrained=False, num_classes=0).eval()
    w = save_safetensors(model, tmp_path / "w")
    z = check_adapter(
        survey,
        tmp_path,
        "timm:test_convnext",
        w,
        perturbed(w, tmp_path / "w2", key="stem.0.weight"),
        model.num_features,
    )
    # the same as timm's own model on timm's evaluation transform of the Lupton RGB image
    cfg = model.pretrained_cfg
    size, crop = cfg["input_size"][-1], cfg["crop_pct"]
    rgb = torch.from_numpy(display_rgb(survey.read("images", slice(0, 3)), survey.spec("images")))
    x = resize(rgb, int(np.floor(size / crop)), mode=cfg["interpolation"])
    top = (x.shape[-1] - size) // 2
    x = x[..., top : top + size, top : top + size]
    x = (x - torch.tensor(cfg["mean"]).view(1, 3, 1, 1)) / torch.tensor(cfg["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        np.testing.assert_allclose(model(x).numpy(), z[:3], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("greyscale", [False, True])
def test_zoobot_encoder_with_zoobots_preprocessing(survey, tmp_path, greyscale):
    from galexplore.models.pretrained._torchvision import import_timm

    torch.manual_seed(1)
    model = (
        import_timm()
        .create_model("test_convnext", pretrained=False, num_classes=0, in_chans=1 if greyscale else 3)
        .eval()
    )
    w = save_safetensors(model, tmp_path / "w", {"architecture": "test_convnext", "num_classes": 0})
    name = "zoobot:greyscale-test_convnext" if greyscale else "zoobot:test_convnext"
    z = check_adapter(
        survey, tmp_path, name, w, perturbed(w, tmp_path / "w2", key="stem.0.weight"), model.num_features
    )
    # Zoobot: RGB in 0-1, bilinear antialiased resize to 224, no normalisation; greyscale = channel mean
    rgb = torch.from_numpy(display_rgb(survey.read("images", slice(0, 2)), survey.spec("images")))
    x = torch.nn.functional.interpolate(
        rgb.mean(1, keepdim=True) if greyscale else rgb,
        size=(224, 224),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    with torch.no_grad():
        np.testing.assert_allclose(model(x).numpy(), z[:2], rtol=1e-4, atol=1e-5)


def test_zoobot_weights_from_the_hub_cache(survey, tmp_path):
    """Without --weights, the files of hf_hub:mwalmsley/zoobot-encoder-<name> in the Hugging Face cache are used."""
    from galexplore.models.pretrained._torchvision import import_timm
    from galexplore.models.pretrained.weights import hub_cache_dir

    model = import_timm().create_model("test_convnext", pretrained=False, num_classes=0)
    repo = hub_cache_dir() / "models--mwalmsley--zoobot-encoder-test_convnext"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    save_safetensors(model, repo / "snapshots" / "0123abcd", {"architecture": "test_convnext"})
    with pytest.raises(MissingWeightsError, match="zoobot-encoder-convnext_nano"):
        embed_pretrained(survey, tmp_path / "none", "zoobot:convnext_nano", device="cpu")
    path = embed_pretrained(survey, tmp_path / "r", "zoobot:test_convnext", device="cpu")
    meta = read_embeddings(path.parent).metadata
    assert meta["weights"]["path"].endswith("snapshots/0123abcd/model.safetensors")


@pytest.mark.slow
def test_zoobot_convnext_nano_architecture(survey, tmp_path):
    """The real Zoobot 2 architecture (ConvNeXt-Nano, 640-d), with random weights."""
    from galexplore.models.pretrained._torchvision import import_timm

    model = import_timm().create_model("convnext_nano", pretrained=False, num_classes=0)
    w = save_safetensors(model, tmp_path / "w", {"architecture": "convnext_nano"})
    path = embed_pretrained(
        survey, tmp_path / "r", "zoobot:convnext_nano", weights=w, batch_size=5, device="cpu"
    )
    assert read_embeddings(path.parent).get().shape == (N, 640)


def tiny_astropt(path):
    from galexplore.models.pretrained._torchvision import import_torchvision

    import_torchvision()
    from astropt.model import GPT, GPTConfig, ModalityConfig, ModalityRegistry

    torch.manual_seed(2)
    reg = ModalityRegistry(
        [ModalityConfig(name="images", input_size=8 * 8 * 3, pos_input_size=1, patch_size=8, embed_pos=True)]
    )
    args = dict(block_size=64, n_layer=2, n_head=2, n_embd=32, n_chan=3, bias=False)
    model = GPT(GPTConfig(**args), reg, master_process=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "model_args": args, "modality_registry": reg}, path)
    return model


def test_astropt(survey, tmp_path):
    model = tiny_astropt(tmp_path / "w" / "ckpt.pt")
    ckpt = torch.load(tmp_path / "w" / "ckpt.pt", weights_only=False)
    w = ckpt["model"]["transformer.h.0.attn.c_attn.weight"]
    w += 0.05 * torch.randn(w.shape, generator=torch.Generator().manual_seed(0))
    (tmp_path / "w2").mkdir()
    torch.save(ckpt, tmp_path / "w2" / "ckpt.pt")
    z = check_adapter(survey, tmp_path, "astropt:tiny", tmp_path / "w", tmp_path / "w2" / "ckpt.pt", 32)
    # AstroPT's own patching of one galaxy (GalaxyImageDataset.process_galaxy + its normalise)
    from astropt.local_datasets import GalaxyImageDataset

    ds = GalaxyImageDataset(
        None,
        spiral=True,
        transform={"images": lambda x: (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 1e-8)},
        modality_registry=model.modality_registry,
    )
    rgb = torch.from_numpy(display_rgb(survey.read("images", slice(0, 1)), survey.spec("images"))) * 255.0
    tokens = ds.process_galaxy(resize(rgb, 64)[0])[None]
    with torch.no_grad():
        want = model.eval().generate_embeddings(
            {"images": tokens, "images_positions": torch.arange(64)[None]}
        )["images"]
    np.testing.assert_allclose(want.numpy(), z[:1], rtol=1e-4, atol=1e-5)


def tiny_aion(folder):
    from aion import AION
    from aion.codecs.image import ImageCodec
    from safetensors.torch import save_model

    torch.manual_seed(3)
    config = dict(
        dim=32,
        encoder_depth=1,
        decoder_depth=1,
        num_heads=2,
        mlp_ratio=2.0,
        qkv_bias=True,
        proj_bias=True,
        mlp_bias=True,
        norm_bias=True,
        act_layer="GELU",
        gated_mlp=False,
        qk_norm=False,
        domains_in=["tok_image"],
        domains_out=["tok_image"],
    )
    codec_config = dict(quantizer_levels=[7, 5, 5, 5, 5], hidden_dims=8, n_compressions=2, num_consecutive=1)
    (folder / "codecs" / "image").mkdir(parents=True)
    save_model(AION(config), str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    save_model(ImageCodec(**codec_config), str(folder / "codecs" / "image" / "model.safetensors"))
    (folder / "codecs" / "image" / "config.json").write_text(json.dumps(codec_config))
    return folder


def test_aion(survey, tmp_path):
    w = tiny_aion(tmp_path / "w")
    changed = perturbed(w, tmp_path / "w2", key="encoder.0.mlp.fc1.weight")
    z = check_adapter(survey, tmp_path, "aion:tiny", w, changed, 32)
    # the codec's weights are loaded too
    codec_changed = perturbed(w, tmp_path / "w3", sub="codecs/image")
    other = read_embeddings(
        embed_pretrained(survey, tmp_path / "e", "aion:tiny", weights=codec_changed, device="cpu").parent
    )
    assert np.abs(other.get() - z).max() > 1e-4


def test_aion_needs_legacy_survey_fluxes(tmp_path):
    from galexplore.data.store import ModalitySpec
    from galexplore.errors import GalexploreError

    enc = parse_name("aion:base")
    with pytest.raises(GalexploreError, match="band 'u'"):
        enc.check(ModalitySpec("images", (2, 8, 8), ["u", "g"], ["nanomaggy"] * 2))
    with pytest.raises(GalexploreError, match="display values"):
        enc.check(
            ModalitySpec(
                "images", (3, 8, 8), ["red", "green", "blue"], ["display value (0-1, not linear flux)"] * 3
            )
        )
    enc.check(ModalitySpec("images", (3, 8, 8), ["g", "r", "z"], ["nanomaggy"] * 3))
    assert enc.bands == ["DES-G", "DES-R", "DES-Z"]


@pytest.mark.slow
def test_cli_embed_pretrained_then_project(survey, tmp_path):
    import subprocess
    import sys

    from galexplore.models.pretrained._torchvision import import_timm

    w = save_safetensors(import_timm().create_model("test_efficientnet", num_classes=0), tmp_path / "w")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "galexplore",
            "-q",
            "embed",
            str(survey.path),
            str(tmp_path / "run"),
            "--pretrained",
            "timm:test_efficientnet",
            "--weights",
            str(w),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert f"embedded {N} galaxies (emb_images 256-d)" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "galexplore", "-q", "project", str(tmp_path / "run"), "--method", "pca"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
