"""Each loss against a value computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from galexplore.models.losses import CLIPLoss, InfoNCELoss, MoCoLoss, NTXentLoss

E = math.e
EYE = torch.eye(2)


def test_ntxent_orthogonal_pairs():
    # Views v0=(1,0) v1=(0,1) v2=(1,0) v3=(0,1); each view's positive has s=1, its two
    # negatives s=0: ℓ = −log(e/(e+2)) for every view (τ = 1).
    loss = NTXentLoss(temperature=1.0)(EYE, EYE)
    assert float(loss) == pytest.approx(math.log(1 + 2 / E), rel=1e-6)


def test_ntxent_asymmetric_by_hand():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[0.6, 0.8], [0.0, 2.0]])  # normalised: (0.6, 0.8), (0, 1)
    t = 0.5

    # similarity rows (self excluded): v0: v1=0, v2=0.6(pos), v3=0; v1: v0=0, v2=0.8, v3=1(pos)
    # v2: v0=0.6(pos), v1=0.8, v3=0.8; v3: v0=0, v1=1(pos), v2=0.8
    def term(pos, others):
        return -pos / t + math.log(sum(math.exp(s / t) for s in [pos, *others]))

    want = (term(0.6, [0, 0]) + term(1, [0, 0.8]) + term(0.6, [0.8, 0.8]) + term(1, [0, 0.8])) / 4
    assert float(NTXentLoss(t)(z1, z2)) == pytest.approx(want, rel=1e-5)


def test_infonce_leaves_positive_out_of_denominator():
    # Same orthogonal pairs: ℓ = −s_pos/τ + log(Σ_neg e^{s/τ}) = −1/0.5 + log(1 + 1).
    loss = InfoNCELoss(temperature=0.5)(EYE, EYE)
    assert float(loss) == pytest.approx(-2 + math.log(2), rel=1e-6)


def test_infonce_default_temperature_is_ecalifa():
    assert InfoNCELoss().temperature == 0.5


def test_infonce_gradient_pulls_positives_together():
    torch.manual_seed(0)
    z1 = torch.randn(8, 4, requires_grad=True)
    z2 = (z1.detach() + 0.5 * torch.randn(8, 4)).requires_grad_(True)
    loss = InfoNCELoss()(z1, z2)
    loss.backward()
    step = z1 - 0.1 * z1.grad
    before = torch.nn.functional.cosine_similarity(z1, z2).mean()
    after = torch.nn.functional.cosine_similarity(step, z2).mean()
    assert after > before


def test_moco_against_queue_and_enqueue():
    loss_fn = MoCoLoss(dim=2, queue_size=2, temperature=1.0)
    loss_fn.queue.copy_(EYE)  # negatives (1,0), (0,1)
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[0.0, 3.0]])  # normalised (0, 1): q·k = 0
    loss = loss_fn(q, k)
    # logits [0 | 1, 0] → −log(e⁰ / (e⁰ + e¹ + e⁰))
    assert float(loss) == pytest.approx(math.log(2 + E), rel=1e-6)
    assert torch.allclose(loss_fn.queue[0], torch.tensor([0.0, 1.0]))
    assert int(loss_fn.ptr) == 1


def test_moco_eval_mode_leaves_queue_alone():
    loss_fn = MoCoLoss(dim=2, queue_size=4).eval()
    before = loss_fn.queue.clone()
    loss_fn(torch.randn(3, 2), torch.randn(3, 2))
    assert torch.equal(before, loss_fn.queue)


def test_clip_symmetric_by_hand():
    # logits = s·I; each row and column: −log(e^s/(e^s + 1)) = log(1 + e^{−s}).
    loss = CLIPLoss(logit_scale=1.0)(EYE, EYE)
    assert float(loss) == pytest.approx(math.log(1 + 1 / E), rel=1e-6)
    a = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    b = EYE
    s = 2.0
    logits = [[s * 1.0, 0.0], [s * 0.6, s * 0.8]]
    rows = [-logits[i][i] + math.log(sum(math.exp(v) for v in logits[i])) for i in range(2)]
    cols = [-logits[j][j] + math.log(sum(math.exp(logits[i][j]) for i in range(2))) for j in range(2)]
    assert float(CLIPLoss(s)(a, b)) == pytest.approx(0.5 * (sum(rows) / 2 + sum(cols) / 2), rel=1e-6)


def test_clip_scale_fixed_or_learnable():
    fixed = CLIPLoss()
    assert float(fixed.scale) == pytest.approx(15.5)
    assert not list(fixed.parameters())
    learn = CLIPLoss(15.5, learnable=True)
    (p,) = list(learn.parameters())
    learn(torch.randn(4, 3), torch.randn(4, 3)).backward()
    assert p.grad is not None and torch.isfinite(p.grad)


@pytest.mark.parametrize("cls", [NTXentLoss, InfoNCELoss])
def test_bad_temperature(cls):
    with pytest.raises(ValueError, match="temperature"):
        cls(temperature=0)


def test_subset_contrast_sees_only_its_dimensions_by_hand():
    """The auxiliary loss is weight × InfoNCE of the selected dimensions through its head."""
    from galexplore.models.auxiliary import SubsetContrast

    # Features (B=2, D=4); dims [1, 3] give the orthogonal pairs (1,0), (0,1) in both views,
    # whatever dimensions 0 and 2 hold: ℓ = 0.5 · (−1/0.5 + log 2) with an identity head.
    f1 = torch.tensor([[9.0, 1.0, -3.0, 0.0], [5.0, 0.0, 7.0, 1.0]])
    f2 = torch.tensor([[-2.0, 1.0, 4.0, 0.0], [0.0, 0.0, 1.0, 2.0]])
    aux = SubsetContrast(torch.nn.Identity(), InfoNCELoss(0.5), [1, 3], weight=0.5)
    assert float(aux(f1, f2)) == pytest.approx(0.5 * (-2 + math.log(2)), rel=1e-6)
    with pytest.raises(ValueError):
        SubsetContrast(torch.nn.Identity(), InfoNCELoss(0.5), [], weight=1.0)


def test_profile_reconstruction_by_hand():
    """The loss is weight × the mean squared error of the predicted ring means over the valid
    annuli; NaN pixels are left out of the means and annuli with no data out of the loss."""
    from galexplore.models.auxiliary import ProfileReconstruction
    from galexplore.models.encoders import radius_grid, ring_weights

    # Channel 0 is 3 everywhere, channel 1 is −1 everywhere, with some NaN pixels: every ring
    # mean is 3 or −1, so a head predicting 0 everywhere costs (9 + 1) / 2 per entry.
    x = torch.stack([torch.full((8, 8), 3.0), torch.full((8, 8), -1.0)])[None]
    x[0, 1, 3, 4] = float("nan")
    x[0, 0, 0, :] = float("nan")
    head = torch.nn.Linear(7, 2 * 3)
    torch.nn.init.zeros_(head.weight), torch.nn.init.zeros_(head.bias)
    rec = ProfileReconstruction(head, n_rings=3, weight=2.0)
    target, valid = rec.targets(x)
    torch.testing.assert_close(target, torch.tensor([[3.0, 3.0, 3.0, -1.0, -1.0, -1.0]]))
    assert valid.tolist() == [[1.0] * 6]
    assert rec(torch.randn(1, 7), x).item() == pytest.approx(2.0 * 5.0, rel=1e-6)

    # A radial map: the target is the ring-weighted mean, checked against numpy, and the
    # outer annulus, whose pixels are all NaN, is not scored.
    r = radius_grid(8, 8)
    x = torch.stack([r, 2 * r])[None].clone()
    x[:, :, r > 0.45] = float("nan")
    target, valid = rec.targets(x)
    w = ring_weights(r, 3).numpy()
    ok = (r <= 0.45).numpy()
    want = [(w[k] * ok * r.numpy()).sum() / (w[k] * ok).sum() for k in range(2)]
    torch.testing.assert_close(
        target[0, [0, 1, 3, 4]], torch.tensor(want + [2 * v for v in want], dtype=torch.float32)
    )
    assert valid[0].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    assert 0.0 < want[0] < want[1] < 0.45  # ring means rise outwards, as r does
    with pytest.raises(ValueError):
        ProfileReconstruction(head, n_rings=1)


@pytest.mark.parametrize("make", [lambda: NTXentLoss(0.1), lambda: InfoNCELoss(0.1), lambda: CLIPLoss(15.5)])
def test_losses_stay_float32_under_autocast(make):
    """Inside a bfloat16 autocast region the similarities are still computed in float32."""
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(64, 32, generator=g), torch.randn(64, 32, generator=g)
    loss = make()
    ref = loss(z1, z2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss(z1.bfloat16(), z2.bfloat16())
    assert mixed.dtype == torch.float32
    assert abs(float(mixed) - float(loss(z1.bfloat16().float(), z2.bfloat16().float()))) < 1e-5
    assert abs(float(mixed) - float(ref)) < 0.02 * float(ref)
