"""The CUDA path: what only a GPU can show (skipped, with the reason, where there is none).

The CPU tests pin the engine's logic; these check that the same code on a CUDA device draws the
same batches, trains with bf16 and channels-last by default, resumes, scores and evaluates like
the CPU, keeps the network's ends in fp32 under autocast, and claims the GPU a job names.
``benchmarks/gpu_check.sh`` runs them on a GPU machine.
"""

import numpy as np
import pytest
import torch

from patchmine import criteria
from patchmine import workflow as workflow_mod
from patchmine.evaluate import evaluate
from patchmine.models import build_model
from patchmine.sampler import PatchSampler
from patchmine.tasks import Task
from patchmine.train import Recipe, RunSpec, Runtime, train

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (none visible to torch)"
)

MODEL = {"arch": "edsr", "blocks": 2, "channels": 16}


def _data(n=64, p=24, seed=0):
    """Smooth random patches (learnable, unlike noise) with their 2x box-downscaled LR."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (n, p // 4, p // 4, 3)).astype(np.float64)
    hr = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)
    hr = np.clip(hr + rng.normal(0, 8, hr.shape), 0, 255).astype(np.uint8)
    lr = hr.reshape(n, p // 2, 2, p // 2, 2, 3).mean(axis=(2, 4)).round().astype(np.uint8)
    val_hr = hr[:4].reshape(-1, p, 3)  # four patches stacked into one 96x24 image
    val_lr = lr[:4].reshape(-1, p // 2, 3)
    return lr, hr, [("v", val_hr, val_lr)]


def _spec(iterations=30):
    recipe = Recipe(iterations=iterations, batch_size=8, lr=1e-3, val_every=10)
    return RunSpec(
        task="sr_x2", model=MODEL, recipe=recipe, augment=True, seed=5, indices=np.arange(64)
    )


def _log(state_dir) -> np.ndarray:
    return np.genfromtxt(state_dir / "log.csv", delimiter=",", names=True)


def test_batches_on_the_gpu_equal_those_on_the_cpu():
    lr, hr, _ = _data()
    on_cpu = PatchSampler(lr, hr, 8, True, seed=3, device="cpu")
    on_gpu = PatchSampler(lr, hr, 8, True, seed=3, device="cuda", memory_format=torch.channels_last)
    for it in (0, 5, 9):  # 9 is in the second epoch: a new order and new flips
        for a, b in zip(on_cpu.batch(it), on_gpu.batch(it), strict=True):
            assert b.is_cuda and b.is_contiguous(memory_format=torch.channels_last)
            assert torch.equal(a, b.cpu())


def test_gpu_training_defaults_to_bf16_channels_last_and_learns(tmp_path):
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "run", device="cuda")
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["runtime"] == {
        "amp": True,
        "channels_last": True,
        "compile": False,
        "deterministic": False,
    }
    log = _log(tmp_path / "run")
    assert np.all(np.isfinite(log["loss"])) and log["loss"][-1] < log["loss"][0]
    assert np.all(np.isfinite(log["val_psnr"]))


def test_gpu_fp32_training_tracks_the_cpu(tmp_path):
    """Same batches, same initial weights: the losses agree to cuDNN's rounding."""
    lr, hr, val = _data()
    exact = Runtime(amp=False, channels_last=False)
    train(_spec(), lr, hr, val, tmp_path / "cpu", device="cpu", runtime=exact)
    train(_spec(), lr, hr, val, tmp_path / "gpu", device="cuda", runtime=exact)
    cpu, gpu = _log(tmp_path / "cpu"), _log(tmp_path / "gpu")
    np.testing.assert_allclose(gpu["loss"], cpu["loss"], rtol=0.02)
    np.testing.assert_allclose(gpu["val_psnr"], cpu["val_psnr"], atol=0.1)


def test_a_gpu_run_resumes_after_a_crash(tmp_path, kill_at):
    lr, hr, val = _data()
    kill_at(25)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(), lr, hr, val, tmp_path / "run", device="cuda")
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["iteration"] == 20
    kill_at(None)
    train(_spec(), lr, hr, val, tmp_path / "run", device="cuda")
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["iteration"] == 30 and "cuda" in state["rng"]
    assert list(_log(tmp_path / "run")["iteration"]) == [10, 20, 30]


def test_a_deterministic_gpu_run_resumes_to_the_same_weights(tmp_path, kill_at):
    """``runtime.deterministic``: bf16 and channels-last as usual, cuDNN without autotuning."""
    lr, hr, val = _data()
    exact = Runtime(deterministic=True)
    train(_spec(), lr, hr, val, tmp_path / "straight", device="cuda", runtime=exact)
    kill_at(25)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(), lr, hr, val, tmp_path / "resumed", device="cuda", runtime=exact)
    kill_at(None)
    train(_spec(), lr, hr, val, tmp_path / "resumed", device="cuda", runtime=exact)
    a, b = (
        torch.load(tmp_path / d / "last.pt", weights_only=True)["model"]
        for d in ("straight", "resumed")
    )
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("first, then", [("cuda", "cpu"), ("cpu", "cuda")])
def test_a_run_moves_between_the_gpu_and_the_cpu(tmp_path, kill_at, first, then):
    """A preempted GPU job retried on a CPU node, or the reverse, goes on from the state the
    other device saved: Adam's kernel and its moments' layout follow the device that resumes
    (a CUDA state's fused flag and channels-last moments mixed up the CPU's updates)."""
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "straight", device=first)
    kill_at(25)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(), lr, hr, val, tmp_path / "moved", device=first)
    kill_at(None)
    train(_spec(), lr, hr, val, tmp_path / "moved", device=then)
    moved, straight = _log(tmp_path / "moved"), _log(tmp_path / "straight")
    assert list(moved["iteration"]) == [10, 20, 30]
    np.testing.assert_allclose(moved["loss"], straight["loss"], rtol=0.02)
    np.testing.assert_allclose(moved["val_psnr"], straight["val_psnr"], atol=0.1)


def test_loss_scores_on_the_gpu_match_the_cpu():
    torch.manual_seed(0)
    model = build_model(MODEL, scale=2, task="sr").eval()
    lr, hr, _ = _data(n=40)
    on_cpu = criteria.mse_loss(hr, lr, model, batch_size=16)
    on_gpu = criteria.mse_loss(hr, lr, model.to("cuda"), batch_size=16)  # fp32, as the rule
    assert on_gpu.dtype == np.float64
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-3)  # TF32 convolutions at most
    # the ranking that selection uses is what matters: the top half is (nearly) the same
    top = len(on_cpu) // 2
    same = np.intersect1d(np.argsort(-on_cpu)[:top], np.argsort(-on_gpu)[:top])
    assert len(same) >= top - 1


@pytest.mark.parametrize("name", ["grad", "std", "freq"])
def test_statistics_on_the_gpu_equal_the_cpu(name):
    _, hr, _ = _data(n=50)
    on_cpu = criteria.score(name, hr, device="cpu")
    on_gpu = criteria.score(name, hr, device="cuda", batch_size=16)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-10, atol=1e-13)


def test_evaluation_on_the_gpu_matches_the_cpu():
    torch.manual_seed(1)
    model = build_model(MODEL, scale=2, task="sr").eval()
    _, _, val = _data()
    task = Task.parse("sr_x2")
    on_cpu = evaluate(model, task, val, "cpu")
    on_gpu = evaluate(model.to("cuda"), task, val, "cuda")  # evaluate moves the images only
    np.testing.assert_allclose(on_gpu["psnr"], on_cpu["psnr"], atol=0.01)
    np.testing.assert_allclose(on_gpu["ssim"], on_cpu["ssim"], atol=1e-4)


def test_a_job_uses_the_gpu_it_names(monkeypatch):
    monkeypatch.setattr(workflow_mod, "_JOB_GPUS", 1)
    last = torch.cuda.device_count() - 1
    assert workflow_mod.pick_device(f"cuda:{last}") == f"cuda:{last}"
    assert torch.cuda.current_device() == last
    assert workflow_mod.pick_device("cpu") == "cpu"
    monkeypatch.setattr(workflow_mod, "_JOB_GPUS", 0)  # a rule that asked for no GPU
    assert workflow_mod.pick_device("auto") == "cpu"
    torch.cuda.set_device(0)


@pytest.mark.parametrize("task", ["sr", "denoise"])
def test_under_cuda_autocast_the_network_ends_stay_fp32(task):
    """bf16 on 0..255 would put outputs on the targets' integer grid (models.precision)."""
    torch.manual_seed(0)
    model = build_model(MODEL, scale=2, task=task).cuda().eval()
    model = model.to(memory_format=torch.channels_last)
    x = (torch.rand(2, 3, 16, 16, device="cuda") * 255).contiguous(
        memory_format=torch.channels_last
    )
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(x)
    assert out.dtype == torch.float32
    assert (out != out.to(torch.bfloat16).float()).float().mean() > 0.9
