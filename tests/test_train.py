"""The training engine: deterministic, resumable, and loud about a diverging loss."""

import csv
import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from patchmine import train as train_mod
from patchmine.augment import apply_dihedral
from patchmine.checkpoint import KEEP_SUPERSEDED
from patchmine.sampler import PatchSampler
from patchmine.train import (
    Recipe,
    RunSpec,
    Runtime,
    _last_attempt_vanished,
    run_summary,
    train,
)

ROOT = Path(__file__).resolve().parent.parent
MODEL = {"arch": "edsr", "blocks": 1, "channels": 8}


def _data(n=40, p=16, scale=2, seed=0):
    rng = np.random.default_rng(seed)
    hr = rng.integers(0, 256, (n, p, p, 3), dtype=np.uint8)
    lr = hr[:, ::scale, ::scale]  # any deterministic pairing will do for the engine's tests
    val_hr = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    return np.ascontiguousarray(lr), hr, [("v", val_hr, val_hr[::2, ::2].copy())]


def _spec(iterations=12, **recipe):
    recipe = Recipe(iterations=iterations, batch_size=4, lr=1e-3, val_every=4, **recipe)
    return RunSpec(
        task="sr_x2", model=MODEL, recipe=recipe, augment=True, seed=7, indices=np.arange(40)
    )


def _weights(state_dir):
    return torch.load(state_dir / "last.pt", weights_only=True)["model"]


def test_lr_is_halved_at_each_milestone():
    r = Recipe(iterations=10, lr=1e-4, lr_milestones=(3, 6))
    assert [r.lr_at(i) for i in (0, 2, 3, 5, 6, 9)] == [1e-4, 1e-4, 5e-5, 5e-5, 2.5e-5, 2.5e-5]


def test_sampler_batches_depend_only_on_seed_and_iteration():
    lr, hr, _ = _data()
    a = PatchSampler(lr, hr, 4, True, seed=1, device="cpu")
    b = PatchSampler(lr, hr, 4, True, seed=1, device="cpu")
    for it in (0, 9, 3, 25):  # any order, e.g. after a resume
        assert all(torch.equal(x, y) for x, y in zip(a.batch(it), b.batch(it), strict=True))
    # one epoch visits every patch once (no augmentation: compare the HR patches themselves)
    plain = PatchSampler(lr, hr, 4, False, seed=1, device="cpu")
    seen = torch.cat([plain.batch(i)[1] for i in range(10)]).byte()
    assert sorted(map(bytes, seen.permute(0, 2, 3, 1).numpy())) == sorted(map(bytes, hr))


def test_each_epoch_visits_the_patches_in_an_order_of_its_own():
    lr, hr, _ = _data()
    sampler = PatchSampler(lr, hr, 4, False, seed=1, device="cpu")
    epochs = [torch.cat([sampler.batch(i)[1] for i in range(e * 10, e * 10 + 10)]) for e in (0, 1)]
    assert not torch.equal(*epochs)
    as_bytes = [sorted(map(bytes, e.byte().permute(0, 2, 3, 1).numpy())) for e in epochs]
    assert as_bytes[0] == as_bytes[1]  # the same patches, once each


def test_a_store_that_does_not_divide_into_batches_gives_full_batches():
    """42 patches at batch 4: 10 full batches an epoch, the last 2 patches wait for another."""
    lr, hr, _ = _data(n=42)
    for augment in (False, True):
        sampler = PatchSampler(lr, hr, 4, augment, seed=1, device="cpu")
        assert sampler.per_epoch == 10
        assert all(sampler.batch(i)[1].shape[0] == 4 for i in range(25))


def test_denoising_noise_is_drawn_afresh_at_every_step():
    _, hr, _ = _data()
    sampler = PatchSampler(None, hr, 4, False, seed=3, device="cpu", sigma=25.0)
    residual = {i: sampler.batch(i)[0] - sampler.batch(i)[1] for i in (0, 1, 10)}
    assert not torch.allclose(residual[0], residual[1], atol=1e-3)
    assert not torch.allclose(residual[0], residual[10], atol=1e-3)  # same patches, next epoch
    torch.testing.assert_close(residual[1], sampler.batch(1)[0] - sampler.batch(1)[1])


def test_sampler_flips_agree_with_apply_dihedral():
    """The one-gather fetch-and-transform equals plain gathering followed by apply_dihedral."""
    lr, hr, _ = _data()
    aug = PatchSampler(lr, hr, 4, True, seed=2, device="cpu")
    plain = PatchSampler(lr, hr, 4, False, seed=2, device="cpu")
    for it in (0, 5, 13):
        got = aug.batch(it)
        j = it % aug.per_epoch
        codes = aug._codes[j * 4 : (j + 1) * 4]
        for a, b in zip(got, plain.batch(it), strict=True):
            assert torch.equal(a, apply_dihedral(b, codes))


def test_same_config_gives_same_weights(tmp_path):
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "a")
    train(_spec(), lr, hr, val, tmp_path / "b")
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_after_a_crash_ends_with_the_same_weights(tmp_path, kill_at):
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "straight")

    kill_at(10)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(), lr, hr, val, tmp_path / "resumed")
    assert torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)["iteration"] == 8
    kill_at(None)
    train(_spec(), lr, hr, val, tmp_path / "resumed")

    wa, wb = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    logs = [(tmp_path / d / "log.csv").read_text() for d in ("straight", "resumed")]
    strip = [[line.rsplit(",", 1)[0] for line in log.splitlines()] for log in logs]
    assert strip[0] == strip[1]  # same rows apart from wall-clock seconds


def test_a_state_saved_by_cudas_kernels_resumes_on_the_cpu_to_the_same_weights(
    tmp_path, kill_at, caplog
):
    """A CUDA run's state (fused Adam, moments laid out channels-last) resumed on the CPU, in
    the plain layout: the CPU's kernel must run on moments laid out like their parameters, or
    it mixes up their elements and the run ends elsewhere."""
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "straight")
    kill_at(10)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(), lr, hr, val, tmp_path / "moved", runtime=Runtime(channels_last=True))
    last = tmp_path / "moved" / "last.pt"
    state = torch.load(last, weights_only=True)
    for group in state["optimizer"]["param_groups"]:
        group["fused"] = True  # as Adam ran on CUDA (make_optimizer)
    torch.save(state, last)
    kill_at(None)
    with caplog.at_level("WARNING", logger="patchmine"):
        train(_spec(), lr, hr, val, tmp_path / "moved", runtime=Runtime(channels_last=False))
    assert "resuming a run started with" in caplog.text  # other settings: said, not refused
    wa, wb = _weights(tmp_path / "straight"), _weights(tmp_path / "moved")
    worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
    assert worst < 1e-6  # float rounding of the two layouts (3e-8); mixed-up moments: 6e-3


def test_a_state_saved_before_a_runtime_setting_existed_resumes_without_a_warning(
    tmp_path, kill_at, caplog
):
    """The setting it lacks ran at its default: the same runtime, nothing to warn about."""
    lr, hr, val = _data()
    kill_at(10)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(), lr, hr, val, tmp_path / "s")
    last = tmp_path / "s" / "last.pt"
    state = torch.load(last, weights_only=True)
    del state["runtime"]["deterministic"]  # as saved before runtime.deterministic
    torch.save(state, last)
    kill_at(None)
    with caplog.at_level("INFO", logger="patchmine"):
        train(_spec(), lr, hr, val, tmp_path / "s")
    assert "resuming from" in caplog.text and "resuming a run started with" not in caplog.text


@pytest.mark.parametrize("fused", [True, None])
def test_a_loaded_optimizer_keeps_its_kernel_and_its_parameters_layout(fused):
    """Whatever kernel and layout saved the state, the optimizer runs the kernel it was made
    with, on moments with their parameters' strides and the step count where it reads it."""
    torch.manual_seed(0)
    conv = lambda fmt: torch.nn.Conv2d(3, 8, 3).to(memory_format=fmt)  # noqa: E731
    saver = conv(torch.contiguous_format)
    saved_opt = torch.optim.Adam(saver.parameters(), fused=None if fused else True)
    saver(torch.rand(2, 3, 8, 8)).sum().backward()
    saved_opt.step()
    model = conv(torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), fused=fused)
    train_mod.load_optimizer_state(optimizer, saved_opt.state_dict())
    assert optimizer.param_groups[0]["fused"] is fused
    for param, saved_param in zip(model.parameters(), saver.parameters(), strict=True):
        state, before = optimizer.state[param], saved_opt.state[saved_param]
        for key in ("exp_avg", "exp_avg_sq"):
            assert state[key].stride() == param.stride() and torch.equal(state[key], before[key])
        assert state["step"].dtype == torch.float32 and state["step"].item() == 1


def test_state_of_other_settings_is_not_resumed(tmp_path):
    lr, hr, val = _data()
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    train(_spec(iterations=8, lr_milestones=(4,)), lr, hr, val, tmp_path / "s")
    train(_spec(iterations=8, lr_milestones=(4,)), lr, hr, val, tmp_path / "fresh")
    wa, wb = _weights(tmp_path / "s"), _weights(tmp_path / "fresh")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def _same_run(a, b):
    """Same weights and the same log rows apart from wall-clock seconds."""
    wa, wb = _weights(a), _weights(b)
    logs = [
        [row.rsplit(",", 1)[0] for row in (d / "log.csv").read_text().splitlines()] for d in (a, b)
    ]
    return all(torch.equal(wa[k], wb[k]) for k in wa) and logs[0] == logs[1]


def test_more_iterations_go_on_from_the_shorter_runs_state(tmp_path, kill_at):
    """Batches and learning rate are functions of the iteration: a finished run of 8 (or one
    stopped at 4 of 12) continued to 16 is the run of 16 trained straight through."""
    lr, hr, val = _data()
    train(_spec(iterations=16), lr, hr, val, tmp_path / "straight")
    train(_spec(iterations=8), lr, hr, val, tmp_path / "finished")
    kill_at(6)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(iterations=12), lr, hr, val, tmp_path / "stopped")
    kill_at(None)
    for name, shorter in (("finished", 8), ("stopped", 12)):
        train(_spec(iterations=16), lr, hr, val, tmp_path / name)
        history = (tmp_path / name / "history.log").read_text()
        assert f"trained to {8 if shorter == 8 else 4} of {shorter} iterations: going on to 16" in (
            history
        )
        assert _same_run(tmp_path / name, tmp_path / "straight")


def test_fewer_iterations_go_on_from_a_run_stopped_before_the_new_end(tmp_path, kill_at):
    lr, hr, val = _data()
    train(_spec(iterations=12), lr, hr, val, tmp_path / "straight")
    kill_at(6)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(iterations=16), lr, hr, val, tmp_path / "s")
    kill_at(None)
    train(_spec(iterations=12), lr, hr, val, tmp_path / "s")
    assert "trained to 4 of 16 iterations: going on to 12" in (
        (tmp_path / "s" / "history.log").read_text()
    )
    assert _same_run(tmp_path / "s", tmp_path / "straight")


def test_a_shorter_run_that_validated_off_the_cadence_starts_afresh(tmp_path):
    """A run of 6 validated at 6 (its end), which a run of 12 validating every 4 never does."""
    lr, hr, val = _data()
    train(_spec(iterations=6), lr, hr, val, tmp_path / "s")
    train(_spec(iterations=12), lr, hr, val, tmp_path / "s")
    train(_spec(iterations=12), lr, hr, val, tmp_path / "fresh")
    assert "going on" not in (tmp_path / "s" / "history.log").read_text()
    assert _same_run(tmp_path / "s", tmp_path / "fresh")


def test_a_store_rebuilt_from_other_pixels_is_trained_afresh_not_published_again(tmp_path):
    """Changed training images can leave the patch count, and so the subset's indices, as they
    were: the run must see that its pixels changed."""
    lr, hr, val = _data()
    other_lr, other_hr, _ = _data(seed=1)
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    train(_spec(iterations=8), other_lr, other_hr, val, tmp_path / "s")
    train(_spec(iterations=8), other_lr, other_hr, val, tmp_path / "fresh")
    wa, wb = _weights(tmp_path / "s"), _weights(tmp_path / "fresh")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_validation_set_of_other_images_is_not_resumed(tmp_path):
    """Its name unchanged, its images changed: the log's PSNRs and the best checkpoint would
    otherwise mix the two sets."""
    lr, hr, val = _data()
    _, _, other_val = _data(seed=2)
    train(_spec(iterations=12), lr, hr, val, tmp_path / "s")
    train(_spec(iterations=12), lr, hr, other_val, tmp_path / "s")
    train(_spec(iterations=12), lr, hr, other_val, tmp_path / "fresh")
    logs = [(tmp_path / d / "log.csv").read_text().splitlines() for d in ("s", "fresh")]
    assert [row.split(",")[3] for row in logs[0]] == [row.split(",")[3] for row in logs[1]]


def test_a_reverted_edit_brings_the_state_set_aside_back(tmp_path):
    """A shared recipe edited by mistake, then put back: the finished state is not lost."""
    lr, hr, val = _data()
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    first = _weights(tmp_path / "s")
    edited = _spec(iterations=8, lr_milestones=(4,))
    train(edited, lr, hr, val, tmp_path / "s")
    assert [p.stem for p in (tmp_path / "s" / "superseded").glob("*.pt")] == [
        _trained_fingerprint(_spec(iterations=8), lr, hr, val)
    ]
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    history = (tmp_path / "s" / "history.log").read_text()
    assert "brought back this run's state set aside at iteration 8" in history
    assert all(torch.equal(first[k], _weights(tmp_path / "s")[k]) for k in first)
    assert [p.stem for p in (tmp_path / "s" / "superseded").glob("*.pt")] == [edited.fingerprint()]


def test_a_state_saved_before_pixels_were_fingerprinted_still_resumes(tmp_path, caplog):
    """Such a state (no ``iterations`` key) carries the settings-only fingerprint, pinned here
    as the code before pixel digests computed it; its run goes on, with a warning."""
    lr, hr, val = _data()
    assert _spec(iterations=8).fingerprint(pixels=False) == "ec330a2318e9dc84"
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    state = torch.load(tmp_path / "s" / "last.pt", weights_only=True)
    del state["iterations"]
    state["fingerprint"] = "ec330a2318e9dc84"
    state["log"] = [[*row[:4], row[5]] for row in state["log"]]  # rows had no trained_on then
    torch.save(state, tmp_path / "s" / "last.pt")
    with caplog.at_level("INFO", logger="patchmine"):
        train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    assert "without checking that its training and validation images are unchanged" in (caplog.text)
    assert "publishing its weights again" in caplog.text
    assert not (tmp_path / "s" / "superseded").exists()
    with open(tmp_path / "s" / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["iteration"], r["trained_on"]) for r in rows] == [("4", ""), ("8", "")]


def test_the_log_and_run_json_say_what_trained_the_run(tmp_path):
    lr, hr, val = _data()
    spec = _spec(iterations=8)
    state = train(spec, lr, hr, val, tmp_path / "s")
    with open(state / "log.csv", newline="") as handle:
        assert {row["trained_on"] for row in csv.DictReader(handle)} == {"cpu fp32"}
    summary = run_summary(tmp_path / "run.json", {"criterion": "grad"}, spec, 40, state / "log.csv")
    assert summary["trained_on"] == "cpu fp32"
    assert summary["fingerprint"] == torch.load(state / "last.pt", weights_only=True)["fingerprint"]
    assert Runtime(amp=True).label("cuda:1") == "cuda bf16"


def test_a_state_set_aside_is_brought_back_even_with_the_folder_full(tmp_path):
    lr, hr, val = _data()
    settings = [(), *[(m,) for m in range(1, KEEP_SUPERSEDED + 1)], ()]
    for milestones in settings:
        train(_spec(iterations=4, lr_milestones=milestones), lr, hr, val, tmp_path / "s")
    last_attempt = (tmp_path / "s" / "history.log").read_text().rsplit("attempt on", 1)[1]
    assert "brought back this run's state set aside at iteration 4" in last_attempt
    assert len(list((tmp_path / "s" / "superseded").glob("*.pt"))) == KEEP_SUPERSEDED


def test_a_run_continued_to_more_iterations_keeps_the_shorter_state(tmp_path):
    """Raising ``iterations`` and putting it back brings the shorter run's state back."""
    lr, hr, val = _data()
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    first = (tmp_path / "s" / "last.pt").read_bytes()
    train(_spec(iterations=16), lr, hr, val, tmp_path / "s")
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    assert "brought back this run's state set aside at iteration 8" in (
        (tmp_path / "s" / "history.log").read_text()
    )
    assert (tmp_path / "s" / "last.pt").read_bytes() == first


def test_only_the_newest_states_set_aside_are_kept(tmp_path):
    lr, hr, val = _data()
    for milestone in range(1, KEEP_SUPERSEDED + 3):
        train(_spec(iterations=4, lr_milestones=(milestone,)), lr, hr, val, tmp_path / "s")
    kept = {p.stem for p in (tmp_path / "s" / "superseded").glob("*.pt")}
    newest = [  # the first run of all is the one dropped; the last is the current state
        _trained_fingerprint(_spec(iterations=4, lr_milestones=(m,)), lr, hr, val)
        for m in range(2, KEEP_SUPERSEDED + 2)
    ]
    assert kept == set(newest)


def _trained_fingerprint(spec, lr, hr, val):
    spec.data_digest = train_mod.data_digest(lr, hr, val)
    return spec.fingerprint()


def test_state_the_changed_network_code_cannot_load_is_named_and_kept(tmp_path, monkeypatch):
    """Same settings, but the network's code changed (a wider tail, say): the saved weights no
    longer fit. The run stops naming the state folder instead of a bare size-mismatch error,
    and keeps the state, in case the change was a mistake to undo."""
    lr, hr, val = _data()
    train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    saved = (tmp_path / "s" / "last.pt").read_bytes()
    real_build = train_mod.build_model
    monkeypatch.setattr(
        train_mod, "build_model", lambda spec, **kw: real_build({**spec, "channels": 6}, **kw)
    )
    with pytest.raises(RuntimeError, match=r"iteration 8\) holds weights that do not fit") as info:
        train(_spec(iterations=8), lr, hr, val, tmp_path / "s")
    assert f"delete {tmp_path / 's'} to train this run afresh" in str(info.value)
    assert (tmp_path / "s" / "last.pt").read_bytes() == saved


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_loss_names_the_iteration_and_keeps_the_checkpoint(tmp_path, monkeypatch, bad):
    lr, hr, val = _data()
    real_l1 = torch.nn.functional.l1_loss
    calls = {"n": 0}

    def l1_then_bad(a, b):
        calls["n"] += 1
        return real_l1(a, b) * (bad if calls["n"] == 6 else 1.0)

    monkeypatch.setattr(train_mod.torch.nn.functional, "l1_loss", l1_then_bad)
    with pytest.raises(FloatingPointError, match=rf"non-finite loss \({bad}\) at iteration 6"):
        train(_spec(), lr, hr, val, tmp_path / "s")
    assert torch.load(tmp_path / "s" / "last.pt", weights_only=True)["iteration"] == 4


def test_non_finite_weights_after_a_finite_loss_are_never_checkpointed(tmp_path, monkeypatch):
    lr, hr, val = _data()
    real_step = train_mod.train_step
    calls = {"n": 0}

    def step_then_corrupt(net, optimizer, lr_batch, hr_batch, runtime):
        loss = real_step(net, optimizer, lr_batch, hr_batch, runtime)
        calls["n"] += 1
        if calls["n"] == 8:  # e.g. an inf gradient: Adam writes NaN, the loss was still finite
            with torch.no_grad():
                next(net.parameters()).fill_(math.nan)
        return loss

    monkeypatch.setattr(train_mod, "train_step", step_then_corrupt)
    with pytest.raises(FloatingPointError, match="non-finite weights after iteration 8"):
        train(_spec(), lr, hr, val, tmp_path / "s")
    state = torch.load(tmp_path / "s" / "last.pt", weights_only=True)
    assert state["iteration"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_too_few_patches_for_a_batch():
    lr, hr, _ = _data(n=3)
    with pytest.raises(ValueError, match="fewer than one batch"):
        PatchSampler(lr, hr, 4, False, 0, "cpu")


def test_runtime_is_fast_on_cuda_and_exact_on_cpu():
    assert Runtime().resolve("cpu") == Runtime(amp=False, channels_last=False)
    assert Runtime().resolve("cuda:0") == Runtime(amp=True, channels_last=True)
    spec = {"amp": "auto", "channels_last": False, "compile": True}
    assert Runtime.from_config(spec).resolve("cuda") == Runtime(True, False, True)
    assert Runtime.from_config(None) == Runtime()
    assert Runtime.from_config({"deterministic": True}).resolve("cuda").deterministic


def test_the_configs_runtime_block_has_every_runtime_setting():
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
    block = schema["properties"]["runtime"]["properties"]
    assert set(block) == {f.name for f in dataclasses.fields(Runtime)}
    assert Runtime.from_config({k: v["default"] for k, v in block.items()}) == Runtime()


def test_sampler_hands_out_the_layout_asked_for():
    lr, hr, _ = _data()
    nhwc = PatchSampler(lr, hr, 4, True, 1, "cpu", torch.channels_last).batch(3)
    nchw = PatchSampler(lr, hr, 4, True, 1, "cpu").batch(3)
    for a, b in zip(nhwc, nchw, strict=True):
        assert a.is_contiguous(memory_format=torch.channels_last) and b.is_contiguous()
        assert torch.equal(a, b)


def test_bf16_channels_last_training_runs_and_repeats(tmp_path):
    """The GPU settings also work on the CPU (where they are off by default)."""
    lr, hr, val = _data()
    fast = Runtime(amp=True, channels_last=True)
    train(_spec(iterations=8), lr, hr, val, tmp_path / "a", runtime=fast)
    train(_spec(iterations=8), lr, hr, val, tmp_path / "b", runtime=fast)
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.isfinite(wa[k]).all() and torch.equal(wa[k], wb[k]) for k in wa)


def test_denoising_run_trains_on_noisy_copies_of_its_patches(tmp_path):
    from patchmine.evaluate import noisy_pairs

    _, hr, _ = _data()
    val_hr = np.random.default_rng(9).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    val = noisy_pairs([("v", val_hr)], sigma=25)
    recipe = Recipe(iterations=8, batch_size=4, lr=1e-3, val_every=4)
    spec = RunSpec(
        task="dn_s25", model=MODEL, recipe=recipe, augment=True, seed=3, indices=np.arange(40)
    )
    train(spec, None, hr, val, tmp_path / "s")
    log = (tmp_path / "s" / "log.csv").read_text().splitlines()
    assert len(log) == 3  # header + two validations
    sampler = PatchSampler(None, hr, 4, False, seed=3, device="cpu", sigma=25.0)
    noisy, clean = sampler.batch(0)
    assert noisy.shape == clean.shape
    residual = (noisy - clean).flatten()
    assert abs(float(residual.std()) - 25.0) < 1.5 and abs(float(residual.mean())) < 1.0
    again, _ = sampler.batch(0)
    assert torch.equal(noisy, again)  # the noise of a step is fixed by (seed, iteration)


def test_log_lines_read_as_a_progress_bar_with_an_eta():
    from patchmine.train import progress_bar

    assert progress_bar(250, 1000, 10.0) == "[#####...............]  25%  250/1000  ETA 1 min 15 s"
    assert progress_bar(1000, 1000, 10.0).startswith("[" + "#" * 20 + "] 100%")
    assert progress_bar(10, 300_000, 2.0).endswith("ETA 41 h 39 min")
    assert progress_bar(0, 10, 0.0).endswith("ETA ?")


def test_how_often_a_run_is_saved_is_not_part_of_its_identity():
    def spec(**recipe):
        return RunSpec(
            task="sr_x2",
            model={"arch": "edsr", "blocks": 1, "channels": 8},
            recipe=Recipe(iterations=10, **recipe),
            augment=True,
            seed=0,
            indices=np.arange(5),
        )

    assert spec().fingerprint() == spec(checkpoint_every=3).fingerprint()
    assert spec().fingerprint() != spec(val_every=5).fingerprint()  # this one changes the run


@pytest.mark.skipif(
    not (shutil.which("cc") or shutil.which("gcc")),
    reason="torch.compile on the CPU needs a C compiler (none on PATH)",
)
def test_a_compiled_run_trains_saves_and_resumes_like_an_eager_one(tmp_path, kill_at):
    """``runtime.compile`` is a speed option: same losses, plain state-dict keys (no
    ``_orig_mod.``), and a killed compiled run resumes to the eager run's weights."""
    lr, hr, val = _data()
    exact = Runtime(amp=False, channels_last=False)
    compiled = Runtime(amp=False, channels_last=False, compile=True)
    train(_spec(iterations=8), lr, hr, val, tmp_path / "eager", runtime=exact)
    kill_at(6)
    with pytest.raises(KeyboardInterrupt):
        train(_spec(iterations=8), lr, hr, val, tmp_path / "compiled", runtime=compiled)
    kill_at(None)
    train(_spec(iterations=8), lr, hr, val, tmp_path / "compiled", runtime=compiled)
    eager, comp = _weights(tmp_path / "eager"), _weights(tmp_path / "compiled")
    assert eager.keys() == comp.keys()
    for key in eager:
        torch.testing.assert_close(comp[key], eager[key], rtol=1e-4, atol=1e-5)
    logs = [
        np.genfromtxt(tmp_path / run / "log.csv", delimiter=",", names=True)
        for run in ("eager", "compiled")
    ]
    assert list(logs[1]["iteration"]) == list(logs[0]["iteration"]) == [4, 8]
    np.testing.assert_allclose(logs[1]["loss"], logs[0]["loss"], rtol=1e-5)


def test_an_attempt_that_vanished_is_told_from_one_that_ended(tmp_path):
    path = tmp_path / "history.log"
    assert not _last_attempt_vanished(path)  # no history: a first attempt
    start = "2026-11-30 22:00:00,000 INFO attempt on cpu (fp32), 128 patches\n"
    progress = "2026-11-30 22:00:05,000 INFO [####......]  40%  4/10\n"
    ended = (
        "2026-11-30 22:00:06,000 WARNING attempt ended: RuntimeError: last.pt does not fit\n"
        "If the network's code was changed on purpose, delete it\n"  # a message of two lines
    )
    finished = "2026-11-30 22:00:09,000 INFO finished\n"
    for text, vanished in [
        (start + progress, True),
        (start + progress + ended, False),
        (start + ended + start + progress, True),
        (start + finished, False),
        (start + finished + start, True),
    ]:
        path.write_text(text)
        assert _last_attempt_vanished(path) == vanished, text


def test_a_checkpoint_reaches_the_disk_before_it_takes_its_name(tmp_path, monkeypatch):
    """fsync, then rename: after a power loss the name holds the old state or the new one."""
    from patchmine import checkpoint

    events = []
    fsync, replace = checkpoint.os.fsync, checkpoint.os.replace
    monkeypatch.setattr(checkpoint.os, "fsync", lambda fd: events.append("fsync") or fsync(fd))
    monkeypatch.setattr(
        checkpoint.os, "replace", lambda a, b: events.append("replace") or replace(a, b)
    )
    checkpoint.atomic_save({"a": 1}, tmp_path / "x.pt")
    assert events == ["fsync", "replace"]
    assert torch.load(tmp_path / "x.pt", weights_only=True) == {"a": 1}


def test_a_state_brought_back_and_set_aside_again_is_the_newest_kept(tmp_path):
    """C3: settings A, B, C, D, back to A (brought back), E: A has just been set aside again,
    so pruning to the newest three keeps it, and going back to A once more resumes it."""
    from patchmine.train import Recipe, RunSpec, train

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    lr = np.ascontiguousarray(hr[:, ::2, ::2])
    val_hr = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    val = [("v", val_hr, val_hr[::2, ::2].copy())]

    def spec(milestones):
        recipe = Recipe(iterations=4, batch_size=4, lr=1e-3, val_every=4, lr_milestones=milestones)
        return RunSpec(task="sr_x2", model={"arch": "edsr", "blocks": 1, "channels": 8},
                       recipe=recipe, augment=True, seed=7, indices=np.arange(40))  # fmt: skip

    state = tmp_path / "s"
    for milestones in [(), (1,), (2,), (3,), (), (5,), ()]:
        train(spec(milestones), lr, hr, val, state)
    last_attempt = (state / "history.log").read_text().rsplit("attempt on", 1)[1]
    assert "brought back this run's state set aside at iteration 4" in last_attempt
