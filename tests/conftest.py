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
