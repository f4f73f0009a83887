"""Shared fixtures: where the real benchmark files live, and skips when they do not."""

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
