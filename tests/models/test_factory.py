"""Default model configs: the projection-head choice of single-modality runs, azimuthal pooling."""

from __future__ import annotations

import pytest
import torch

from galexplore.models.factory import build_model, default_config

MAPS = {
    "maps": {
        "channels": ["log_sigma_star", "log_age_lw", "zh_lw", "log_ew_ha", "log_flux"],
        "shape": [5, 64, 64],
        "units": ["dex(Msun/pc2)", "dex(yr)", "dex", "dex(Angstrom)", "dex"],
    }
}


def _norm(c: int) -> dict:
    return {"maps": {"kind": "standardize", "mean": [0.0] * c, "std": [1.0] * c, "softening": None}}


def test_default_maps_head_is_an_mlp_and_the_embedding_its_input():
    cfg = default_config("maps", MAPS)
    assert cfg["heads"]["maps"]["kind"] == "mlp" and cfg["embed_from"] == "features"
    model = build_model(cfg, _norm(5)).eval()
    enc = model.tower.encoder
    x = torch.randn(3, 5, 32, 32)
    z = model.embed({"maps": x})["maps"]
    assert z.shape == (3, enc.feature_dim) and enc.fc is None
    assert model.tower(x).shape == (3, 64)  # what the loss compares


def test_head_none_is_the_ecalifa_64d_output_used_directly():
    cfg = default_config("maps", MAPS, head="none")
    assert cfg["heads"]["maps"] == {"kind": "identity"} and cfg["embed_from"] == "projection"
    model = build_model(cfg, _norm(5)).eval()
    x = torch.randn(3, 5, 32, 32)
    z = model.embed({"maps": x})["maps"]
    assert z.shape == (3, 64)
    torch.testing.assert_close(z, model.tower(x))


def test_unknown_head_is_rejected():
    with pytest.raises(ValueError, match="head"):
        default_config("maps", MAPS, head="linear")


def test_azimuthal_orders_option_and_checkpoints_without_it():
    """The maps encoder pools azimuthal amplitudes of its residual branch by default; [] gives the
    ring-means-only encoder, whose state (a checkpoint from before the option) loads into a model
    built from its config; so does a config of the earlier feature-map amplitudes."""
    from galexplore.models.factory import AZIMUTHAL_ORDERS

    enc_cfg = default_config("maps", MAPS)["encoders"]["maps"]
    assert (
        enc_cfg["fourier_orders"] == list(AZIMUTHAL_ORDERS) == [2] and enc_cfg["fourier_source"] == "residual"
    )
    plain = default_config("maps", MAPS, azimuthal_orders=[])
    assert not any(k.startswith("fourier") for k in plain["encoders"]["maps"])
    assert "auxiliary" not in plain  # no amplitudes, so no loss on them
    with_m = build_model(default_config("maps", MAPS, azimuthal_orders=[2, 3]), _norm(5)).tower.encoder
    without = build_model(plain, _norm(5)).tower.encoder
    assert with_m.feature_dim == without.feature_dim + 16 * 6 * 2  # 16 channels × 6 annuli × two orders
    again = build_model(plain, _norm(5))
    again.tower.encoder.load_state_dict(without.state_dict())  # strict: no new keys expected
    old = {k: v for k, v in plain["encoders"]["maps"].items()}
    old.update(
        fourier_orders=[2, 3, 4], fourier_stage=1, fourier_channels=8, fourier_rings=4, fourier_radius=0.8
    )
    earlier = build_model({**plain, "encoders": {"maps": old}}, _norm(5)).tower.encoder
    assert earlier.fourier_source == "features" and earlier.feature_dim == without.feature_dim + 8 * 4 * 3


def test_azimuthal_loss_option_selects_the_amplitudes_and_adds_to_the_loss():
    """``azimuthal_loss`` adds an InfoNCE on the azimuthal amplitudes alone (their indices in the
    features are the amplitudes' own), summed with the main loss; configs without it build
    the plain model, whose state loads strictly (checkpoints from before the option)."""
    from galexplore.models import factory

    default = default_config("maps", MAPS)["auxiliary"]
    assert (
        (default["weight"], default["rings"])
        == (factory.AZIMUTHAL_LOSS_WEIGHT, factory.AZIMUTHAL_LOSS_RINGS)
        == (1.0, 4)
    )
    assert "auxiliary" not in default_config(
        "maps", MAPS, head="none"
    )  # off by default where it cannot apply
    cfg = default_config("maps", MAPS, azimuthal_loss=0.5, azimuthal_loss_rings=2, profile_loss=0)
    model = build_model(cfg, _norm(5)).eval()
    enc, aux = model.tower.encoder, model.auxiliary
    assert aux.weight == 0.5 and len(aux.dims) == 16 * 2 * 1  # 16 channels × 2 inner annuli × m = 2
    x = torch.randn(4, 5, 32, 32)
    feats = enc(x)
    amps = enc._fourier(enc._residual_branch(enc._inputs(x, None)))
    torch.testing.assert_close(feats[:, aux.dims], amps.reshape(4, 16, 6, 1)[:, :, :2].flatten(1))
    v1, v2 = torch.randn(4, 5, 32, 32), torch.randn(4, 5, 32, 32)
    f = model.tower.features(torch.cat([v1, v2]))
    z1, z2 = model.tower.head(f).chunk(2)
    torch.testing.assert_close(model(v1, v2), model.loss(z1, z2) + aux(*f.chunk(2)))
    plain = build_model(default_config("maps", MAPS, azimuthal_loss=0, profile_loss=0), _norm(5))
    assert plain.auxiliary is None and "auxiliary" not in default_config("maps", MAPS, azimuthal_loss=0)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("auxiliary.")})
    with pytest.raises(ValueError, match="azimuthal loss"):
        default_config("maps", MAPS, head="none", azimuthal_loss=0.5)


def test_maps_runs_reconstruct_the_radial_profile_by_default():
    """A maps run adds the profile reconstruction loss (a linear layer from the features to the
    5 channels × 5 ring means) to its contrastive loss; ``profile_loss=0`` and the other
    modalities build without it, and a model saved without it loads strictly."""
    from galexplore.models import factory

    cfg = default_config("maps", MAPS, azimuthal_loss=0)
    assert cfg["reconstruction"]["weight"] == factory.PROFILE_LOSS_WEIGHT > 0
    assert default_config("maps", MAPS)["reconstruction"] == cfg["reconstruction"]
    model = build_model(cfg, _norm(5)).eval()
    rec = model.reconstruction
    assert isinstance(rec.head.net[0], torch.nn.Linear) and len(rec.head.net) == 1
    assert (rec.head.in_dim, rec.head.out_dim) == (
        model.tower.encoder.feature_dim,
        5 * factory.PROFILE_LOSS_RINGS,
    )
    v1, v2 = torch.randn(4, 5, 32, 32), torch.randn(4, 5, 32, 32)
    v1[:, :, :3] = float("nan")  # no data along one edge
    x = model.tower.preprocess(torch.cat([v1, v2]))
    f = model.tower.features(torch.cat([v1, v2]))
    z1, z2 = model.tower.head(f).chunk(2)
    total = model(v1, v2)
    assert torch.isfinite(total)
    torch.testing.assert_close(total, model.loss(z1, z2) + rec(f, x))
    assert rec(f, x) > 0

    plain_cfg = default_config("maps", MAPS, profile_loss=0, azimuthal_loss=0)
    assert "reconstruction" not in plain_cfg
    plain = build_model(plain_cfg, _norm(5))
    assert plain.reconstruction is None
    plain.load_state_dict(
        {k: v for k, v in model.state_dict().items() if not k.startswith("reconstruction.")}
    )
    assert "reconstruction" not in default_config("maps", MAPS, head="none", profile_loss=0)
    assert default_config("maps", MAPS, head="none")["reconstruction"]["weight"] > 0
    images = {"images": {"channels": ["g", "r", "i"], "shape": [3, 64, 64], "units": ["nanomaggy"] * 3}}
    assert "reconstruction" not in default_config("images", images)
    with pytest.raises(ValueError, match="profile loss"):
        default_config("images", images, profile_loss=1.0)


DISPLAY = {
    "images": {
        "channels": ["red", "green", "blue"],
        "shape": [3, 64, 64],
        "units": ["display value (0-1, not linear flux)"] * 3,
    }
}
FLUX = {"images": {"channels": ["g", "r", "i"], "shape": [3, 128, 128], "units": ["nanomaggy"] * 3}}


def test_images_default_encoder_views_and_input_size():
    from galexplore.models.factory import IMAGE_ENCODER, image_pooling

    disp = default_config("images", DISPLAY)
    enc = disp["encoders"]["images"]
    assert {k: enc[k] for k in IMAGE_ENCODER} == IMAGE_ENCODER and disp["inputs"]["images"]["pool"] == 1
    assert disp["augment"]["images"]["max_ebv"] == 0.0  # no reddening of a display rendering
    assert disp["heads"]["images"] == {"kind": "mlp", "out_dim": 128, "hidden": 512, "n_layers": 2}
    flux = default_config("images", FLUX, width=8)
    assert flux["augment"]["images"]["max_ebv"] > 0 and flux["inputs"]["images"]["pool"] == 2
    assert flux["encoders"]["images"]["width"] == 8
    assert [image_pooling(s) for s in (32, 64, 96, 128, 424, 100)] == [1, 1, 1, 2, 4, 1]
    model = build_model(
        disp, {"images": {"kind": "standardize", "mean": [0.0] * 3, "std": [1.0] * 3, "softening": None}}
    ).eval()
    assert model.embed({"images": torch.rand(2, 3, 64, 64)})["images"].shape == (2, 256)
