"""Encoders, heads and models: shapes, NaN handling, parts injected."""

from __future__ import annotations

import pytest
import torch

from galexplore.models import (
    CLIPModel,
    ContrastiveModel,
    ConvEncoder,
    IdentityHead,
    InfoNCELoss,
    MoCoLoss,
    MoCoModel,
    NTXentLoss,
    ProjectionHead,
    SpectrumEncoder,
    masked_input,
)
from galexplore.models.encoders import (
    azimuthal_amplitudes,
    azimuthal_bases,
    azimuthal_residual,
    radius_grid,
    ring_weights,
)


def test_masked_input_fills_nan_and_appends_mask():
    x = torch.ones(2, 3, 4, 4)
    x[0, :, 0, 0] = float("nan")
    y = masked_input(x)
    assert y.shape == (2, 4, 4, 4)
    assert torch.isfinite(y).all()
    assert y[0, -1, 0, 0] == 0 and y[0, :3, 0, 0].eq(0).all()
    assert y[1, -1].eq(1).all()


@pytest.mark.parametrize("width,depth,stem", [(8, 2, 1), (16, 3, 2), (4, 0, 1)])
def test_conv_encoder_configurable(width, depth, stem):
    enc = ConvEncoder(5, width=width, depth=depth, stem_stride=stem, out_dim=64)
    x = torch.randn(3, 5, 32, 32)
    x[:, :, :8] = float("nan")  # missing data never propagates
    z = enc(x)
    assert z.shape == (3, 64) and torch.isfinite(z).all()
    z.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in enc.parameters() if p.grad is not None)


def test_conv_encoder_without_out_dim_returns_pooled_features():
    enc = ConvEncoder(3, width=8, depth=2, mask_channel=False)
    assert enc(torch.randn(2, 3, 16, 16)).shape == (2, enc.feature_dim) == (2, 32)


def test_encoder_ignores_values_under_the_mask():
    enc = ConvEncoder(2, width=8, depth=2).eval()
    x = torch.randn(1, 2, 16, 16)
    x[..., :4, :] = float("nan")
    y = x.clone()
    with torch.no_grad():
        a = enc(x)
        y[..., :4, :] = float("inf")
        b = enc(y)
    assert torch.allclose(a, b)


def test_spectrum_encoder():
    enc = SpectrumEncoder(2, width=8, depth=3, out_dim=32)
    x = torch.randn(4, 2, 200)
    x[0, 0, 10] = float("nan")
    z = enc(x)
    assert z.shape == (4, 32) and torch.isfinite(z).all()
    assert SpectrumEncoder(1, width=4, depth=2)(torch.randn(2, 50)).shape == (2, 32)


def test_projection_head():
    head = ProjectionHead(32, 16, hidden=64, n_layers=3)
    assert head(torch.randn(5, 32)).shape == (5, 16)
    assert ProjectionHead(8, 4, n_layers=1)(torch.randn(2, 8)).shape == (2, 4)


def test_contrastive_model_from_parts():
    torch.manual_seed(0)
    model = ContrastiveModel(
        ConvEncoder(5, width=8, depth=2, out_dim=64), IdentityHead(64), InfoNCELoss(0.5), modality="maps"
    )
    v1, v2 = torch.randn(6, 5, 16, 16), torch.randn(6, 5, 16, 16)
    loss = model(v1, v2)
    assert loss.ndim == 0 and torch.isfinite(loss)
    emb = model.eval().embed({"maps": v1})
    assert emb["maps"].shape == (6, 64)


def test_moco_model_momentum_update():
    torch.manual_seed(0)
    enc = ConvEncoder(3, width=4, depth=1)
    model = MoCoModel(enc, ProjectionHead(enc.out_dim, 8), MoCoLoss(8, queue_size=16), momentum=0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x = torch.randn(4, 3, 8, 8)
    model(x, x).backward()
    opt.step()
    key_before = [p.clone() for p in model.key_tower.parameters()]
    model(x, x)  # momentum update happens first in training mode
    moved = [not torch.equal(a, b) for a, b in zip(key_before, model.key_tower.parameters(), strict=True)]
    assert any(moved)
    assert all(not p.requires_grad for p in model.key_tower.parameters())


def test_clip_model_two_modalities():
    torch.manual_seed(0)
    img = ConvEncoder(3, width=4, depth=1)
    spec = SpectrumEncoder(1, width=4, depth=2)
    model = CLIPModel(
        img,
        spec,
        heads=(ProjectionHead(img.out_dim, 16), ProjectionHead(spec.out_dim, 16)),
        modalities=("images", "spectra"),
    )
    loss = model(torch.randn(5, 3, 8, 8), torch.randn(5, 1, 64))
    assert torch.isfinite(loss)
    emb = model.eval().embed({"images": torch.randn(2, 3, 8, 8), "spectra": torch.randn(2, 1, 64)})
    assert set(emb) == {"images", "spectra"} and emb["images"].shape == emb["spectra"].shape == (2, 16)
    assert float(model.loss.scale) == pytest.approx(15.5)


def test_ntxent_model_embeds_features():
    enc = ConvEncoder(2, width=4, depth=1)
    model = ContrastiveModel(enc, ProjectionHead(enc.out_dim, 8), NTXentLoss(), embed_from="features").eval()
    assert model.embed({"maps": torch.randn(3, 2, 8, 8)})["maps"].shape == (3, enc.out_dim)


def test_radius_grid_is_distance_from_the_centre_in_half_widths():
    r = radius_grid(8, 8)
    assert r.shape == (8, 8)
    assert torch.allclose(r, r.flip(0)) and torch.allclose(r, r.T)
    assert r.min() == pytest.approx(0.5 * 2**0.5 / 4)  # the four central pixels
    assert r[3, 0] == pytest.approx((3.5**2 + 0.5**2) ** 0.5 / 4)  # middle of an edge ≈ 1


def test_ring_weights_are_annuli_that_sum_to_one():
    r = radius_grid(16, 16)
    w = ring_weights(r, 4)
    assert w.shape == (4, 16, 16) and (w >= 0).all()
    assert torch.allclose(w.sum(dim=(1, 2)), torch.ones(4))
    mean_r = (w * r).sum(dim=(1, 2))
    assert (mean_r.diff() > 0.15).all()  # each ring lies further out than the previous one
    assert torch.allclose(w, w.rot90(1, (1, 2)))  # rotation-invariant on a square grid


def test_ring_pooling_sees_radial_structure_that_mean_pooling_cannot():
    """Two feature maps with the same mean, one bright in the centre, one in the outskirts."""
    enc = ConvEncoder(1, width=4, depth=0, pool="rings", n_rings=3)
    r = radius_grid(16, 16)
    centre, outskirts = (r < 0.5).float(), (r >= 0.5).float()
    outskirts = outskirts * centre.mean() / outskirts.mean()
    h = torch.stack([centre, outskirts])[:, None]
    assert torch.allclose(h.mean(dim=(2, 3)), h.mean(dim=(2, 3))[[1, 0]])
    rings = enc._pool(h)
    assert rings.shape == (2, 3)
    assert rings[0, 0] > rings[1, 0] and rings[0, 2] < rings[1, 2]
    assert torch.allclose(enc._pool(h.rot90(1, (2, 3))), rings, atol=1e-6)


def test_radius_channel_and_ring_pooling_encoder():
    enc = ConvEncoder(
        5, width=8, depth=2, stem_stride=1, out_dim=16, radius_channel=True, pool="rings", n_rings=3
    )
    assert enc.feature_dim == 3 * 32 and enc.stem.in_channels == 5 + 2  # values, mask, radius
    x = torch.randn(2, 5, 32, 32)
    x[0, :, :4] = float("nan")
    stack = enc._inputs(x, None)
    assert torch.equal(stack[1, -1], radius_grid(32, 32)) and stack[0, -2, :4].eq(0).all()
    z = enc(x)
    assert z.shape == (2, 16) and torch.isfinite(z).all()
    with pytest.raises(ValueError, match="pool"):
        ConvEncoder(5, pool="max")


def _polar(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    yy, xx = torch.meshgrid(torch.arange(n) - (n - 1) / 2, torch.arange(n) - (n - 1) / 2, indexing="ij")
    return torch.hypot(yy, xx) / (n / 2), torch.atan2(yy, xx)


def test_azimuthal_amplitudes_measure_m_fold_patterns_in_any_orientation():
    """A radially symmetric disc has no azimuthal power; a bar-like cos 2θ pattern has m = 2 only."""
    r, theta = _polar()
    disc = torch.exp(-r / 0.3)
    bases = azimuthal_bases(16, 16, (1, 2, 3), 4, 1.0)
    assert bases.shape == (2, 4, 3, 16, 16)
    for angle in (0.0, 0.4, 1.3):
        bar = disc * (1 + 0.5 * torch.cos(2 * (theta - angle)))
        a = azimuthal_amplitudes(torch.stack([disc, bar])[:, None], bases)  # (2, 1, K, M)
        assert a.shape == (2, 1, 4, 3)
        assert a[0].max() < 1e-3  # the symmetric disc: ~0 at every order
        assert a[1, 0, :, 0].max() < 1e-3 and a[1, 0, :, 2].max() < 1e-3  # no m = 1 or 3
        assert a[1, 0, :2, 1].min() > 0.03  # a clear m = 2 signal in the inner rings
        if angle == 0.0:
            ref = a[1, 0, :, 1]
        assert torch.allclose(a[1, 0, :, 1], ref, rtol=0.15, atol=2e-3)  # whatever the bar's angle


def test_fourier_pooling_is_invariant_to_quarter_turns_and_adds_features():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 16, 16)
    bases = azimuthal_bases(16, 16, (1, 2, 4), 5, 0.8)
    a = azimuthal_amplitudes(x, bases)
    for k in (1, 2, 3):
        assert torch.allclose(azimuthal_amplitudes(x.rot90(k, (2, 3)), bases), a, atol=1e-5)
    assert torch.allclose(azimuthal_amplitudes(x.flip(3), bases), a, atol=1e-5)  # mirror images too
    enc = ConvEncoder(
        5,
        width=8,
        depth=2,
        stem_stride=1,
        radius_channel=True,
        pool="rings",
        n_rings=5,
        fourier_orders=(1, 2),
        fourier_stage=1,
        fourier_channels=4,
        fourier_rings=3,
    )
    assert enc.feature_dim == 5 * 32 + 4 * 3 * 2
    z = enc.eval()(torch.randn(2, 5, 32, 32))
    assert z.shape == (2, enc.feature_dim) and torch.isfinite(z).all()
    with pytest.raises(ValueError, match="fourier"):
        ConvEncoder(5, depth=2, fourier_orders=(2,), fourier_stage=3)


def test_azimuthal_residual_removes_every_axisymmetric_map_and_keeps_a_bar():
    """Any radial profile at any level goes to zero; a bar's m = 2 pattern is all that is left."""
    r, theta = _polar(32)
    mask = torch.ones(1, 1, 32, 32)
    ring = (radius_grid(32, 32).clamp(max=1.0) * 16).floor().clamp(max=15)  # the annulus of each pixel
    for level, slope in ((0.0, 0.3), (3.0, -0.1), (-2.0, 1.0)):
        stepped = (level + slope * ring)[None, None]  # constant around every annulus
        assert azimuthal_residual(stepped, mask, 16).abs().max() < 1e-5
    bases = azimuthal_bases(32, 32, (1, 2, 3), 4, 0.5)
    smooth = azimuthal_residual((3.0 - r / 0.3)[None, None], mask, 16)  # within-annulus slopes only
    assert azimuthal_amplitudes(smooth, bases).max() < 1e-3
    bar = 0.5 * torch.exp(-((r / 0.25) ** 2)) * torch.cos(2 * (theta - 0.7))
    res = azimuthal_residual((2.0 - r / 0.3 + bar)[None, None], mask, 16)
    a_res, a_bar = azimuthal_amplitudes(res, bases), azimuthal_amplitudes(bar[None, None], bases)
    assert torch.allclose(a_res, a_bar, atol=0.02)  # the same m = 2 signal, nothing added
    assert a_res[0, 0, :2, 1].min() > 0.05 and a_res[0, 0, :, 0].max() < 0.02
    # Masked pixels are left out of the ring means and stay zero.
    hole = mask.clone()
    hole[..., 10:14, 18:22] = 0
    res_h = azimuthal_residual(torch.full((1, 1, 32, 32), 7.0), hole, 16)
    assert res_h.abs().max() < 1e-5


def test_residual_fourier_branch_sees_no_levels():
    """``fourier_source='residual'``: adding a level or a radial profile (constant around each of the
    branch's annuli) to every map leaves the amplitudes unchanged while the ring means change."""
    torch.manual_seed(0)
    enc = ConvEncoder(
        3,
        width=8,
        depth=2,
        stem_stride=1,
        radius_channel=True,
        pool="rings",
        n_rings=5,
        fourier_orders=(2,),
        fourier_channels=6,
        fourier_rings=4,
        fourier_radius=0.5,
        fourier_source="residual",
    ).eval()
    assert enc.feature_dim == 5 * 32 + 6 * 4 and enc.fourier_feature_indices()[0] == 160
    x = torch.randn(2, 3, 32, 32)
    x[0, :, :4, :4] = float("nan")
    ring = (radius_grid(32, 32).clamp(max=1.0) * 16).floor().clamp(max=15)
    z = enc(x)
    shifted = enc(x + 1.5 - 0.2 * ring)
    amp = enc.fourier_feature_indices()
    assert torch.allclose(z[:, amp], shifted[:, amp], atol=1e-4)
    assert not torch.allclose(z[:, :160], shifted[:, :160], atol=1e-2)
    narrow = ConvEncoder(
        3,
        width=8,
        depth=2,
        stem_stride=1,
        pool="rings",
        n_rings=5,
        pool_channels=12,
        fourier_orders=(2,),
        fourier_channels=6,
        fourier_rings=4,
        fourier_source="residual",
    )
    assert narrow.feature_dim == 5 * 12 + 6 * 4 and narrow.fourier_feature_indices()[0] == 60
    assert narrow.eval()(x).shape == (2, 84)
    with pytest.raises(ValueError, match="fourier_source"):
        ConvEncoder(3, depth=2, fourier_orders=(2,), fourier_source="pixels")
    with pytest.raises(ValueError, match="mask channel"):
        ConvEncoder(3, depth=2, fourier_orders=(2,), fourier_source="residual", mask_channel=False)


def test_stem_blocks_add_full_resolution_blocks_and_keep_old_state_dicts():
    plain = ConvEncoder(3, width=8, depth=2, stem_stride=2)
    deep = ConvEncoder(3, width=8, depth=2, stem_stride=2, stem_blocks=2)
    x = torch.randn(4, 3, 32, 32)
    assert deep(x).shape == plain(x).shape == (4, 32)
    assert not any(
        k.startswith("stem_blocks") for k in plain.state_dict()
    )  # checkpoints of earlier versions load
    assert sum(k.startswith("stem_blocks.1.") for k in deep.state_dict()) > 0
    with pytest.raises(ValueError, match="stem_blocks"):
        ConvEncoder(3, stem_blocks=-1)
