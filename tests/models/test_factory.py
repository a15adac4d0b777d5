"""Default model configs: the projection-head choice of single-modality runs, azimuthal pooling."""

from __future__ import annotations

import pytest
import torch

from galexplore.models.factory import build_model, default_config

MAPS = {"maps": {"channels": ["log_sigma_star", "log_age_lw", "zh_lw", "log_ew_ha", "log_flux"], "shape": [5, 64, 64],
                 "units": ["dex(Msun/pc2)", "dex(yr)", "dex", "dex(Angstrom)", "dex"]}}  # fmt: skip


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
    """The maps encoder pools azimuthal amplitudes by default; [] gives the ring-means-only encoder,
    whose state (a checkpoint from before the option) loads into a model built from its config."""
    from galexplore.models.factory import AZIMUTHAL_ORDERS

    enc_cfg = default_config("maps", MAPS)["encoders"]["maps"]
    assert enc_cfg["fourier_orders"] == list(AZIMUTHAL_ORDERS) and enc_cfg["fourier_stage"] == 1
    plain = default_config("maps", MAPS, azimuthal_orders=[])
    assert not any(k.startswith("fourier") for k in plain["encoders"]["maps"])
    with_m = build_model(default_config("maps", MAPS, azimuthal_orders=[2]), _norm(5)).tower.encoder
    without = build_model(plain, _norm(5)).tower.encoder
    assert with_m.feature_dim == without.feature_dim + 8 * 4  # 8 channels × 4 annuli × one order
    again = build_model(plain, _norm(5))
    again.tower.encoder.load_state_dict(without.state_dict())  # strict: no new keys expected
