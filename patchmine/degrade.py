"""Degradations that turn a clean HR image into a network input."""

from __future__ import annotations

import numpy as np

from patchmine.imresize import imresize, modcrop


def bicubic_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB ``imresize(modcrop(hr, s), 1/s, 'bicubic')``: the LR image of the SR literature.

    The HR image is cropped to a multiple of ``scale`` first so that LR pixel (i, j) covers HR
    pixels (s*i .. s*i+s-1, s*j .. s*j+s-1) exactly, which is what lets a patch's LR be cut from
    the LR image at (y/s, x/s).
    """
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    return imresize(modcrop(hr, scale), 1.0 / scale)


def add_noise(image, sigma: float, generator: np.random.Generator) -> np.ndarray:
    """``image`` + white Gaussian noise of std ``sigma`` (0..255 scale), float32, not clipped.

    Not clipping or rounding follows the denoising literature's synthetic protocol (DnCNN): the
    network sees the noisy values as they are.
    """
    image = np.asarray(image, dtype=np.float32)
    return image + generator.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma)


def noise_generator(seed: int, key: str | int) -> np.random.Generator:
    """A generator fixed by (seed, key): the same image or patch always gets the same noise."""
    import hashlib

    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


class NoisyPatches:
    """A read-only view of (N, H, W, C) patches with noise fixed per patch index.

    Slicing returns float32 noisy patches; each patch's noise depends only on (seed, index), not
    on how the patches are batched, so scores are the same for any batch size.
    """

    def __init__(self, patches, sigma: float, seed: int = 0):
        self.patches, self.sigma, self.seed = patches, sigma, seed

    def __len__(self) -> int:
        return len(self.patches)

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice):
            raise TypeError("NoisyPatches supports slices only")
        start, stop, step = index.indices(len(self))
        clean = np.asarray(self.patches[start:stop:step])
        out = np.empty(clean.shape, np.float32)
        for offset, i in enumerate(range(start, stop, step)):
            out[offset] = add_noise(clean[offset], self.sigma, noise_generator(self.seed, i))
        return out
