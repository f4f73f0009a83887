"""A training run killed at any moment (SIGKILL, or mid-save) resumes to the same weights; one
asked to stop (SIGTERM from SLURM, Ctrl-C) saves where it is first."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from patchmine.sampler import PatchSampler
from patchmine.stopping import TrainingStopped, stop_signals
from patchmine.train import Recipe, RunSpec, train

# A real run in a child process: tiny EDSR on synthetic patches, one thread (so the child and an
# uninterrupted child do the same arithmetic), each step slowed a little so a kill lands mid-run.
CHILD = """
import sys, time
import numpy as np, torch
from patchmine.sampler import PatchSampler
from patchmine.train import Recipe, RunSpec, train

torch.set_num_threads(1)
state_dir, delay = sys.argv[1], float(sys.argv[2])
rng = np.random.default_rng(0)
hr = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
lr = np.ascontiguousarray(hr[:, ::2, ::2])
val = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
recipe = Recipe(iterations=ITERATIONS, batch_size=4, lr=1e-3, lr_milestones=(30,), val_every=10,
                checkpoint_every=3)
spec = RunSpec(task="sr_x2", model={"arch": "edsr", "blocks": 1, "channels": 8}, recipe=recipe,
               augment=True, seed=3, indices=np.arange(40))
real_batch = PatchSampler.batch

def slow_batch(self, iteration):
    time.sleep(delay)
    return real_batch(self, iteration)

PatchSampler.batch = slow_batch
train(spec, lr, hr, [("v", val, val[::2, ::2].copy())], state_dir)
"""
ITERATIONS = 60


def _start(state_dir, delay):
    code = CHILD.replace("ITERATIONS", str(ITERATIONS))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(state_dir), str(delay)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _saved_iteration(state_dir) -> int:
    try:
        return torch.load(state_dir / "last.pt", weights_only=True)["iteration"]
    except FileNotFoundError:
        return 0


def _kill_between(state_dir, low, high, timeout=120.0) -> int:
    """Start the child and SIGKILL it once its checkpoint is past ``low``; return that iteration."""
    child = _start(state_dir, delay=0.05)
    deadline = time.monotonic() + timeout
    try:
        while (done := _saved_iteration(state_dir)) < low:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached its first checkpoint"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert low <= done < high, f"killed too late (checkpoint at {done})"
    return done


def _finish(state_dir):
    child = _start(state_dir, delay=0.0)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err.decode()


def _same_run(a, b):
    """Bit-identical final and best weights, the same log apart from wall-clock seconds, and no
    leftover temporary files."""
    for name in ("last.pt", "best.pt"):
        wa = torch.load(a / name, weights_only=True)["model"]
        wb = torch.load(b / name, weights_only=True)["model"]
        assert wa.keys() == wb.keys()
        assert all(torch.equal(wa[k], wb[k]) for k in wa), name
    logs = [(d / "log.csv").read_text().splitlines() for d in (a, b)]
    assert [r.rsplit(",", 1)[0] for r in logs[0]] == [r.rsplit(",", 1)[0] for r in logs[1]]
    assert not list(b.glob("*.tmp"))
    return logs[1]


def test_sigkilled_run_resumes_to_the_same_weights(tmp_path):
    _finish(tmp_path / "straight")
    killed = tmp_path / "killed"
    first = _kill_between(killed, 3, ITERATIONS - 20)
    _kill_between(killed, first + 3, ITERATIONS)  # killed again after resuming
    _finish(killed)
    assert len(_same_run(tmp_path / "straight", killed)) == 1 + ITERATIONS // 10
    # a killed attempt writes nothing on its way out: the next one says it vanished
    history = (killed / "history.log").read_text()
    assert history.count("the attempt before ended without a word") == 2
    assert "ended without a word" not in (tmp_path / "straight" / "history.log").read_text()


def test_sigterm_twice_saves_the_step_it_stopped_at_and_resumes_to_the_same_weights(tmp_path):
    _finish(tmp_path / "straight")
    stopped = tmp_path / "stopped"
    child = _start(stopped, delay=0.05)
    try:
        while _saved_iteration(stopped) < 3:  # past the first periodic checkpoint
            assert child.poll() is None, child.stderr.read().decode()
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)  # twice, as SLURM's time limit does: the job step's
        child.send_signal(signal.SIGTERM)  # and srun's, in the same millisecond
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    message = err.decode()
    assert child.returncode == 1, message
    assert "TrainingStopped: SIGTERM received: stopped after iteration" in message
    saved = _saved_iteration(stopped)
    assert f"stopped after iteration {saved} of {ITERATIONS}" in message
    assert 3 <= saved < ITERATIONS
    _finish(stopped)
    _same_run(tmp_path / "straight", stopped)
    # both attempts, in order, in the run's own history (a rule's log holds only the last one)
    lines = (stopped / "history.log").read_text().splitlines()
    history = [line.split(" ", 3)[3] for line in lines]  # date time level message
    assert any(h.startswith("[") and "val" in h for h in history)  # validation progress too
    history = [h for h in history if not h.startswith("[") and "received again" not in h]
    first_end = f"attempt ended: TrainingStopped: SIGTERM received: stopped after iteration {saved}"
    assert history[0].startswith("attempt on cpu")
    assert history[1] == "SIGTERM received: stopping after this step"
    assert history[2].startswith(first_end)
    assert history[3].startswith("attempt on cpu")
    assert history[4].startswith("resuming from") and history[4].endswith(f"iteration {saved}")
    assert history[-1] == "finished"


# In-process: a kill in the middle of writing last.pt, simulated by a torch.save that dies.

MODEL = {"arch": "edsr", "blocks": 1, "channels": 8}


def _data():
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
    val = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    return np.ascontiguousarray(hr[:, ::2, ::2]), hr, [("v", val, val[::2, ::2].copy())]


def _spec():
    recipe = Recipe(iterations=12, batch_size=4, lr=1e-3, val_every=4, checkpoint_every=2)
    return RunSpec(
        task="sr_x2", model=MODEL, recipe=recipe, augment=True, seed=5, indices=np.arange(24)
    )


def test_kill_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "straight")

    real_save = torch.save
    saves = {"last": 0}

    def dies_in_third_last_save(obj, handle):
        if handle.name.endswith("last.pt.tmp"):
            saves["last"] += 1
            if saves["last"] == 3:
                handle.write(b"half a checkpoint")
                raise KeyboardInterrupt("killed while saving")
        real_save(obj, handle)

    monkeypatch.setattr(torch, "save", dies_in_third_last_save)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(_spec(), lr, hr, val, run)
    monkeypatch.setattr(torch, "save", real_save)
    assert (run / "last.pt.tmp").exists()
    assert torch.load(run / "last.pt", weights_only=True)["iteration"] == 4
    with open(run / "log.csv", "a") as handle:  # a row written after the checkpoint, cut short
        handle.write("6,0.12")

    train(_spec(), lr, hr, val, run)
    _same_run(tmp_path / "straight", run)


def test_unreadable_checkpoint_starts_afresh(tmp_path):
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "straight")
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"not a checkpoint")  # e.g. a disk that lost the data
    train(_spec(), lr, hr, val, run)
    _same_run(tmp_path / "straight", run)


@pytest.fixture
def python_sigint():
    """SIGINT handled as Python does by default, even where pytest was started ignoring it (a
    background job of a non-interactive shell)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("python_sigint")
def test_a_signal_mid_step_saves_that_step_and_resuming_matches(tmp_path, monkeypatch):
    lr, hr, val = _data()
    train(_spec(), lr, hr, val, tmp_path / "straight")

    real_batch = PatchSampler.batch

    def ctrl_c_at_iteration_6(self, iteration):
        if iteration == 6:
            signal.raise_signal(signal.SIGINT)  # handled now: the step still runs to its end
        return real_batch(self, iteration)

    monkeypatch.setattr(PatchSampler, "batch", ctrl_c_at_iteration_6)
    run = tmp_path / "run"
    with pytest.raises(TrainingStopped, match="SIGINT received: stopped after iter"):
        train(_spec(), lr, hr, val, run)
    assert torch.load(run / "last.pt", weights_only=True)["iteration"] == 7  # not 6, the periodic
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    monkeypatch.setattr(PatchSampler, "batch", real_batch)
    train(_spec(), lr, hr, val, run)
    _same_run(tmp_path / "straight", run)


def test_a_second_sigterm_does_not_cut_the_save_short():
    """SLURM's time limit signals the step twice; the second one must not kill the save (in a
    child process, since the wrong answer is death by SIGTERM)."""
    code = (
        "import signal\n"
        "from patchmine.stopping import stop_signals\n"
        "with stop_signals() as stop:\n"
        "    signal.raise_signal(signal.SIGTERM)\n"
        "    signal.raise_signal(signal.SIGTERM)\n"
        "    print('still here after', stop.name)\n"
        "assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stdout == "still here after SIGTERM\n"
    assert "SIGTERM received again: still stopping after this step" in done.stderr


@pytest.mark.usefixtures("python_sigint")
def test_a_second_ctrl_c_stops_at_once():
    with stop_signals() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.name == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_the_process_ignores_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stop_signals() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            assert stop.signal is None
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # still handled
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
