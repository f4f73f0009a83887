"""One GPU per job: lock-file claims across processes, on a fake number of GPUs."""

import fcntl
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from patchmine import gpus

ROOT = Path(__file__).resolve().parents[1]

# A job that claims one of `n` fake GPUs, says which, and holds it until it is killed.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from patchmine import gpus
    n, locks = int(sys.argv[1]), sys.argv[2]
    got = gpus.claim(gpus.visible_devices(n), locks, poll=0.05)
    print(got.device, got.device_id, flush=True)
    time.sleep(600)
    """
)


@pytest.fixture(autouse=True)
def no_devices_given(monkeypatch):
    """The tests say which devices a job sees: none is inherited from a machine (or a SLURM job)
    that runs the suite with CUDA_VISIBLE_DEVICES or SLURM_JOB_ID set."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)


def start_holder(n: int, locks: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(n), str(locks)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def read_line(proc: subprocess.Popen, timeout: float) -> str | None:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().strip() if ready else None


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def test_concurrent_jobs_get_distinct_devices_and_wait_for_a_free_one(tmp_path, procs):
    locks = tmp_path / "locks"
    procs += [start_holder(3, locks) for _ in range(4)]  # four jobs, three GPUs, all at once
    lines = {}
    deadline = time.monotonic() + 30
    while len(lines) < 3 and time.monotonic() < deadline:
        for proc in procs:
            if proc not in lines:
                line = read_line(proc, 0.05)
                if line:
                    lines[proc] = line
    assert sorted(lines.values()) == ["cuda:0 0", "cuda:1 1", "cuda:2 2"]
    (waiting,) = [p for p in procs if p not in lines]
    assert read_line(waiting, 1.0) is None  # all three held: the fourth job waits
    claimed = {line.split()[0]: proc for proc, line in lines.items()}
    claimed["cuda:1"].send_signal(signal.SIGKILL)  # a job killed outright frees its GPU
    assert read_line(waiting, 15) == "cuda:1 1"


def test_status_names_the_holders(tmp_path, procs, capsys, monkeypatch):
    locks = tmp_path / "locks"
    procs.append(start_holder(2, locks))
    assert read_line(procs[0], 30) == "cuda:0 0"
    (locks / "gpu1.lock").touch()
    (locks / "slurm-7").mkdir()
    (locks / "slurm-7" / "gpu0.lock").touch()
    rows = dict(gpus.status(locks))
    assert rows["gpu1.lock"] == "" and rows["slurm-7/gpu0.lock"] == ""
    assert rows["gpu0.lock"].split()[0] == str(procs[0].pid)
    monkeypatch.setenv(gpus.LOCK_DIR_ENV, str(locks))
    assert gpus.main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"gpu0.lock: claimed by pid {procs[0].pid}" in out and "gpu1.lock: free" in out


def test_cuda_visible_devices_limits_and_names_the_claims(tmp_path, procs):
    locks = tmp_path / "locks"
    env = {"CUDA_VISIBLE_DEVICES": "5,7"}
    procs += [start_holder(2, locks, env) for _ in range(2)]
    got = sorted(read_line(p, 30) for p in procs)
    assert got == ["cuda:0 5", "cuda:1 7"]  # positions for torch, physical ids for the locks
    assert sorted(p.name for p in locks.iterdir()) == ["gpu5.lock", "gpu7.lock"]


def test_a_process_keeps_its_claim(tmp_path):
    locks = tmp_path / "locks"
    try:
        first = gpus.claim(["0", "1"], locks)
        again = gpus.claim(["0", "1"], locks)
        assert first.device == again.device == "cuda:0"
    finally:
        gpus.release_all()
    assert gpus.status(locks) == [("gpu0.lock", "")]


def test_claim_times_out_when_every_device_stays_held(tmp_path, procs):
    locks = tmp_path / "locks"
    procs.append(start_holder(1, locks))
    assert read_line(procs[0], 30) == "cuda:0 0"
    with pytest.raises(TimeoutError):
        gpus.claim(["0"], locks, poll=0.05, timeout=0.3)


def test_visible_devices():
    assert gpus.visible_devices(3, {}) == ["0", "1", "2"]
    assert gpus.visible_devices(2, {"CUDA_VISIBLE_DEVICES": "5, 7"}) == ["5", "7"]
    assert gpus.visible_devices(1, {"CUDA_VISIBLE_DEVICES": "GPU-a1,GPU-b2"}) == ["GPU-a1"]


def test_choose_device(tmp_path):
    locks = tmp_path / "locks"
    choose = gpus.choose_device
    assert choose("cpu", True, 4, locks=locks) == "cpu"
    assert choose("auto", False, 0, locks=locks) == "cpu"
    assert choose("auto", True, 4, job_gpus=0, locks=locks) == "cpu"  # the rule asked for none
    assert choose("cuda:3", True, 4, locks=locks) == "cuda:3"
    alone = {"SLURM_JOB_ID": "41", "CUDA_VISIBLE_DEVICES": "0"}
    assert choose("auto", True, 1, env=alone, locks=locks) == "cuda:0"  # SLURM chose already
    assert not locks.exists()
    with pytest.raises(RuntimeError, match="not available"):
        choose("cuda", False, 0, locks=locks)
    with pytest.raises(ValueError):
        choose("gpu", True, 1, locks=locks)
    try:
        assert choose("auto", True, 2, job_gpus=1, env={}, locks=locks) == "cuda:0"
        assert (locks / "gpu0.lock").exists()
    finally:
        gpus.release_all()
    try:  # one GPU on a workstation is claimed too: concurrent jobs take turns on it
        assert choose("auto", True, 1, env={}, locks=tmp_path / "one") == "cuda:0"
        assert (tmp_path / "one" / "gpu0.lock").exists()
    finally:
        gpus.release_all()


def test_count_on_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "patchmine.gpus", "count"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == gpus.count()


def test_jobs_sharing_a_slurm_allocation_claim_its_gpus_in_a_folder_of_its_own(tmp_path):
    """`snakemake --resources gpu=2` inside `salloc --gpus=2`: a job finds GPU 0 taken by its
    sibling and gets GPU 1; a job of another allocation on the node, whose GPUs are numbered
    from 0 too, is not in the way."""
    sibling = tmp_path / "slurm-42" / "gpu0.lock"
    sibling.parent.mkdir()
    held = os.open(sibling, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)  # another process of allocation 42 holds GPU 0
    try:
        env = {"SLURM_JOB_ID": "42", "CUDA_VISIBLE_DEVICES": "0,1"}
        assert gpus.choose_device("auto", True, 2, env=env, locks=tmp_path) == "cuda:1"
        gpus.release_all()
        env = {"SLURM_JOB_ID": "43", "CUDA_VISIBLE_DEVICES": "0,1"}
        assert gpus.choose_device("auto", True, 2, env=env, locks=tmp_path) == "cuda:0"
        assert (tmp_path / "slurm-43" / "gpu0.lock").exists()
    finally:
        gpus.release_all()
        os.close(held)
