"""EDSR: parameter count, shapes, the published state-dict layout, and a functional forward."""

import pytest
import torch
import torch.nn.functional as F

from patchmine.models import ARCH_DEFAULTS, ARCH_TASKS, build_model, count_parameters
from patchmine.models.edsr import EDSR

MEAN = torch.tensor([0.4488, 0.4371, 0.4040])


def published_layout(scale, n_resblocks=16, n_feats=64, n_colors=3, denoise=False):
    """Key -> shape of a published EDSR checkpoint, written out from the paper's architecture."""

    def conv(prefix, cin, cout, k=3):
        return {f"{prefix}.weight": (cout, cin, k, k), f"{prefix}.bias": (cout,)}

    keys = {}
    keys |= conv("sub_mean", n_colors, n_colors, k=1)
    keys |= conv("add_mean", n_colors, n_colors, k=1)
    keys |= conv("head.0", n_colors, n_feats)
    for i in range(n_resblocks):
        keys |= conv(f"body.{i}.body.0", n_feats, n_feats)
        keys |= conv(f"body.{i}.body.2", n_feats, n_feats)
    keys |= conv(f"body.{n_resblocks}", n_feats, n_feats)
    if not denoise:
        if scale == 3:
            keys |= conv("tail.0.0", n_feats, 9 * n_feats)
        else:
            stages = {2: 1, 4: 2, 8: 3}[scale]
            for j in range(stages):
                keys |= conv(f"tail.0.{2 * j}", n_feats, 4 * n_feats)
    keys |= conv("tail.1", n_feats, n_colors)
    return keys


def test_baseline_x2_parameter_count():
    # independent count from layer shapes: head, 16 blocks x 2 convs, body conv, upsampler, tail
    c3 = lambda cin, cout: cin * cout * 9 + cout  # noqa: E731
    expected = c3(3, 64) + 16 * 2 * c3(64, 64) + c3(64, 64) + c3(64, 256) + c3(64, 3)
    assert expected == 1_369_859
    model = EDSR(scale=2)
    assert count_parameters(model) == expected
    # + two fixed 3x3 1x1 mean-shift convs with bias
    assert count_parameters(model, trainable_only=False) == expected + 2 * (9 + 3)
    layout = published_layout(2)
    trainable = sum(
        torch.Size(s).numel() for k, s in layout.items() if not k.startswith(("sub_", "add_"))
    )
    assert trainable == expected


def test_mean_shift_is_fixed():
    model = EDSR(scale=2, n_resblocks=1, n_feats=8)
    for name in ("sub_mean", "add_mean"):
        for p in getattr(model, name).parameters():
            assert not p.requires_grad
    eye = torch.eye(3).view(3, 3, 1, 1)
    torch.testing.assert_close(model.sub_mean.weight, eye)
    torch.testing.assert_close(model.add_mean.weight, eye)
    torch.testing.assert_close(model.sub_mean.bias, -255 * MEAN)
    torch.testing.assert_close(model.add_mean.bias, 255 * MEAN)
    x = torch.rand(2, 3, 5, 4) * 255
    torch.testing.assert_close(model.add_mean(model.sub_mean(x)), x)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shapes(scale):
    model = EDSR(scale=scale, n_resblocks=2, n_feats=16)
    out = model(torch.rand(1, 3, 12, 10) * 255)
    assert out.shape == (1, 3, 12 * scale, 10 * scale)


def test_denoise_variant_keeps_shape_and_learns_residual():
    model = EDSR(scale=4, n_resblocks=2, n_feats=16, denoise=True)
    x = torch.rand(2, 3, 12, 10) * 255
    assert model(x).shape == x.shape
    with torch.no_grad():
        model.tail[1].weight.zero_()
        model.tail[1].bias.zero_()
    torch.testing.assert_close(model(x), x, atol=1e-4, rtol=0)  # zero residual -> identity


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_published_state_dict_loads_strict(scale):
    layout = published_layout(scale)
    gen = torch.Generator().manual_seed(scale)
    sd = {k: torch.randn(s, generator=gen) for k, s in layout.items()}
    model = EDSR(scale=scale)
    assert set(model.state_dict()) == set(layout)
    model.load_state_dict(sd, strict=True)
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_denoise_layout_is_sr_layout_without_upsampler():
    layout = published_layout(2, n_resblocks=3, n_feats=8, denoise=True)
    model = EDSR(n_resblocks=3, n_feats=8, denoise=True)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == layout
    sr_keys = set(EDSR(scale=2, n_resblocks=3, n_feats=8).state_dict())
    assert set(layout) == {k for k in sr_keys if not k.startswith("tail.0.")}


def edsr_reference(sd, x, n_resblocks, res_scale, scale, denoise=False):
    """EDSR forward written directly from the paper with functional ops on a state dict."""

    def conv(name, t):
        return F.conv2d(t, sd[f"{name}.weight"], sd[f"{name}.bias"], padding=1)

    mean = (255 * MEAN).view(1, 3, 1, 1)
    y = x - mean
    h = conv("head.0", y)
    r = h
    for i in range(n_resblocks):
        r = r + res_scale * conv(f"body.{i}.body.2", F.relu(conv(f"body.{i}.body.0", r)))
    r = conv(f"body.{n_resblocks}", r) + h
    if not denoise:
        if scale == 3:
            r = F.pixel_shuffle(conv("tail.0.0", r), 3)
        else:
            for j in range({2: 1, 4: 2}[scale]):
                r = F.pixel_shuffle(conv(f"tail.0.{2 * j}", r), 2)
    out = conv("tail.1", r)
    return out + x if denoise else out + mean


@pytest.mark.parametrize("scale,denoise", [(2, False), (3, False), (4, False), (1, True)])
def test_forward_matches_functional_reference(scale, denoise):
    torch.manual_seed(scale)
    model = EDSR(scale=scale, n_resblocks=3, n_feats=8, res_scale=0.1, denoise=denoise)
    x = torch.rand(2, 3, 7, 6) * 255
    with torch.no_grad():
        got = model(x)
        want = edsr_reference(model.state_dict(), x, 3, 0.1, scale, denoise)
    torch.testing.assert_close(got, want, atol=1e-3, rtol=1e-5)


def test_other_integer_scales_get_one_subpixel_stage():
    model = EDSR(scale=5, n_resblocks=1, n_feats=8)
    assert model(torch.zeros(1, 3, 6, 7)).shape == (1, 3, 30, 35)
    assert model.tail[0][0].out_channels == 25 * 8
    with pytest.raises(ValueError, match="scale >= 2, got 1"):
        EDSR(scale=1)


def test_build_model():
    spec = {"arch": "edsr", "blocks": 16, "channels": 64, "res_scale": 1.0}
    model = build_model(spec, scale=2, task="sr")
    assert isinstance(model, EDSR)
    assert count_parameters(model) == 1_369_859
    small = build_model({"arch": "edsr", "blocks": 4, "channels": 32}, scale=3, task="sr")
    assert small(torch.rand(1, 3, 5, 5)).shape == (1, 3, 15, 15)
    dn = build_model({"arch": "edsr", "blocks": 2, "channels": 8}, scale=2, task="denoise")
    assert dn(torch.rand(1, 3, 5, 5)).shape == (1, 3, 5, 5)
    assert not any(k.startswith("tail.0.") for k in dn.state_dict())


def test_build_model_errors():
    with pytest.raises(ValueError, match="rcan"):
        build_model({"arch": "rcan"}, scale=2, task="sr")
    with pytest.raises(ValueError, match="deblur"):
        build_model({"arch": "edsr"}, scale=2, task="deblur")
    with pytest.raises(ValueError, match="chanels"):
        build_model({"arch": "edsr", "chanels": 64}, scale=2, task="sr")


#: Every arch for every task it does (a new arch is covered without being listed), small.
SMALL = {"blocks": 2, "layers": 5, "channels": 16}
BF16_CASES = [
    ({"arch": arch, **{k: SMALL.get(k, v) for k, v in defaults.items()}}, scale, task)
    for arch, defaults in ARCH_DEFAULTS.items()
    for task, scale in (("sr", 3), ("denoise", 1))
    if task in ARCH_TASKS[arch]
]


@pytest.mark.parametrize(("spec", "scale", "task"), BF16_CASES, ids=lambda c: str(c))
def test_output_layers_stay_fp32_under_bf16_autocast(spec, scale, task):
    """bf16 keeps 8 significant bits: a bf16 output on 0..255 would sit on the integer grid of
    the targets, where L1 and its gradient vanish (models.precision)."""
    torch.manual_seed(0)
    model = build_model(spec, scale=scale, task=task).eval()
    x = torch.rand(2, 3, 12, 12) * 255
    with torch.no_grad():
        exact = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = model(x)
            if hasattr(model, "noise"):  # DnCNN's residual: the noise estimate itself
                assert model.noise(x).dtype == torch.float32
    assert fast.dtype == torch.float32
    off_grid = fast != fast.to(torch.bfloat16).float()
    assert off_grid.float().mean() > 0.9  # not rounded to bf16's grid
    error = (fast - exact).abs()
    assert error.max() < 0.02 * exact.abs().max()  # the body's bf16 error only


def test_a_model_converted_to_bf16_still_runs_in_bf16():
    model = build_model({"arch": "edsr", "blocks": 1, "channels": 8}, scale=2, task="sr")
    out = model.to(torch.bfloat16)(torch.rand(1, 3, 6, 6, dtype=torch.bfloat16) * 255)
    assert out.dtype == torch.bfloat16 and out.shape == (1, 3, 12, 12)
