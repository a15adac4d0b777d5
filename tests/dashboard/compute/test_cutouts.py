"""Thumbnails: Lupton colour composites and colour-mapped map channels."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from galexplore.dashboard.compute.cutouts import colormap_rgb, lupton_rgb, png_data_uri, rgb_band_indices


def test_band_order_is_reddest_first():
    assert rgb_band_indices(["g", "r", "i"]) == (2, 1, 0)
    assert rgb_band_indices(["u", "g", "r", "i", "z"]) == (3, 2, 1)
    assert rgb_band_indices(["a", "b"]) == (1, 1, 0)


def test_a_red_source_comes_out_red_and_nan_is_black():
    cube = np.zeros((3, 16, 16), dtype=np.float32)
    cube[:, 6:10, 6:10] = np.array([0.2, 1.0, 4.0])[:, None, None]  # g < r < i: a red galaxy
    cube[:, 0, 0] = np.nan
    rgb = lupton_rgb(cube, ["g", "r", "i"])
    assert rgb.shape == (16, 16, 3) and rgb.dtype == np.uint8
    r, g, b = rgb[8, 8].astype(int)
    assert r > g > b
    assert rgb[0, 0].sum() == 0


def test_survey_images_make_visible_thumbnails(tiny_survey):
    cube = tiny_survey.read("images", [0])[0]
    rgb = lupton_rgb(cube, tiny_survey.spec("images").channels)
    centre, corner = rgb[28:36, 28:36].mean(), rgb[:6, :6].mean()
    assert centre > 40 > corner  # the galaxy is bright, the sky is dark


def test_colormap_leaves_nan_transparent():
    img = np.arange(16, dtype=float).reshape(4, 4)
    img[0, 0] = np.nan
    rgba = colormap_rgb(img)
    assert rgba.shape == (4, 4, 4) and rgba[0, 0, 3] == 0 and rgba[3, 3, 3] == 255


def test_png_data_uri_round_trips_pixels():
    rgb = np.random.default_rng(0).integers(0, 255, size=(8, 9, 3), dtype=np.uint8)
    uri = png_data_uri(rgb)
    assert uri.startswith("data:image/png;base64,")
    back = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    np.testing.assert_array_equal(back, rgb)
