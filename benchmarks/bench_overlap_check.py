"""Time the train/test overlap check that runs at every ``snakemake`` start (patchmine.overlap).

A pairs training set (N HR + N LR files) against a test folder of N files, once with sizes
mostly distinct and once with every file the same size (the worst case: every file's first
64 KiB is hashed). Files are random bytes with PNG names; the check reads only names, sizes and
bytes. Run: ``python benchmarks/bench_overlap_check.py [--files 300]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from patchmine.overlap import DatasetImages


def make_sets(root: Path, n: int, same_size: bool, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    sizes = np.full(n, 90_000) if same_size else rng.integers(50_000, 400_000, n)
    for folder, prefix in (("HR", ""), ("LR", ""), ("T", "t")):
        (root / folder).mkdir(parents=True)
        for i, size in enumerate(sizes):
            (root / folder / f"{prefix}{i:04d}.png").write_bytes(rng.bytes(int(size)))
    return {
        "train": {"source": "pairs", "hr": str(root / "HR"), "lr": str(root / "LR"), "scale": 2},
        "test": {"source": "folder", "path": str(root / "T")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300, help="files per folder")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for same_size in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            datasets = make_sets(Path(tmp), args.files, same_size)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                shared = DatasetImages(datasets, "data").shared("train", "test")
                times.append(time.perf_counter() - start)
            assert not shared, shared
        label = "all one size" if same_size else "sizes distinct"
        print(
            f"{args.files} HR + {args.files} LR vs {args.files} test files, {label}: "
            f"median {statistics.median(times) * 1e3:.0f} ms "
            f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}; {args.repeats} runs)"
        )


if __name__ == "__main__":
    main()
