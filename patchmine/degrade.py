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
