"""The evaluation protocols, checked on networks whose answer is known."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import BENCHMARK, need

from patchmine.criteria import mse_loss
from patchmine.datasets import benchmark_images, ingest
from patchmine.degrade import add_noise, noise_generator
from patchmine.evaluate import evaluate, evaluate_reference, noisy_pairs, task_pairs
from patchmine.imresize import imresize
from patchmine.metrics import psnr
from patchmine.tasks import Task


class Identity(torch.nn.Module):
    def forward(self, x):
        return x


class MatlabBicubicUp(torch.nn.Module):
    """Upscales with the MATLAB-exact imresize: the classic bicubic baseline as a 'network'."""

    def forward(self, x):
        image = x[0].permute(1, 2, 0).round().byte().numpy()
        up = imresize(image, 2.0)
        return torch.from_numpy(up).permute(2, 0, 1)[None].float()


def test_sr_protocol_gives_the_bicubic_baseline_on_set5(tmp_path):
    need(BENCHMARK / "Set5")
    ingest(benchmark_images(BENCHMARK, "Set5"), tmp_path / "set5", scales=[2])
    task = Task.parse("sr_x2")
    pairs = task_pairs(tmp_path / "set5", task)
    table = evaluate(MatlabBicubicUp(), task, pairs)
    assert len(table) == 5
    assert 33.66 <= table.psnr.mean() <= 33.68  # published 33.66
    assert round(table.ssim.mean(), 3) == 0.930  # published 0.9299
    # the reference noted under every table is that baseline, image for image
    pd.testing.assert_frame_equal(evaluate_reference(task, pairs), table)


def test_denoise_protocol_scores_the_noisy_input_at_its_noise_level():
    clean = np.full((64, 64, 3), 128, np.uint8)
    pairs = noisy_pairs([("grey", clean)], sigma=25)
    table = evaluate(Identity(), Task.parse("dn_s25"), pairs, with_ssim=False)
    # the identity network returns the noisy image rounded to uint8: PSNR ~ 20 log10(255/25)
    assert abs(table.psnr.iloc[0] - 20 * np.log10(255 / 25)) < 0.2
    out = np.clip(np.round(pairs[0][2]), 0, 255).astype(np.uint8)
    assert table.psnr.iloc[0] == psnr(out, clean)
    reference = evaluate_reference(Task.parse("dn_s25"), pairs, with_ssim=False)
    pd.testing.assert_frame_equal(reference, table)  # the noisy input is the reference
    bright = noisy_pairs([("bright", np.full((64, 64, 3), 250, np.uint8))], sigma=25)
    assert (bright[0][2] > 255).any()  # noise beyond white: clipped, as an output is
    pd.testing.assert_frame_equal(
        evaluate_reference(Task.parse("dn_s25"), bright, with_ssim=False),
        evaluate(Identity(), Task.parse("dn_s25"), bright, with_ssim=False),
    )


def test_a_grey_image_gets_one_noise_field_and_a_colour_one_three():
    """An RGB network could average three independent fields on a grey image's three equal
    channels down to sigma/sqrt(3); grey denoising is scored with one field."""
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (64, 64, 1), dtype=np.uint8), 3, axis=2)
    colour = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    (_, _, noisy_grey), (_, _, noisy_colour) = noisy_pairs([("g", grey), ("c", colour)], 25)
    assert np.array_equal(noisy_grey[..., 0], noisy_grey[..., 2])
    assert abs(float((noisy_grey[..., 0] - grey[..., 0]).std()) - 25) < 1.0
    averaged = noisy_grey.mean(axis=2) - grey[..., 0]
    assert abs(float(averaged.std()) - 25) < 1.0  # averaging the channels removes nothing
    # a colour image's noise is as before: one draw over all three channels
    expected = add_noise(colour, 25, noise_generator(0, "c"))
    np.testing.assert_array_equal(noisy_colour, expected)


def test_noise_is_fixed_per_image_name():
    clean = np.zeros((8, 8, 3), np.uint8)
    a = noisy_pairs([("x", clean), ("y", clean)], sigma=25)
    b = noisy_pairs([("y", clean)], sigma=25)
    np.testing.assert_array_equal(a[1][2], b[0][2])
    assert not np.array_equal(a[0][2], a[1][2])


class _RecordsTF32(torch.nn.Module):
    """Identity x2 (nearest) that notes whether cuDNN may use TF32 while it runs."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(torch.backends.cudnn.allow_tf32)
        return x.repeat_interleave(2, 2).repeat_interleave(2, 3)


def test_measurements_run_without_tf32_and_restore_the_setting():
    model, image = _RecordsTF32(), np.zeros((8, 8, 3), np.uint8)
    before = torch.backends.cudnn.allow_tf32
    evaluate(model, Task.parse("sr_x2"), [("a", np.zeros((16, 16, 3), np.uint8), image)])
    mse_loss(np.zeros((1, 16, 16, 3), np.uint8), image[None], model)
    assert model.seen == [False, False]
    assert torch.backends.cudnn.allow_tf32 == before


def test_grey_images_can_be_scored_as_grey_as_in_matlab_era_tables(tmp_path):
    """Set14's bridge.png is stored grey. As read (repeated to RGB, EDSR's way) bicubic x2 gives
    30.33 dB on Set14 (SOURCES.md); on its own grey values 30.23 dB, beside the published 30.24."""
    need(BENCHMARK / "Set14")
    ingest(benchmark_images(BENCHMARK, "Set14"), tmp_path / "set14", scales=[2])
    task = Task.parse("sr_x2")
    as_rgb = evaluate(MatlabBicubicUp(), task, task_pairs(tmp_path / "set14", task))
    pairs = task_pairs(tmp_path / "set14", task, grey="luma")
    assert [name for name, hr, _ in pairs if hr.ndim == 2] == ["bridge"]  # man.png is RGB
    as_grey = evaluate(MatlabBicubicUp(), task, pairs)
    assert round(as_rgb.psnr.mean(), 2) == 30.33
    assert round(as_grey.psnr.mean(), 2) == 30.23
    same = as_rgb.image != "bridge"
    assert (as_rgb.psnr[same] == as_grey.psnr[same]).all()


def test_to_grey_is_exact_for_equal_channels():
    from patchmine.evaluate import to_grey

    v = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(to_grey(np.repeat(v[..., None], 3, axis=2)), v)


def test_each_task_names_its_protocol_for_titles():
    """Two denoising experiments' tables differ by sigma; an SR one says what its PSNR is."""
    assert Task.parse("dn_s15").protocol == "σ 15 denoising, RGB PSNR, no border shaved"
    assert Task.parse("sr_x3").protocol == "x3 SR, Y-channel PSNR, 3-pixel border shaved"


def test_validation_psnr_shaves_the_border_as_the_protocol_does():
    """Validation picks the best checkpoint by y_psnr: damage in the shaved border must not
    count, exactly as in the published protocol (sr_metrics)."""
    from patchmine.evaluate import y_psnr
    from patchmine.metrics import sr_metrics

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)
    sr = np.clip(hr + rng.normal(0, 3, hr.shape), 0, 255).astype(np.uint8)
    clean = y_psnr(sr, hr, 2)
    sr[:2] = 0  # damage only in the shaved border
    assert y_psnr(sr, hr, 2) == sr_metrics(sr, hr, 2)[0] == clean


def test_grey_values_of_the_primaries_are_matlabs_rgb2gray():
    """MATLAB: rgb2gray(uint8(cat(3, [255 0 0], [0 255 0], [0 0 255]))) gives 76, 150, 29."""
    from patchmine.evaluate import to_grey

    primaries = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    assert to_grey(primaries).tolist() == [[76, 150, 29]]


def test_denoising_ssim_averages_all_three_channels():
    """E1: only the blue channel is wrong: the channel-mean SSIM is below 1."""
    from patchmine.evaluate import denoise_scores

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    out = hr.copy()
    out[..., 2] = 255 - out[..., 2]
    _, s = denoise_scores()(out, hr)
    assert s < 0.7  # (1 + 1 + SSIM of an inverted channel, near -1) / 3
    assert denoise_scores()(hr, hr)[1] == pytest.approx(1.0)


def test_noise_depends_on_the_seed_and_on_the_patch_not_on_the_batch():
    """D1, D2: (seed, key) fixes the noise: another seed draws another field; a patch gets
    the same noise whichever slice it is read in."""
    from patchmine.degrade import NoisyPatches, noise_generator

    a = noise_generator(0, "img").standard_normal(16)
    assert np.array_equal(a, noise_generator(0, "img").standard_normal(16))
    assert not np.array_equal(a, noise_generator(1, "img").standard_normal(16))
    clean = np.zeros((10, 4, 4, 3), np.uint8)
    noisy = NoisyPatches(clean, sigma=25, seed=0)
    np.testing.assert_array_equal(noisy[0:10][5:], noisy[5:10])
    assert not np.array_equal(noisy[0:5], noisy[5:10])
