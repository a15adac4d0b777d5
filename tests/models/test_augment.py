"""Batched augmentations: geometry, NaN handling, noise statistics, reddening."""

from __future__ import annotations

import math

import pytest
import torch

from galexplore.models.augment import (
    ImageAugment,
    MapAugment,
    SpectrumAugment,
    extinction_coefficients,
    is_log_channel,
    ops,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_warp_rotation_by_90_degrees_matches_rot90():
    x = torch.arange(2 * 16 * 16, dtype=torch.float32).reshape(1, 2, 16, 16)
    theta = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]])
    y = ops.warp(x, theta)
    assert torch.allclose(y, torch.rot90(x, k=1, dims=(2, 3))) or torch.allclose(
        y, torch.rot90(x, k=-1, dims=(2, 3))
    )


def test_warp_keeps_holes_as_nan_without_polluting_neighbours():
    x = torch.full((1, 1, 16, 16), 3.0)
    x[..., 6:10, 6:10] = float("nan")
    y = ops.warp(x, torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]))
    finite = torch.isfinite(y)
    assert torch.allclose(y[finite], torch.tensor(3.0))
    assert not finite[..., 7:9, 7:9].any()


def test_warp_fills_beyond_the_frame_with_outside_but_keeps_holes_nan():
    x = torch.full((1, 1, 16, 16), 3.0)
    x[..., 6:10, 6:10] = float("nan")
    shifted = torch.tensor([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])  # a quarter of the width to the side
    plain, filled = ops.warp(x, shifted), ops.warp(x, shifted, outside=0.0)
    hole = torch.isnan(plain) & ~torch.isnan(ops.warp(torch.full_like(x, 3.0), shifted))
    assert torch.isnan(plain[..., :, -3:]).all() and (filled[..., :, -3:] == 0).all()  # beyond the edge: sky
    assert torch.isnan(filled).sum() == hole.sum() > 0  # the hole stays a hole
    same = torch.isfinite(plain)
    assert torch.equal(filled[same], plain[same])
    aug = ImageAugment([0.0], [0.1], outside=0.0, max_noise=0.0, max_blur_px=0.0, max_ebv=0.0, max_shift=0.3)
    assert torch.isfinite(aug(torch.full((4, 1, 16, 16), 3.0), _gen())).all()


def test_blur_zero_sigma_is_identity_and_constant_stays_constant():
    x = torch.randn(3, 2, 16, 16)
    assert torch.allclose(ops.blur(x, torch.zeros(3), radius=3), x, atol=1e-5)
    c = torch.full((2, 1, 16, 16), 2.0)
    c[0, :, :4] = float("nan")
    y = ops.blur(c, torch.tensor([1.0, 2.0]))
    assert torch.allclose(y[torch.isfinite(y)], torch.tensor(2.0), atol=1e-5)


def test_blur_per_sample_sigma():
    x = torch.zeros(2, 1, 21, 21)
    x[:, :, 10, 10] = 1.0
    y = ops.blur(x, torch.tensor([0.5, 2.0]), radius=8)
    assert y[0, 0, 10, 10] > y[1, 0, 10, 10]
    assert torch.allclose(y.sum(dim=(1, 2, 3)), torch.ones(2), atol=1e-4)


def test_block_average_by_sample():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(2, 1, 1, 1)
    y = ops.block_average(x, torch.tensor([1, 2]), (1, 2))
    assert torch.equal(y[0], x[0])
    assert y[1, 0, 0, 0] == y[1, 0, 1, 1] == (0 + 1 + 4 + 5) / 4


def test_star_masks_cover_some_pixels():
    hide = ops.star_masks(
        (64, 32, 32), max_stars=2, radius_px=(2, 3), p_star=0.5, generator=_gen(), device=torch.device("cpu")
    )
    frac = hide.float().mean(dim=(1, 2, 3))
    assert (frac > 0).any() and (frac == 0).any() and frac.max() < 0.1


def test_map_augment_shapes_and_nan():
    x = torch.randn(8, 5, 32, 32) + 9
    x[:, :, :, :5] = float("nan")
    aug = MapAugment([True] * 5)
    y = aug(x, _gen())
    assert y.shape == x.shape
    assert torch.isnan(y).any() and torch.isfinite(y).any()
    assert not torch.isinf(y).any()
    assert not torch.equal(aug(x, _gen(1)).nan_to_num(), y.nan_to_num())
    assert torch.equal(aug(x, _gen()).nan_to_num(), y.nan_to_num())  # seeded


def test_map_noise_is_unbiased_in_dex_and_scales_with_sn():
    aug = MapAugment([True, False], sn_range=(2.0, 2.0), p_noise=1.0)
    x = torch.ones(64, 2, 32, 32)
    y = aug._noise(x, _gen())
    d = y[:, 0] - 1
    assert abs(float(d.mean())) < 0.01
    assert float(d.std()) == pytest.approx(math.log10(math.e) / 2, rel=0.05)
    assert float(y[:, 1].median()) == pytest.approx(1.0, abs=0.01)  # linear channel: median factor 1


def test_is_log_channel():
    assert (
        is_log_channel("log_sigma_star")
        and is_log_channel("zh_lw")
        and not is_log_channel("velocity", "km/s")
    )


def test_image_augment_reddening_follows_extinction_coefficients():
    bands = ["g", "r", "i"]
    coeff = extinction_coefficients(bands)
    assert coeff[0] > coeff[1] > coeff[2]
    aug = ImageAugment(
        coeff,
        [1.0] * 3,
        rotate=False,
        flip=False,
        max_shift=0,
        scale_range=(1, 1),
        max_blur_px=0,
        max_noise=0,
        max_ebv=0.2,
    )
    x = torch.ones(16, 3, 16, 16)
    y = aug(x, _gen())
    mag = -2.5 * torch.log10(y[:, :, 8, 8])  # A_b per sample
    ratio = mag / mag[:, 1:2]
    assert torch.allclose(ratio[:, 0], torch.tensor(coeff[0] / coeff[1]), rtol=1e-3)
    assert torch.allclose(ratio[:, 2], torch.tensor(coeff[2] / coeff[1]), rtol=1e-3)


def test_image_augment_full():
    aug = ImageAugment(extinction_coefficients("gri"), [0.1, 0.1, 0.1])
    y = aug(torch.rand(4, 3, 32, 32), _gen())
    assert y.shape == (4, 3, 32, 32)


def test_background_swap_keeps_the_middle_and_takes_the_outskirts_from_another_galaxy():
    x = torch.stack([torch.full((1, 32, 32), float(i)) for i in range(4)])  # image i is constant i
    perm = torch.tensor([1, 2, 3, 0])
    y = ops.swap_background(x, torch.full((4,), 0.5), perm=perm, softness=0.02)
    assert torch.allclose(y[:, 0, 16, 16], x[:, 0, 0, 0], atol=1e-4)  # centre: its own
    assert torch.allclose(y[:, 0, 0, 0], x[perm, 0, 0, 0], atol=1e-4)  # corner: the donor's
    holes = x.clone()
    holes[1, :, :4] = float("nan")  # the donor of image 0 lacks data at the top
    z = ops.swap_background(holes, torch.full((4,), 0.5), perm=perm, softness=0.02)
    assert torch.isnan(z[0, 0, 0, 16]) and torch.isfinite(z[0, 0, 16, 16])


def test_colour_jitter_factors():
    x = torch.rand(3, 3, 8, 8)
    one = torch.ones(3)
    assert torch.allclose(ops.jitter_colour(x, brightness=one, contrast=one, saturation=one), x)
    y = ops.jitter_colour(x, brightness=2 * one, contrast=one, saturation=one)
    assert torch.allclose(y, 2 * x)
    grey = ops.jitter_colour(x, brightness=one, contrast=one, saturation=0 * one)
    assert torch.allclose(grey, x.mean(dim=1, keepdim=True).expand_as(x), atol=1e-6)
    flat = ops.jitter_colour(x, brightness=one, contrast=0 * one, saturation=one)
    assert torch.allclose(flat, x.flatten(1).mean(1)[:, None, None, None].expand_as(x), atol=1e-6)


def test_image_augment_new_options_are_seeded_and_off_by_default():
    x = torch.rand(8, 3, 32, 32)
    plain = ImageAugment([1.0] * 3, [0.01] * 3)
    assert plain.background_swap is None and plain.brightness == plain.contrast == plain.saturation == 0
    aug = ImageAugment(
        [1.0] * 3,
        [0.01] * 3,
        background_swap=(0.5, 0.8),
        brightness=0.2,
        contrast=0.1,
        saturation=0.2,
        p_blur=0.5,
    )
    a, b = aug(x, _gen(3)), aug(x, _gen(3))
    assert torch.equal(a.nan_to_num(), b.nan_to_num()) and not torch.equal(
        a.nan_to_num(), plain(x, _gen(3)).nan_to_num()
    )
    with pytest.raises(ValueError, match="background_swap"):
        ImageAugment([1.0] * 3, [0.01] * 3, background_swap=(0.8, 0.5))
    with pytest.raises(ValueError, match="brightness"):
        ImageAugment([1.0] * 3, [0.01] * 3, brightness=1.5)


def test_display_images_are_recognised_by_their_unit():
    from galexplore.data.readers.image_folder import DISPLAY_UNIT
    from galexplore.models.augment import is_display_image

    assert is_display_image([DISPLAY_UNIT] * 3)
    assert not is_display_image(["nanomaggy"] * 3) and not is_display_image([])


def test_spectrum_augment():
    x = torch.rand(4, 100) + 1
    y = SpectrumAugment()(x, _gen())
    assert y.shape == x.shape and not torch.equal(x, y)
