"""Time patchmine.imresize on a DIV2K-sized (2040x1404) RGB uint8 image at x1/2, x1/3, x1/4.

The image is random but smooth (upsampled noise), so the numbers reflect real photos rather
than a constant image. Run: ``python benchmarks/bench_imresize.py``. Single-threaded numpy.
"""

from __future__ import annotations

import time

import numpy as np

from patchmine.imresize import _contributions, imresize


def smooth_image(height: int = 2040, width: int = 1404, seed: int = 0) -> np.ndarray:
    """Coarse uniform noise blown up by pixel repetition and box-blurred, as uint8."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(height // 12 + 1, width // 12 + 1, 3))
    img = np.repeat(np.repeat(coarse, 12, axis=0), 12, axis=1)[:height, :width]
    for axis in (0, 1):
        img = sum(np.roll(img, k, axis=axis) for k in range(-4, 5)) / 9.0
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def main(repeats: int = 5) -> None:
    img = smooth_image()
    print(f"image {img.shape} {img.dtype}, best of {repeats}")
    for s in (2, 3, 4):
        _contributions.cache_clear()
        t0 = time.perf_counter()
        out = imresize(img, 1 / s)
        cold = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            imresize(img, 1 / s)
            times.append(time.perf_counter() - t0)
        print(f"x1/{s}: out {out.shape}  first call {cold:.3f} s  cached best {min(times):.3f} s")


if __name__ == "__main__":
    main()
