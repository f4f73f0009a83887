"""One GPU per job on a machine with several: each job claims a free device with a lock file.

Snakemake caps how many GPU jobs run at once (``--resources gpu=N``) but does not tell a job
which device is its own, and does not set ``CUDA_VISIBLE_DEVICES``. So each job that runs a
network claims one: it takes an exclusive ``flock`` on ``<lock dir>/gpu<id>.lock`` for the first
device nobody holds, and keeps it until its process exits. The kernel drops the lock when the
process ends, however it ends (also SIGKILL or out-of-memory), so no claim outlives its job, and
claims work across processes, jobs of other Snakemake runs and other users of the machine.

A scheduler's choice is respected: inside a SLURM job the devices SLURM gave the job (its
``CUDA_VISIBLE_DEVICES``) are the job's own, and nothing is claimed; elsewhere, a set
``CUDA_VISIBLE_DEVICES`` limits the devices claimed to those it lists (locks are named by the
listed ids, so two runs restricted to overlapping lists still never share a device).

Command line::

    python -m patchmine.gpus count    # GPUs this machine shows (for --resources gpu=N)
    python -m patchmine.gpus status   # which devices are claimed, by which process
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from patchmine.locks import open_lock_file

log = logging.getLogger(__name__)

#: Where the lock files live: one folder per machine, shared by every job on it.
LOCK_DIR_ENV = "PATCHMINE_GPU_LOCK_DIR"
DEFAULT_LOCK_DIR = "/tmp/patchmine-gpu-locks"

#: Locks held by this process: device id -> open file descriptor (closing it releases the claim).
_HELD: dict[str, int] = {}


@dataclass(frozen=True)
class Claim:
    index: int  # position among the visible devices: the job uses cuda:<index>
    device_id: str  # the id the lock is named by (a CUDA_VISIBLE_DEVICES entry, or the index)
    lock: Path | None  # None when nothing had to be claimed

    @property
    def device(self) -> str:
        return f"cuda:{self.index}"


def lock_dir(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get(LOCK_DIR_ENV) or DEFAULT_LOCK_DIR)


def visible_devices(count: int, env: Mapping[str, str] = os.environ) -> list[str]:
    """Ids of the devices this process may use, in CUDA's order: the entries of a set
    ``CUDA_VISIBLE_DEVICES`` (at most ``count`` of them, as CUDA stops at the first invalid
    one), else ``0 .. count-1``."""
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(i) for i in range(count)]
    ids = [part.strip() for part in listed.split(",") if part.strip()]
    return ids[:count]


def in_scheduler_job(env: Mapping[str, str] = os.environ) -> bool:
    """Inside a SLURM job the scheduler already gave the job its devices."""
    return bool(env.get("SLURM_JOB_ID"))


def claims_folder(base: Path, env: Mapping[str, str] = os.environ) -> Path:
    """Where this process's claims live. Each SLURM job gets a folder of its own: two jobs on
    one node may both see their (different) GPUs numbered from 0."""
    job = env.get("SLURM_JOB_ID")
    return base / f"slurm-{_file_safe(job)}" if job else base


def _file_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _lock_name(device_id: str) -> str:
    return f"gpu{_file_safe(device_id)}.lock"


def _open_lock(path: Path) -> int:
    """An fd on the lock file, creating it (and its folder) open to every user of the machine."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(path.parent, 0o1777)  # like /tmp: anyone may add a lock, only owners remove
        except PermissionError:
            pass
    fd = open_lock_file(path)
    try:
        os.fchmod(fd, 0o666)
    except PermissionError:  # another user's lock file, opened read-only
        pass
    return fd


def _try_lock(path: Path) -> int | None:
    fd = _open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EWOULDBLOCK, errno.EACCES):
            return None
        raise
    try:  # who holds it, for `python -m patchmine.gpus status` (best effort)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode(), 0)
    except OSError:
        pass
    return fd


def claim(
    devices: list[str],
    locks: str | os.PathLike | None = None,
    *,
    poll: float = 2.0,
    timeout: float | None = None,
) -> Claim:
    """Claim the first free device of ``devices`` for the rest of this process's life.

    Waits (checking every ``poll`` seconds) while all are held by other processes, up to
    ``timeout`` seconds (None: as long as it takes), then raises ``TimeoutError``. A process
    that already holds one of them gets that one again.
    """
    if not devices:
        raise ValueError("no devices to claim")
    for index, device_id in enumerate(devices):
        if device_id in _HELD:
            return Claim(index, device_id, None)
    folder = Path(locks) if locks is not None else lock_dir()
    start = time.monotonic()
    waited = False
    while True:
        for index, device_id in enumerate(devices):
            path = folder / _lock_name(device_id)
            fd = _try_lock(path)
            if fd is not None:
                _HELD[device_id] = fd
                log.info("claimed GPU %s (cuda:%d) with %s", device_id, index, path)
                return Claim(index, device_id, path)
        if timeout is not None and time.monotonic() - start >= timeout:
            raise TimeoutError(f"all of GPUs {devices} stayed claimed for {timeout:g} s")
        if not waited:
            log.info("all of GPUs %s are claimed by other jobs (%s); waiting", devices, folder)
            waited = True
        time.sleep(poll)


def release_all() -> None:
    """Give back every claim of this process (exiting does the same)."""
    while _HELD:
        _, fd = _HELD.popitem()
        os.close(fd)


def choose_device(
    setting: str,
    cuda_available: bool,
    count: int,
    *,
    job_gpus: int | None = None,
    env: Mapping[str, str] = os.environ,
    locks: str | os.PathLike | None = None,
) -> str:
    """The torch device for a ``device`` setting of the config.

    ``auto`` and ``cuda`` claim a visible GPU: on a workstation (even with one GPU, so that
    concurrent jobs take turns instead of sharing its memory), or inside a SLURM allocation
    running several jobs (``snakemake --resources gpu=4`` within ``salloc``);
    ``auto`` is the CPU when there is no GPU, or when the job was given none (``job_gpus`` 0:
    its rule asks for no GPU, or ``--resources gpu=0`` capped it). ``cuda:N`` and ``cpu`` are
    taken as given.
    """
    if setting == "cpu":
        return setting
    if setting != "auto" and not re.fullmatch(r"cuda(:\d+)?", setting):
        raise ValueError(f"unknown device setting {setting!r}")
    if setting == "auto" and (not cuda_available or job_gpus == 0):
        return "cpu"
    if not cuda_available:
        raise RuntimeError(f"device {setting!r} requested but CUDA is not available")
    if setting.startswith("cuda:"):
        return setting
    devices = visible_devices(count, env)
    if len(devices) <= 1 and in_scheduler_job(env):  # SLURM gave this job its one GPU
        return "cuda:0"
    base = Path(locks) if locks is not None else lock_dir(env)
    return claim(devices, claims_folder(base, env)).device


def count() -> int:
    """GPUs this process can see (0 without CUDA or without a CUDA build of torch)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def status(folder: Path) -> list[tuple[str, str]]:
    """(lock file, holder) for every lock file in ``folder`` and its SLURM jobs' folders
    (``slurm-<id>/gpu0.lock``); holder "" when free."""
    rows = []
    for path in sorted([*folder.glob("gpu*.lock"), *folder.glob("slurm-*/gpu*.lock")]):
        name = path.relative_to(folder).as_posix()
        fd = _try_lock(path)
        if fd is not None:
            os.close(fd)
            rows.append((name, ""))
        else:
            rows.append((name, path.read_text().strip() or "?"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m patchmine.gpus", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["count", "status"])
    args = parser.parse_args(argv)
    if args.command == "count":
        print(count())
        return 0
    folder = lock_dir()
    rows = status(folder) if folder.is_dir() else []
    if not rows:
        print(f"no GPU claims in {folder}")
    for name, holder in rows:
        print(f"{name}: {'claimed by pid ' + holder if holder else 'free'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
