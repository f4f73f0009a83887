"""MATLAB-compatible bicubic ``imresize`` and ``modcrop``.

SR benchmarks are defined by MATLAB's ``imresize(x, 1/s, 'bicubic')``; any other resizer (PIL,
OpenCV, skimage) gives LR images that differ by several grey levels and shifts published PSNR by
tenths of a dB. This module reproduces MATLAB's algorithm so that our LR images equal the
MATLAB-made benchmark files bit for bit (see ../shared/data/SOURCES.md):

* cubic kernel with a = -0.5, support [-2, 2];
* when shrinking (scale < 1) the kernel is stretched by 1/scale and scaled by ``scale``
  (antialiasing), so the kernel width becomes 4/scale;
* output pixel x (1-based) samples input coordinate u = x/scale + 0.5*(1 - 1/scale);
* the weights of each output pixel are normalised to sum to 1;
* taps that fall outside the image are clamped to the edge pixel;
* one 1-D pass per dimension, the dimension with the smaller scale first (rows first when the
  scales are equal); for uint8 input each pass is rounded half-up and saturated to uint8.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["imresize", "modcrop"]

_BLOCK_BYTES = 1 << 20


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with a = -0.5 (the one MATLAB's 'bicubic' uses)."""
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    near = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return near + far


@lru_cache(maxsize=64)
def _contributions(in_size: int, out_size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights (out_size x taps) and 0-based clamped source indices for one 1-D resize.

    Cached because a workflow resizes thousands of images of the same few sizes. The returned
    arrays are read-only so a caller cannot corrupt the cache.
    """
    kernel_width = 4.0
    antialias = scale < 1
    if antialias:
        kernel_width = kernel_width / scale

    x = np.arange(1, out_size + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    dist = u[:, None] - indices
    if antialias:
        weights = scale * _cubic(scale * dist)
    else:
        weights = _cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)

    # MATLAB drops taps that are zero for every output pixel; they add nothing but time.
    keep = np.any(weights != 0, axis=0)
    weights = np.ascontiguousarray(weights[:, keep])
    idx = np.clip(indices[:, keep].astype(np.int64) - 1, 0, in_size - 1)

    weights.setflags(write=False)
    idx.setflags(write=False)
    return weights, idx


def _resize_axis(
    data: np.ndarray, axis: int, out_size: int, scale: float, to_uint8: bool
) -> np.ndarray:
    """One 1-D pass along ``axis``: a gather-and-sum over the few kernel taps.

    The resized axis is moved to the front and flattened against the others, so every tap is a
    gather of whole contiguous rows. Output rows are processed in blocks of about 1 MiB so the
    float64 accumulator stays in cache (3x faster than whole-image temporaries on 2K images).
    Taps are summed in order starting from 0.0, the order whose rounding matched the MATLAB files.
    """
    weights, idx = _contributions(data.shape[axis], out_size, scale)
    moved = np.moveaxis(data, axis, 0)
    rest = moved.shape[1:]
    flat = moved.reshape(moved.shape[0], -1)  # copies (transposes) when axis is not 0
    n = flat.shape[1]
    out = np.empty((out_size, n), dtype=np.uint8 if to_uint8 else np.float64)
    block = max(1, _BLOCK_BYTES // (8 * max(n, 1)))
    acc = np.empty((min(block, out_size), n), dtype=np.float64)
    tmp = np.empty_like(acc)
    for r0 in range(0, out_size, block):
        r1 = min(out_size, r0 + block)
        a, t = acc[: r1 - r0], tmp[: r1 - r0]
        a.fill(0.0)
        for k in range(weights.shape[1]):
            np.multiply(flat[idx[r0:r1, k]], weights[r0:r1, k, None], out=t)
            a += t
        if to_uint8:
            # MATLAB's double -> uint8 conversion: round half away from zero, then saturate.
            # floor(v + 0.5) is that rounding for v >= 0; negative v saturates to 0 either way.
            a += 0.5
            np.floor(a, out=a)
            np.clip(a, 0, 255, out=a)
        out[r0:r1] = a
    return np.moveaxis(out.reshape((out_size,) + rest), 0, axis)


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Resize like MATLAB ``imresize(image, scale, 'bicubic')`` (or to ``output_shape``).

    Give exactly one of ``scale`` (output size = ceil(in * scale), as MATLAB does) or
    ``output_shape`` ``(height, width)`` (per-dimension scale = out / in, as MATLAB does).
    ``image`` is HxW or HxWxC. uint8 input gives uint8 output that matches MATLAB bit for bit,
    because every 1-D pass is rounded to uint8 like MATLAB's; any other dtype is computed and
    returned as float64 without rounding or clipping.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be HxW or HxWxC, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image must be at least 1x1, got shape {image.shape}")
    if (scale is None) == (output_shape is None):
        raise ValueError(
            f"give exactly one of scale and output_shape, got scale={scale!r}, "
            f"output_shape={output_shape!r}"
        )
    in_shape = image.shape[:2]
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        scale = float(scale)
        if not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        scales = (scale, scale)
        out_shape = tuple(math.ceil(n * scale) for n in in_shape)
    else:
        if (
            not isinstance(output_shape, (tuple, list))
            or len(output_shape) != 2
            or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in output_shape)
        ):
            raise ValueError(
                f"output_shape must be two positive integers (height, width), got {output_shape!r}"
            )
        out_shape = (int(output_shape[0]), int(output_shape[1]))
        scales = tuple(o / i for o, i in zip(out_shape, in_shape, strict=True))

    to_uint8 = image.dtype == np.uint8
    data = image if to_uint8 else image.astype(np.float64)
    # MATLAB resizes the dimension with the smaller scale first (stable: rows on a tie).
    for axis in sorted((0, 1), key=lambda a: scales[a]):
        data = _resize_axis(data, axis, out_shape[axis], scales[axis], to_uint8)
    return data


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop H and W down to multiples of ``scale`` (top-left kept), so HR and LR align exactly."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be HxW or HxWxC, got shape {image.shape}")
    h, w = image.shape[0], image.shape[1]
    if h < scale or w < scale:
        raise ValueError(f"image of shape {image.shape} is smaller than scale {scale}")
    return image[: h - h % scale, : w - w % scale]
