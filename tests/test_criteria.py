"""Per-patch criteria against direct numpy transcriptions of the paper's Eqs. 4-6."""

import ast
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from patchmine import criteria, criterion_names

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# (N, H, W, C): even, odd, non-square, single-channel, the paper's 96x96.
SHAPES = [(37, 8, 8, 3), (23, 9, 13, 3), (11, 5, 6, 1), (9, 7, 4, 2), (5, 96, 96, 3)]


def _patches(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


# --- independent transcriptions of the equations (one patch at a time, loops over channels) ---


def grad_ref(patch):
    x = patch.astype(np.float64) / 255.0
    h, w, c = x.shape
    total = 0.0
    for ch in range(c):
        img = x[:, :, ch]
        for i in range(h - 1):
            total += np.sum((img[i + 1, :] - img[i, :]) ** 2)
        for j in range(w - 1):
            total += np.sum((img[:, j + 1] - img[:, j]) ** 2)
    return total / (h * w * c)


def std_ref(patch):
    x = patch.astype(np.float64).ravel() / 255.0
    mean = np.sum(x) / x.size
    return np.sqrt(np.sum((x - mean) ** 2) / x.size)


def freq_ref(patch):
    x = patch.astype(np.float64) / 255.0
    h, w, c = x.shape
    wi = np.abs(2 * np.pi * np.fft.fftfreq(h))  # |omega| of each row bin, in [0, pi]
    wj = np.abs(2 * np.pi * np.fft.fftfreq(w))
    eps = 1e-9
    total = 0.0
    for ch in range(c):
        spec = np.fft.fft2(x[:, :, ch])
        for i in range(h):
            for j in range(w):
                if wi[i] >= np.pi / 2 - eps and wj[j] >= np.pi / 2 - eps:
                    total += abs(spec[i, j]) ** 2
    return total / (h * w * c)


REFS = {"grad": grad_ref, "std": std_ref, "freq": freq_ref}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ["grad", "std", "freq"])
def test_criterion_matches_equation(name, shape, device):
    p = _patches(shape, seed=[*shape, len(name)])
    want = np.array([REFS[name](q) for q in p])
    # through the dispatcher, with N > batch_size and a ragged last batch
    got = criteria.score(name, p, device=device, batch_size=4)
    assert got.dtype == np.float64 and got.shape == (shape[0],)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    # the function itself, on a torch tensor
    direct = getattr(criteria, name)(torch.from_numpy(p), device=device)
    np.testing.assert_allclose(direct, want, rtol=1e-10, atol=1e-13)
    assert np.ptp(want) > 0  # the comparison is not trivially between constants


@pytest.mark.parametrize("name", ["grad", "std", "freq"])
def test_float_input_on_0_255_scale(name):
    rng = np.random.default_rng(11)
    p = rng.uniform(0, 255, size=(13, 9, 10, 3))  # non-integer values take the float64 path
    want = np.array([REFS[name](q) for q in p])
    np.testing.assert_allclose(criteria.score(name, p, batch_size=5), want, rtol=1e-10)
    np.testing.assert_allclose(
        getattr(criteria, name)(torch.from_numpy(p).float()), want, rtol=1e-5
    )


def test_batch_size_does_not_change_scores():
    p = _patches((50, 10, 11, 3), seed=3)
    for name in ("grad", "std", "freq"):
        a = criteria.score(name, p, batch_size=1)
        b = criteria.score(name, p, batch_size=7)
        c = criteria.score(name, p, batch_size=1000)
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-12)


def test_values_are_scaled_to_unit_range():
    # a 2x2 one-channel checkerboard 0/255: every difference is 1 on the [0,1] scale
    p = np.array([[[[0], [255]], [[255], [0]]]], dtype=np.uint8)
    # grad: 2 vertical + 2 horizontal differences of 1 -> 4 / (2*2*1)
    assert criteria.grad(p)[0] == pytest.approx(1.0)
    assert criteria.std(p)[0] == pytest.approx(0.5)
    # freq: only bin (1, 1) (omega = pi, pi) counts; DFT there = sum x*(-1)^(h+w) = -2
    assert criteria.freq(p)[0] == pytest.approx(4.0 / 4)


@pytest.mark.parametrize("name", ["grad", "std", "freq"])
def test_constant_patch_scores_zero(name):
    p = np.full((6, 9, 7, 3), 173, dtype=np.uint8)
    np.testing.assert_allclose(criteria.score(name, p, batch_size=4), 0.0, atol=1e-20)


# --- freq on sinusoids placed on the DFT grid (no leakage) ---


def _cosine(h, w, ki, kj, c=3, amp=100.0):
    hh, ww = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    wave = 127.5 + amp * np.cos(2 * np.pi * ki / h * hh + 2 * np.pi * kj / w * ww)
    return np.repeat(wave[None, :, :, None], c, axis=3)  # (1, H, W, C), 0..255 scale


@pytest.mark.parametrize(
    "h,w,ki,kj",
    [
        (16, 12, 5, 4),  # omega = 5pi/8, 2pi/3
        (16, 12, 4, 3),  # exactly pi/2 on both axes: the boundary is included
        (15, 13, 6, 5),  # odd sizes
        (16, 12, 11, 9),  # negative frequencies (-5pi/8, -pi/2)
    ],
)
def test_freq_of_high_sinusoid_is_its_power(h, w, ki, kj):
    amp = 100.0
    x = _cosine(h, w, ki, kj, amp=amp)
    # two DFT peaks of magnitude (amp/255)*H*W/2 in each channel: power (amp/255)^2 (HW)^2 / 2
    # per channel; divided by H*W*C with C identical channels
    analytic = (amp / 255.0) ** 2 * h * w / 2
    got = criteria.freq(x)[0]
    assert got > 0
    assert got == pytest.approx(analytic, rel=1e-10)
    # stored as uint8: quantisation noise only
    assert criteria.freq(np.round(x).astype(np.uint8))[0] == pytest.approx(analytic, rel=2e-3)


def test_freq_of_nyquist_sinusoid():
    # omega = (pi, pi): both peaks fall on the same bin, |DFT| = amp*H*W, power (amp/255)^2 H W
    h, w, amp = 8, 6, 100.0
    got = criteria.freq(_cosine(h, w, h // 2, w // 2, amp=amp))[0]
    assert got == pytest.approx((amp / 255.0) ** 2 * h * w, rel=1e-10)


@pytest.mark.parametrize(
    "h,w,ki,kj",
    [(16, 12, 5, 2), (16, 12, 3, 5), (16, 12, 0, 6), (15, 13, 3, 6), (16, 12, 13, 4)],
)
def test_freq_ignores_sinusoid_with_a_low_frequency(h, w, ki, kj):
    x = _cosine(h, w, ki, kj)
    assert criteria.freq(x)[0] == pytest.approx(0.0, abs=1e-20)
    assert criteria.grad(x)[0] > 0.01  # the patch is far from flat


def test_freq_mask_counts():
    # 1-D band |omega| >= pi/2 holds bins k with min(k, n-k) >= n/4
    m = criteria.freq_mask(8, 5)
    assert m.shape == (8, 5)
    np.testing.assert_array_equal(m.any(axis=1), [0, 0, 1, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(m.any(axis=0), [0, 0, 1, 1, 0])
    assert m.sum() == 5 * 2


# --- rand ---


def test_random_scores_is_seeded_permutation():
    a = criteria.random_scores(1000, seed=7)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(np.sort(a), np.arange(1000))
    np.testing.assert_array_equal(a, criteria.random_scores(1000, seed=7))
    assert not np.array_equal(a, criteria.random_scores(1000, seed=8))
    p = _patches((30, 4, 4, 3))
    np.testing.assert_array_equal(
        criteria.score("rand", p, seed=3), criteria.random_scores(30, seed=3)
    )
    assert criteria.random_scores(0, seed=1).shape == (0,)


# --- loss ---


class NearestUp(torch.nn.Module):
    """A parameter-free 'network': nearest-neighbour upsampling, 0..255 in and out."""

    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x):
        assert x.dtype == torch.float32 and x.shape[1] == 3  # NCHW float
        return torch.nn.functional.interpolate(x, scale_factor=self.s, mode="nearest")


def test_mse_loss_with_nearest_upsampler_matches_numpy():
    rng = np.random.default_rng(5)
    hr = rng.integers(0, 256, size=(21, 8, 6, 3), dtype=np.uint8)
    lr = rng.integers(0, 256, size=(21, 4, 3, 3), dtype=np.uint8)
    want = []
    for i in range(len(hr)):
        up = np.repeat(np.repeat(lr[i], 2, axis=0), 2, axis=1).astype(np.float64) / 255
        want.append(np.mean((hr[i].astype(np.float64) / 255 - up) ** 2))
    got = criteria.mse_loss(hr, lr, NearestUp(2), batch_size=4)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(
        criteria.score("loss", hr, lr_patches=lr, model=NearestUp(2), batch_size=5), want, rtol=1e-6
    )


def test_mse_loss_is_zero_when_model_returns_hr():
    hr = _patches((9, 6, 6, 3), seed=2)
    lr_same = hr.copy()  # denoising-style identity pair
    np.testing.assert_array_equal(criteria.mse_loss(hr, lr_same, torch.nn.Identity()), 0.0)


def test_mse_loss_matches_per_patch_loop_on_edsr():
    from patchmine.models.edsr import EDSR

    torch.manual_seed(0)
    model = EDSR(scale=2, n_resblocks=2, n_feats=8).train()
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 256, size=(10, 12, 10, 3), dtype=np.uint8)
    lr = rng.integers(0, 256, size=(10, 6, 5, 3), dtype=np.uint8)
    want = []
    with torch.no_grad():
        for i in range(len(hr)):
            inp = torch.tensor(lr[i], dtype=torch.float32).permute(2, 0, 1)[None]
            out = model(inp)[0].permute(1, 2, 0).double().numpy() / 255.0
            want.append(np.mean((out - hr[i] / 255.0) ** 2))
    got = criteria.mse_loss(hr, lr, model, batch_size=3)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert model.training  # mode restored


def test_mse_loss_rejects_mismatched_inputs():
    hr = _patches((4, 8, 8, 3))
    with pytest.raises(ValueError):
        criteria.mse_loss(hr, _patches((3, 4, 4, 3)), NearestUp(2))
    with pytest.raises(ValueError, match="does not match"):
        criteria.mse_loss(hr, _patches((4, 4, 4, 3)), NearestUp(3))
    grey_out = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 1), torch.nn.Upsample(scale_factor=2))
    with pytest.raises(ValueError, match=r"\(4, 1, 8, 8\) does not match"):
        criteria.mse_loss(hr, _patches((4, 4, 4, 3)), grey_out)


# --- dispatcher, streaming ---


class SliceSpy:
    """Array wrapper that records every read and refuses reads larger than a limit."""

    def __init__(self, arr, limit):
        self.arr, self.limit, self.reads = arr, limit, []

    def __len__(self):
        return len(self.arr)

    def __getitem__(self, item):
        assert isinstance(item, slice)
        n = len(range(*item.indices(len(self.arr))))
        assert n <= self.limit, f"read {n} patches at once"
        self.reads.append(n)
        return self.arr[item]


@pytest.mark.parametrize("name", ["grad", "std", "freq"])
def test_score_streams_in_batches(name):
    p = _patches((23, 5, 5, 3), seed=9)
    spy = SliceSpy(p, limit=5)
    got = criteria.score(name, spy, batch_size=5)
    assert spy.reads == [5, 5, 5, 5, 3]
    np.testing.assert_allclose(got, [REFS[name](q) for q in p], rtol=1e-10, atol=1e-13)


def test_score_reads_h5py_dataset(tmp_path):
    p = _patches((40, 6, 7, 3), seed=4)
    path = tmp_path / "patches.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("hr", data=p, chunks=(8, 6, 7, 3))
    with h5py.File(path, "r") as f:
        got = criteria.score("grad", f["hr"], batch_size=16)
    np.testing.assert_allclose(got, [grad_ref(q) for q in p], rtol=1e-10)


def test_score_unknown_criterion_names_it():
    with pytest.raises(ValueError, match="sharpness"):
        criteria.score("sharpness", _patches((2, 4, 4, 3)))
    with pytest.raises(ValueError, match="loss"):
        criteria.score("loss", _patches((2, 4, 4, 3)))  # no model given


def test_criteria_are_named_once_for_the_dag_the_config_and_the_code():
    """criterion_names is the one list: the paper's five in its order, a batched function for
    each pixel statistic, and the config schema's enums (a JSON Schema cannot import it)."""
    import yaml

    from patchmine.grid import WILDCARDS

    paper = ("grad", "std", "freq", "loss", "rand")
    assert criterion_names.STATISTICS == paper[:3]  # one job scores them; never changed
    assert [c for c in criteria.CRITERIA if c in paper] == list(paper)  # added ones go between
    missing = set(criterion_names.PIXEL_STATISTICS) - set(criteria._BATCHED)
    assert not missing, f"give {sorted(missing)} code in patchmine.criteria._BATCHED"
    assert set(criteria._BATCHED) == set(criterion_names.PIXEL_STATISTICS)
    assert not set(criterion_names.STATISTICS) & set(criterion_names.EXTRA_STATISTICS)
    assert WILDCARDS["criterion"].split("|") == [*criteria.CRITERIA, "all"]
    schema_file = Path(__file__).parents[1] / "schemas" / "config.schema.yaml"
    schema = yaml.safe_load(schema_file.read_text())
    assert schema["$defs"]["criterion"]["enum"] == list(criteria.CRITERIA), (
        "schemas/config.schema.yaml: $defs.criterion.enum must list criterion_names.CRITERIA "
        f"in its order, {list(criteria.CRITERIA)}"
    )
    refs = [
        schema["$defs"]["experiment"]["properties"]["criteria"]["items"],
        schema["properties"]["mine"]["properties"]["criterion"],
    ]
    assert all(ref["$ref"] == "#/$defs/criterion" for ref in refs)
    # scripts/score.py spells the statistics out: a released rule script is left as it is, since
    # a changed script re-runs every job of its rule and so, here, every training run after it.
    script = ast.parse((schema_file.parents[1] / "scripts" / "score.py").read_text())
    literals = [
        tuple(e.value for e in node.elts)
        for node in ast.walk(script)
        if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts)
    ]
    assert criteria.STATISTICS in literals


def test_rejects_non_nhwc():
    with pytest.raises(ValueError, match="N, H, W, C"):
        criteria.grad(np.zeros((4, 4, 3), dtype=np.uint8))


def test_one_pass_statistics_equal_the_single_criteria():
    from patchmine.criteria import score_statistics

    patches = np.random.default_rng(5).integers(0, 256, (37, 12, 10, 3), dtype=np.uint8)
    together = score_statistics(patches, batch_size=8)
    for name in ("grad", "std", "freq"):
        np.testing.assert_array_equal(together[name], criteria.score(name, patches, batch_size=8))
    with pytest.raises(ValueError, match="loss"):
        score_statistics(patches, ("grad", "loss"))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("name", ["grad", "std", "freq"])
def test_both_backends_match_the_equation(name, backend):
    for p in (
        _patches((9, 12, 10, 3), seed=21),
        np.random.default_rng(4).uniform(0, 255, (5, 7, 8, 3)),
    ):
        want = np.array([REFS[name](q) for q in p])
        got = getattr(criteria, name)(p, backend=backend)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="backend"):
        getattr(criteria, name)(p, backend="jax")


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("name", ["grad", "std", "freq"])
@pytest.mark.parametrize("size", [80, 96, 104])
def test_extreme_contrast_does_not_overflow(name, size, backend):
    """A 0/255 checkerboard maximises every sum; at these sizes a total of two int32 sums
    would wrap around (once it did, and the sharpest patch ranked last)."""
    board = (np.indices((size, size)).sum(0) % 2 * 255).astype(np.uint8)
    p = np.stack([np.repeat(board[:, :, None], 3, axis=2), 255 - board[:, :, None].repeat(3, 2)])
    want = np.array([REFS[name](q) for q in p])
    got = getattr(criteria, name)(p, backend=backend)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert (got > 0).all()


def test_every_criterion_has_a_colour_of_its_own():
    """A criterion looks the same in every figure and unlike any other curve: spare colours go
    to models and strides (a criterion without one of its own would share theirs)."""
    from patchmine.labels import _SPARE_COLORS, CRITERION_COLORS

    missing = set(criterion_names.CRITERIA) - set(CRITERION_COLORS)
    assert not missing, f"give {sorted(missing)} a colour in patchmine.labels.CRITERION_COLORS"
    colours = [CRITERION_COLORS[c] for c in criterion_names.CRITERIA]
    assert len(set(colours)) == len(colours) and not set(colours) & set(_SPARE_COLORS)
