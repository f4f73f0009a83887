"""Time the digest of a run's pixels that every training attempt computes (train.data_digest).

It hashes the selected HR and LR patches and the validation images once per attempt, so that a
store rebuilt from changed images is never resumed. The paper's largest subset is 150 K patches
of 96 px with LR x2 (about 5.2 GB); this times ``--patches`` of them (random uint8) plus ten
DIV2K-sized validation pairs and reports the rate, so the full figure is a multiplication.
Run: ``python benchmarks/bench_data_digest.py [--patches 20000]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from patchmine.train import data_digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=20_000)
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    p = args.patch
    hr = rng.integers(0, 256, (args.patches, p, p, 3), dtype=np.uint8)
    lr = rng.integers(0, 256, (args.patches, p // 2, p // 2, 3), dtype=np.uint8)
    images = [rng.integers(0, 256, (1356, 2040, 3), dtype=np.uint8) for _ in range(10)]
    val = [(f"{i:04d}", image, image[::2, ::2].copy()) for i, image in enumerate(images)]
    total = hr.nbytes + lr.nbytes + sum(a.nbytes + b.nbytes for _, a, b in val)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        data_digest(lr, hr, val)
        times.append(time.perf_counter() - start)
    best = min(times)
    rate = total / best / 1e9
    full = (150_000 * (p * p * 3 + (p // 2) ** 2 * 3)) / 1e9
    print(
        f"{args.patches} patches + 10 validation pairs, {total / 1e9:.2f} GB: "
        f"{best:.2f} s (median {statistics.median(times):.2f} s), {rate:.2f} GB/s; "
        f"150 K patches ({full:.1f} GB) would take about {full / rate:.1f} s"
    )


if __name__ == "__main__":
    main()
