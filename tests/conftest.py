"""Shared fixtures: where the real benchmark files live, and skips when they do not; the
synthetic runs the report's tests read."""

import atexit
import functools
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
BENCHMARK = SHARED / "data" / "benchmark"
PAPER = SHARED / "paper"


def need(path: Path) -> Path:
    """Skip the calling test when a file from ../shared is missing (e.g. a clone elsewhere)."""
    if not path.exists():
        pytest.skip(f"{path} is absent: this test reads the real files in ../shared")
    return path


@pytest.fixture
def benchmark_dir() -> Path:
    return need(BENCHMARK)


@pytest.fixture
def kill_at(monkeypatch):
    """``kill_at(n)``: training raises KeyboardInterrupt as it draws batch ``n``, as a kill would
    land mid-run; ``kill_at(None)`` lets the next run go through."""
    from patchmine.sampler import PatchSampler

    real_batch = PatchSampler.batch

    def arm(iteration):
        def batch(self, it):
            if it == iteration:
                raise KeyboardInterrupt("simulated kill")
            return real_batch(self, it)

        monkeypatch.setattr(PatchSampler, "batch", real_batch if iteration is None else batch)

    return arm


def snakemake_env(env=None, **extra: str) -> dict[str, str]:
    """The environment of a `snakemake` a test starts (``env``, by default this process's, with
    ``extra`` set), in which `scontrol` fails at once.

    The SLURM executor plugin (a test extra) asks `scontrol show config` for SLURM's MinJobAge
    each time snakemake starts, whatever the executor. Where SLURM's client tools are installed
    but no controller answers (CI's machines), that waits about 10 s, dozens of times a suite.
    The plugin reads a failure as "unknown", its answer without SLURM too. No run here uses
    SLURM: tests/test_slurm.py starts its own, with the real tools."""
    env = dict(os.environ if env is None else env, **extra)
    env["PATH"] = os.pathsep.join([str(_failing_scontrol()), env.get("PATH", "")])
    return env


@functools.cache
def _failing_scontrol() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="patchmine-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    shim = folder / "scontrol"
    shim.write_text("#!/bin/sh\nexit 1\n")
    shim.chmod(0o755)
    return folder


class _Waiting(logging.Handler):
    """Sets ``event`` when a logger it is attached to says it waits for a lock."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.event = threading.Event()

    def emit(self, record):
        if "waiting to start" in record.getMessage():
            self.event.set()


@pytest.fixture
def waits(caplog):
    """``waits(logger)``: an Event set when ``logger`` says it waits for a lock (logged from
    another thread); the handler and the logger's level are undone after the test."""
    attached = []

    def watch(logger: str) -> threading.Event:
        handler = _Waiting()
        caplog.set_level(logging.INFO, logger=logger)
        logging.getLogger(logger).addHandler(handler)
        attached.append((logger, handler))
        return handler.event

    yield watch
    for logger, handler in attached:
        logging.getLogger(logger).removeHandler(handler)


@pytest.fixture
def results():
    """A long table of runs whose seed means are known in closed form (``report_cases.base``),
    shared by the tests of tables, rendering, figures and partial results."""
    from report_cases import synthetic_results

    return synthetic_results()
