"""patchmine.imresize: bit-exact against MATLAB-made LR files, plus analytic properties."""

import math

import numpy as np
import pytest
from conftest import BENCHMARK, need
from skimage.io import imread

from patchmine.imresize import imresize, modcrop

SET5 = ["baby", "bird", "butterfly", "head", "woman"]
SET14 = [
    "baboon",
    "barbara",
    "bridge",
    "coastguard",
    "comic",
    "face",
    "flowers",
    "foreman",
    "lenna",
    "man",
    "monarch",
    "pepper",
    "ppt3",
    "zebra",
]
CASES = [("Set5", n) for n in SET5] + [("Set14", n) for n in SET14]


@pytest.mark.parametrize(("dataset", "name"), CASES, ids=[f"{d}-{n}" for d, n in CASES])
def test_matches_matlab_lr_files_bit_for_bit(dataset, name):
    hr = imread(need(BENCHMARK / dataset / "HR" / f"{name}.png"))
    lr = imread(need(BENCHMARK / dataset / "LR_bicubic" / "X2" / f"{name}x2.png"))
    assert hr.dtype == np.uint8 and hr.ndim in (2, 3)
    out = imresize(modcrop(hr, 2), 0.5)
    assert out.dtype == np.uint8
    assert out.shape == lr.shape
    diff = np.abs(out.astype(int) - lr.astype(int))
    assert diff.max() == 0, f"{int((diff > 0).sum())} pixels differ, max by {diff.max()}"


@pytest.mark.parametrize("s", [2, 3, 4])
@pytest.mark.parametrize("shape", [(37, 50), (48, 36, 3), (13, 1)])
def test_downscale_output_shape_is_ceil(s, shape):
    out = imresize(np.zeros(shape, dtype=np.uint8), 1 / s)
    expected = (math.ceil(shape[0] / s), math.ceil(shape[1] / s)) + shape[2:]
    assert out.shape == expected


@pytest.mark.parametrize("s", [2, 3, 4])
def test_constant_image_stays_constant(s):
    img = np.full((41, 53, 3), 137, dtype=np.uint8)
    out = imresize(img, 1 / s)
    assert out.dtype == np.uint8
    assert np.all(out == 137)
    out_f = imresize(img.astype(np.float64) + 0.25, 1 / s)
    assert out_f.dtype == np.float64
    np.testing.assert_allclose(out_f, 137.25, rtol=0, atol=1e-10)


def _ramp(h, w, a=3.0, b=0.7, c=5.0):
    """f(i, j) = a i + b j + c on 1-based pixel indices."""
    i = np.arange(1, h + 1, dtype=np.float64)[:, None]
    j = np.arange(1, w + 1, dtype=np.float64)[None, :]
    return a * i + b * j + c


def _expected_ramp(out_h, out_w, scale, a=3.0, b=0.7, c=5.0):
    """The ramp evaluated at MATLAB's sample positions u = x/scale + 0.5 (1 - 1/scale)."""
    ui = np.arange(1, out_h + 1) / scale + 0.5 * (1 - 1 / scale)
    uj = np.arange(1, out_w + 1) / scale + 0.5 * (1 - 1 / scale)
    return a * ui[:, None] + b * uj[None, :] + c


@pytest.mark.parametrize("s", [2, 3, 4])
def test_downscale_reproduces_linear_ramp_in_interior(s):
    # For integer s the taps sit symmetrically around u (u is integer or half-integer), so the
    # normalised symmetric kernel has zero first moment: a linear function is reproduced exactly
    # at u = x s + 0.5 (1 - s). Near the border the clamped taps break this, so skip 6 pixels.
    img = _ramp(72, 60)
    out = imresize(img, 1 / s)
    exp = _expected_ramp(*out.shape, 1 / s)
    m = 6 // s + 2
    np.testing.assert_allclose(out[m:-m, m:-m], exp[m:-m, m:-m], rtol=0, atol=1e-9)
    # The border really is different (clamping), so the interior restriction is meaningful.
    assert not np.allclose(out[0], exp[0], atol=1e-6)


def test_upscale_x2_reproduces_linear_ramp_in_interior():
    # Keys' cubic (a = -0.5) reproduces linear functions at any offset, so x2 upscaling samples
    # the ramp at u = x/2 + 0.25 exactly away from the borders.
    img = _ramp(30, 24)
    out = imresize(img, 2)
    assert out.shape == (60, 48)
    exp = _expected_ramp(60, 48, 2.0)
    np.testing.assert_allclose(out[6:-6, 6:-6], exp[6:-6, 6:-6], rtol=0, atol=1e-9)


def test_channels_are_independent_and_grey_matches_rgb():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(40, 33, 3), dtype=np.uint8)
    out = imresize(img, 0.5)
    for ch in range(3):
        np.testing.assert_array_equal(out[..., ch], imresize(img[..., ch], 0.5))


def test_output_shape_equals_scale_when_consistent():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(40, 36, 3), dtype=np.uint8)
    np.testing.assert_array_equal(imresize(img, output_shape=(20, 18)), imresize(img, 0.5))
    assert imresize(img, output_shape=(17, 50)).shape == (17, 50, 3)


def test_float_input_is_not_rounded():
    rng = np.random.default_rng(3)
    img = rng.uniform(0, 255, size=(30, 30))
    out = imresize(img, 0.5)
    assert out.dtype == np.float64
    assert not np.allclose(out, np.round(out))
    # float path and uint8 path agree up to rounding
    img8 = np.round(img).astype(np.uint8)
    assert np.abs(imresize(img8, 0.5).astype(float) - imresize(img8.astype(float), 0.5)).max() < 2


@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), float("inf"), "2"])
def test_bad_scale_raises_naming_it(bad):
    with pytest.raises(ValueError, match="scale"):
        imresize(np.zeros((8, 8), dtype=np.uint8), bad)


def test_bad_arguments_raise():
    img = np.zeros((8, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img, 0.5, output_shape=(4, 4))
    with pytest.raises(ValueError, match=r"\(0, 4\)"):
        imresize(img, output_shape=(0, 4))
    with pytest.raises(ValueError, match=r"\(8,\)"):
        imresize(np.zeros(8), 0.5)


def test_modcrop():
    img = np.arange(7 * 10 * 3).reshape(7, 10, 3)
    out = modcrop(img, 3)
    assert out.shape == (6, 9, 3)
    np.testing.assert_array_equal(out, img[:6, :9])
    assert modcrop(img[..., 0], 2).shape == (6, 10)
    with pytest.raises(ValueError, match="0"):
        modcrop(img, 0)
    with pytest.raises(ValueError, match="2.5"):
        modcrop(img, 2.5)


def test_a_constant_image_stays_constant_at_any_scale():
    """Kernel weights are normalised per output pixel (MATLAB's imresize): at 1/integer factors
    the cubic kernel already sums to one, at other factors only the normalisation keeps it so."""
    image = np.full((41, 53, 3), 137.25)
    for options in ({"scale": 0.75}, {"scale": 1.5}, {"output_shape": (17, 50)}):
        np.testing.assert_allclose(imresize(image, **options), 137.25, atol=1e-9)
