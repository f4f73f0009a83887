"""DnCNN (trainable, folded, the published grey sigma-25 weights on Set12) and OISR-RK2-s."""

import copy
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import SHARED, need
from PIL import Image
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from patchmine.config import ConfigError, check_config
from patchmine.models import ARCH_DEFAULTS, ARCH_TASKS, build_model, count_parameters
from patchmine.models.dncnn import DnCNN, load_published_dncnn
from patchmine.models.oisr import OISR_RK2, RK2Block

WEIGHTS = SHARED / "data" / "weights" / "dncnn_25_gray_kair.pth"
SET12 = SHARED / "data" / "denoise" / "Set12"


def c3(cin, cout, bias=True):
    return cin * cout * 9 + (cout if bias else 0)


# ----------------------------------------------------------------------------------- DnCNN


def test_dncnn_parameter_counts():
    # trainable: conv(1->64)+bias, 15 x [conv(64->64) no bias, BN gamma+beta], conv(64->1)+bias
    with_bn = c3(1, 64) + 15 * (c3(64, 64, bias=False) + 2 * 64) + c3(64, 1)
    folded = c3(1, 64) + 15 * c3(64, 64) + c3(64, 1)
    assert (with_bn, folded) == (556_097, 555_137)
    assert count_parameters(DnCNN(channels=1)) == with_bn
    assert count_parameters(DnCNN(channels=1, batch_norm=False)) == folded
    assert count_parameters(DnCNN(channels=3)) == with_bn + 2 * 2 * 64 * 9 + 2


def test_dncnn_layouts():
    bn = DnCNN(channels=1, features=8, depth=5)
    convs = [k for k in bn.state_dict() if k.endswith(".weight") and bn.state_dict()[k].ndim == 4]
    assert convs == ["model.0.weight", "model.2.weight", "model.5.weight", "model.8.weight",
                     "model.11.weight"]  # fmt: skip
    folded = DnCNN(channels=1, features=8, depth=5, batch_norm=False)
    assert list(folded.state_dict()) == [f"model.{i}.{p}" for i in range(0, 9, 2)
                                         for p in ("weight", "bias")]  # fmt: skip


def test_dncnn_predicts_noise_and_pixel_range():
    torch.manual_seed(0)
    model = DnCNN(channels=3, features=8, depth=4).eval()
    x = torch.rand(2, 3, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(model(x), x - model.model(x))
        # pixel_range=255 computes the same function on the 0..255 scale
        big = DnCNN(channels=3, features=8, depth=4, pixel_range=255).eval()
        big.load_state_dict(model.state_dict())
        torch.testing.assert_close(big(255 * x), 255 * model(x), atol=1e-4, rtol=1e-5)
        model.model[-1].weight.zero_()
        model.model[-1].bias.zero_()
        torch.testing.assert_close(model(x), x)  # zero noise estimate -> identity


@pytest.mark.parametrize("variance", [(0.5, 2.0), (2e-4, 1e-3)])  # small: eps is 1-5 % of it
def test_fold_batch_norm_preserves_eval_output(variance):
    torch.manual_seed(1)
    model = DnCNN(channels=3, features=8, depth=5)
    with torch.no_grad():  # non-trivial BN statistics and affine parameters
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(*variance)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    folded = model.fold_batch_norm()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(2, 3, 11, 10)
    with torch.no_grad():
        want = model(x)
        scale = max(1.0, float(want.abs().max()))  # small variances give large activations
        torch.testing.assert_close(folded(x), want, atol=1e-5 * scale, rtol=1e-4)


def test_published_loader_rejects_a_wrong_file(tmp_path):
    bad = tmp_path / "dncnn_25.pth"
    torch.save(DnCNN(channels=1, batch_norm=False).state_dict(), bad)
    with pytest.raises(ValueError, match=r"dncnn_25\.pth.*sha256"):
        load_published_dncnn(bad)
    # without the checksum the same-layout file loads; a BN state dict does not
    assert count_parameters(load_published_dncnn(bad, sha256=None)) == 555_137
    torch.save(DnCNN(channels=1).state_dict(), bad)
    with pytest.raises(ValueError, match="BN-folded"):
        load_published_dncnn(bad, sha256=None)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_published_dncnn(tmp_path / "missing.pth")


def test_published_weights_load_strict():
    path = need(WEIGHTS)
    model = load_published_dncnn(path)
    assert count_parameters(model) == 555_137
    assert (model.channels, model.features, model.depth) == (1, 64, 17)
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert list(state) == [f"model.{i}.{p}" for i in range(0, 33, 2) for p in ("weight", "bias")]
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("0451a70d")


@pytest.mark.slow  # about 20-40 s on 2 shared CPU cores: 17 convs x 64 channels on 12 images
def test_published_dncnn_set12_sigma25_psnr():
    """Published DnCNN-S, sigma 25, grey Set12: 30.44 dB (Zhang et al. 2017, Table 3).

    Protocol of the DnCNN / KAIR test scripts: clean image on [0, 1], Gaussian noise of std
    25/255 added in float without clipping, drawn image after image from one legacy numpy RNG
    seeded 0 (``np.random.seed(0)`` once); output clipped to [0, 1], rounded to uint8, PSNR on
    0..255. Measured here: 30.445 dB on uint8 (30.451 dB on the unrounded float output; 30.432
    when the RNG is reseeded per image), so rounding costs ~0.006 dB and the seed ~0.01 dB.
    """
    files = sorted(need(SET12).glob("*.png"))
    assert len(files) == 12
    torch.set_num_threads(2)
    model = load_published_dncnn(need(WEIGHTS)).to(memory_format=torch.channels_last)
    rng = np.random.RandomState(0)
    psnrs = []
    for f in files:
        clean = np.asarray(Image.open(f))
        assert clean.ndim == 2 and clean.dtype == np.uint8, f
        noisy = clean / 255.0 + rng.normal(0.0, 25 / 255.0, clean.shape)
        x = torch.from_numpy(noisy.astype(np.float32))[None, None]
        with torch.inference_mode():
            out = model(x.contiguous(memory_format=torch.channels_last))[0, 0].numpy()
        out = np.round(np.clip(out, 0.0, 1.0) * 255.0)
        mse = np.mean((out - clean.astype(np.float64)) ** 2)
        psnrs.append(10 * np.log10(255.0**2 / mse))
    assert abs(np.mean(psnrs) - 30.44) < 0.1, psnrs


# -------------------------------------------------------------------------------- OISR-RK2-s


def test_oisr_rk2_s_parameter_count():
    # EDSR-baseline frame at x2 (head, 8 RK2 blocks x 4 convs, body conv, x2 upsampler, tail) ...
    frame = c3(3, 64) + 8 * 4 * c3(64, 64) + c3(64, 64) + c3(64, 256) + c3(64, 3)
    # ... plus, per RK2 block, four per-channel PReLUs and the step size
    expected = frame + 8 * (4 * 64 + 1)
    assert expected == 1_371_915
    assert count_parameters(OISR_RK2(scale=2)) == expected
    assert round(expected / 1e6, 2) == 1.37  # the paper's Table IV


def authors_rk2s_layout(scale: int = 2, blocks: int = 8, feats: int = 64) -> dict:
    """Key -> shape of a checkpoint of the authors' RK2-s code (CAS-CLab/OISR-PyTorch,
    ``RK2-s/model/edsr.py`` with the ``ResBlock`` of its ``common.py``), transcribed from it:
    EDSR's frame with conv1-conv4, relu1-relu4 (PReLU of ``feats`` slopes) and a one-element
    ``scale1`` in every body block."""
    conv = lambda cin, cout, k=3: {"weight": (cout, cin, k, k), "bias": (cout,)}  # noqa: E731
    parts = {"sub_mean": conv(3, 3, 1), "add_mean": conv(3, 3, 1), "head.0": conv(3, feats)}
    for i in range(blocks):
        for j in range(1, 5):
            parts[f"body.{i}.conv{j}"] = conv(feats, feats)
            parts[f"body.{i}.relu{j}"] = {"weight": (feats,)}
        parts[f"body.{i}"] = {"scale1": (1,)}
    parts[f"body.{blocks}"] = conv(feats, feats)
    stages = {2: [4], 3: [9], 4: [4, 4]}[scale]
    for n, mult in enumerate(stages):
        parts[f"tail.0.{2 * n}"] = conv(feats, mult * feats)
    parts["tail.1"] = conv(feats, 3)
    return {f"{k}.{p}": shape for k, params in parts.items() for p, shape in params.items()}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_oisr_loads_the_authors_checkpoint_layout_strict(scale):
    layout = authors_rk2s_layout(scale)
    model = OISR_RK2(scale=scale)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == layout
    gen = torch.Generator().manual_seed(scale)
    state = {k: torch.randn(shape, generator=gen) for k, shape in layout.items()}
    model.load_state_dict(state, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_oisr_output_shapes_and_finite(scale):
    torch.manual_seed(scale)
    model = OISR_RK2(scale=scale, n_blocks=3, n_feats=16)
    x = torch.rand(2, 3, 12, 10) * 255
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 3, 12 * scale, 10 * scale)
    assert torch.isfinite(out).all()


def test_oisr_full_size_forward_is_finite():
    model = OISR_RK2(scale=2)
    with torch.no_grad():
        out = model(torch.rand(1, 3, 16, 16) * 255)
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()


def test_rk2_block_is_heun_step():
    """The authors' forward, step by step: G1 = relu1, conv1, relu3, conv3 on y; G2 = relu2,
    conv2, relu4, conv4 on y + G1(y); out = y + scale1 * (G1 + G2)."""
    torch.manual_seed(0)
    block = RK2Block(8)
    with torch.no_grad():
        for prelu in (block.relu1, block.relu2, block.relu3, block.relu4):
            prelu.weight.uniform_(0.1, 0.4)  # distinct slopes, so a swapped layer shows
    y = torch.randn(2, 8, 6, 5)
    with torch.no_grad():
        k1 = block.conv3(block.relu3(block.conv1(block.relu1(y))))
        k2 = block.conv4(block.relu4(block.conv2(block.relu2(y + k1))))
        torch.testing.assert_close(block(y), y + 0.5 * (k1 + k2))
        block.scale1.fill_(0.0)
        torch.testing.assert_close(block(y), y)  # no step -> identity


def test_oisr_denoise_variant():
    model = OISR_RK2(n_blocks=2, n_feats=8, denoise=True)
    x = torch.rand(1, 3, 7, 6) * 255
    assert model(x).shape == x.shape
    assert not any(k.startswith("tail.0.") for k in model.state_dict())


# ----------------------------------------------------------------------------- build_model


def test_build_model_new_archs():
    oisr = build_model({"arch": "oisr_rk2_s"}, scale=2, task="sr")
    assert isinstance(oisr, OISR_RK2) and count_parameters(oisr) == 1_371_915
    small = build_model({"arch": "oisr_rk2_s", "blocks": 2, "channels": 8}, scale=3, task="sr")
    assert small(torch.rand(1, 3, 5, 4)).shape == (1, 3, 15, 12)

    dn = build_model({"arch": "dncnn"}, scale=2, task="denoise")
    assert isinstance(dn, DnCNN) and (dn.channels, dn.features, dn.depth) == (3, 64, 17)
    assert dn.batch_norm and dn.pixel_range == 255
    tiny = build_model({"arch": "dncnn", "channels": 8, "layers": 4}, scale=1, task="denoise")
    assert tiny.depth == 4 and tiny.features == 8
    assert tiny(torch.rand(2, 3, 6, 5) * 255).shape == (2, 3, 6, 5)
    # EDSR unchanged
    assert count_parameters(build_model({"arch": "edsr"}, scale=2, task="sr")) == 1_369_859


GREY_DNCNN = {
    "arch": "dncnn",
    "channels": 64,
    "layers": 17,
    "image_channels": 1,
    "batch_norm": False,
}


def test_a_grey_dncnn_denoises_each_colour_channel_on_its_own():
    torch.manual_seed(0)
    model = build_model(dict(GREY_DNCNN, channels=8, layers=4), scale=1, task="denoise").eval()
    grey = DnCNN(channels=1, features=8, depth=4, batch_norm=False, pixel_range=255).eval()
    grey.load_state_dict(model.state_dict(), strict=True)  # the same keys and shapes
    x = torch.rand(2, 3, 9, 7) * 255
    with torch.no_grad():
        out = model(x)
        for c in range(3):
            torch.testing.assert_close(out[:, c : c + 1], grey(x[:, c : c + 1]))
    assert count_parameters(build_model(GREY_DNCNN, scale=1, task="denoise")) == 555_137


def test_the_published_grey_dncnn_loads_as_a_config_model():
    """`scorer.weights.dn_s25` in configs/paper.yaml: KAIR's file, loaded through the workflow's
    own loader with strict=True, denoises each RGB channel as the published loader does."""
    from patchmine.tasks import Task
    from patchmine.train import load_model

    model = load_model(need(WEIGHTS), GREY_DNCNN, Task.parse("dn_s25"))
    published = load_published_dncnn(WEIGHTS, pixel_range=255)
    image = np.asarray(Image.open(need(SET12 / "01.png")).convert("L"), dtype=np.float32)
    rgb = torch.from_numpy(np.stack([image, image[::-1], image.T[: image.shape[0]]]))[None]
    noisy = rgb + torch.randn(rgb.shape, generator=torch.Generator().manual_seed(0)) * 25
    with torch.no_grad():
        out = model(noisy)
        for c in range(3):
            torch.testing.assert_close(out[:, c : c + 1], published(noisy[:, c : c + 1]))


def test_build_model_new_arch_errors():
    with pytest.raises(ValueError, match="arch 'dncnn' is built for denoise only, not 'sr'"):
        build_model({"arch": "dncnn"}, scale=2, task="sr")
    with pytest.raises(ValueError, match="blocks"):
        build_model({"arch": "dncnn", "blocks": 3}, scale=1, task="denoise")
    with pytest.raises(ValueError, match="res_scale"):
        build_model({"arch": "oisr_rk2_s", "res_scale": 0.1}, scale=2, task="sr")
    with pytest.raises(ValueError, match="layers"):
        build_model({"arch": "edsr", "layers": 17}, scale=2, task="sr")
    with pytest.raises(ValueError, match="oisr_rk2_s"):
        build_model({"arch": "oisr"}, scale=2, task="sr")


def test_schema_defaults_and_keys_per_arch():
    root = Path(__file__).resolve().parents[1]
    schema = str(root / "schemas" / "config.schema.yaml")
    base = yaml.safe_load((root / "config.yaml").read_text())

    def validated(models):
        config = copy.deepcopy(base)
        config["models"] = models
        validate(config, schema)
        return config["models"]

    got = validated({arch: {"arch": arch} for arch in ARCH_DEFAULTS})
    assert {arch: got[arch] for arch in ("edsr", "oisr_rk2_s", "dncnn")} == {
        "edsr": {"arch": "edsr", "blocks": 16, "channels": 64, "res_scale": 1.0},  # the papers'
        "oisr_rk2_s": {"arch": "oisr_rk2_s", "blocks": 8, "channels": 64},
        "dncnn": {"arch": "dncnn", "channels": 64, "layers": 17},
    }
    for arch, spec in got.items():  # every arch, an added one too
        # what the schema fills in agrees with the builders' one table (where it sets a key) ...
        filled = spec.items() - {"arch": arch}.items()
        assert filled <= ARCH_DEFAULTS[arch].items(), (
            f"schemas/config.schema.yaml: the defaults of arch {arch!r} differ from "
            f"patchmine.models.ARCH_DEFAULTS: {sorted(filled - ARCH_DEFAULTS[arch].items())}"
        )
        # ... and build_model accepts it (small: only the keys' handling is at stake)
        small = {**spec, **{k: v for k, v in (("blocks", 1), ("layers", 2)) if k in spec}}
        build_model(small, 2, ARCH_TASKS[arch][0])
    with pytest.raises(WorkflowError, match="layrs"):
        validated({"m": {"arch": "dncnn", "layrs": 5}})  # no arch takes it: the schema says so
    for bad, message in [  # a key of another arch: the config check names model, key and arch
        (
            {"arch": "edsr", "layers": 5},
            r"models\.m: 'layers' does not apply to arch 'edsr' "
            r"\(its keys: blocks, channels, res_scale\)",
        ),
        ({"arch": "dncnn", "blocks": 5, "res_scale": 1}, r"models\.m: 'blocks', 'res_scale'"),
        ({"arch": "oisr_rk2_s", "res_scale": 0.1}, r"'res_scale' does not apply to arch 'oisr"),
    ]:
        config = copy.deepcopy(base)
        config["models"]["m"] = bad
        validate(config, schema)
        with pytest.raises(ConfigError, match=message):
            check_config(config)


def test_a_network_for_another_task_is_refused_before_any_job_runs():
    """ARCH_TASKS says which tasks each arch builds for, as build_model does."""
    for arch, defaults in ARCH_DEFAULTS.items():
        for kind, scale in (("sr", 2), ("denoise", 1)):
            if kind in ARCH_TASKS[arch]:
                build_model({"arch": arch, **defaults}, scale, kind)
            else:
                with pytest.raises(ValueError, match=f"arch '{arch}' is built for"):
                    build_model({"arch": arch, **defaults}, scale, kind)
    root = Path(__file__).resolve().parents[1]
    schema = str(root / "schemas" / "config.schema.yaml")
    config = yaml.safe_load((root / "tests" / "data" / "tiny_config.yaml").read_text())
    config["models"]["dn"] = {"arch": "dncnn", "channels": 8, "layers": 3}
    sr = copy.deepcopy(config)
    sr["experiments"]["tiny"]["models"] = ["dn"]
    as_scorer = copy.deepcopy(config)
    as_scorer["scorer"]["model"] = "dn"
    published = copy.deepcopy(config)
    published["published_models"] = {
        "theirs": {"url": "https://example.org/dn.pt", "model": "dn", "task": "sr_x2"}
    }
    for bad, message in [
        (
            sr,
            r"experiments\.tiny\.models: model 'dn' is dncnn, which does not do sr_x2 "
            r"\(it does: denoise\)",
        ),
        (as_scorer, r"scorer\.model \(for experiments\.tiny's 'loss'\): model 'dn' is dncnn"),
        (published, r"published_models\.theirs\.model: model 'dn' is dncnn"),
    ]:
        validate(bad, schema)
        with pytest.raises(ConfigError, match=message):
            check_config(bad)


def test_every_arch_has_a_builder_a_schema_entry_and_a_cost_model():
    from patchmine.costs import model_macs, saved_maps
    from patchmine.models import _BUILDERS

    root = Path(__file__).resolve().parents[1]
    model = yaml.safe_load((root / "schemas" / "config.schema.yaml").read_text())["$defs"]["model"]
    assert model["properties"]["arch"]["enum"] == list(ARCH_DEFAULTS) == list(_BUILDERS)
    assert list(ARCH_TASKS) == list(ARCH_DEFAULTS)
    every_key = {key for keys in ARCH_DEFAULTS.values() for key in keys}
    assert model["properties"].keys() == every_key | {"arch"}
    for arch, defaults in ARCH_DEFAULTS.items():
        assert model_macs({"arch": arch, **defaults}, 2) > 0
        assert saved_maps({"arch": arch, **defaults}, 2) > 0
    for cost in (model_macs, saved_maps):
        with pytest.raises(ValueError, match=r"arch 'not_an_arch': add it to .*COSTED_ARCHS"):
            cost({"arch": "not_an_arch", "layers": 20}, 2)
