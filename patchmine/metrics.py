"""Image-quality metrics computed the way the SR / denoising literature computes them.

Published SR tables (EDSR, RCAN, Soh & Cho, ...) score the uint8 output on the BT.601 luma (Y)
channel with ``scale`` pixels shaved from each border, and use the MATLAB SSIM of Wang et al.
(``ssim_index.m``: 11x11 Gaussian window, sigma 1.5, 'valid' region, no downsampling). Scoring on
RGB, skipping the shave or using skimage's default SSIM moves the numbers by 0.1-1 dB / 0.01,
which is larger than the effects the paper reports. Denoising is scored as plain RGB PSNR.
"""

from __future__ import annotations

import numpy as np

__all__ = ["psnr", "rgb_psnr", "rgb_to_y", "shave", "sr_metrics", "ssim"]

_SSIM_SIZE = 11
_SSIM_SIGMA = 1.5


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in 16..235 from RGB in 0..255: Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255.

    This is MATLAB's ``rgb2ycbcr`` Y row applied to 0..255 values, kept as float64 (not rounded)
    as in the reference measurements in ../shared/data/SOURCES.md. A 2-D (grey) image is
    returned as float64 unchanged: it is already a luminance, and the SR literature scores grey
    test images (e.g. Set14 ``bridge``) on their own values rather than inventing a colour
    conversion for them.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        return image.astype(np.float64)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects HxW or HxWx3, got shape {image.shape}")
    rgb = image.astype(np.float64)
    return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def shave(image: np.ndarray, border: int) -> np.ndarray:
    """Drop ``border`` pixels from each side of H and W (SR outputs are unreliable there)."""
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
        raise ValueError(f"border must be a non-negative integer, got {border!r}")
    image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(f"image must be at least 2-D, got shape {image.shape}")
    if border == 0:
        return image
    if image.shape[0] <= 2 * border or image.shape[1] <= 2 * border:
        raise ValueError(f"cannot shave {border} pixels from each side of shape {image.shape}")
    return image[border:-border, border:-border]


def _check_same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB, 10 log10(range^2 / MSE), computed in float64; inf for identical images."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    _check_same_shape(a, b)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def _gaussian_1d(size: int = _SSIM_SIZE, sigma: float = _SSIM_SIGMA) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)`` (which is separable)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


def _filter_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(outer(k, k), image, 'valid')`` as two 1-D passes (k symmetric)."""
    n = kernel.size
    h, w = image.shape
    rows = np.zeros((h - n + 1, w), dtype=np.float64)
    for i in range(n):
        rows += kernel[i] * image[i : i + h - n + 1]
    out = np.zeros((h - n + 1, w - n + 1), dtype=np.float64)
    for j in range(n):
        out += kernel[j] * rows[:, j : j + w - n + 1]
    return out


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two single-channel images, as Wang et al.'s MATLAB ``ssim_index``.

    Gaussian 11x11 window (sigma 1.5), statistics only where the window fits ('valid'),
    C1 = (0.01 L)^2, C2 = (0.03 L)^2, mean of the SSIM map. Colour images are the caller's job
    (the SR protocol scores Y only).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    _check_same_shape(a, b)
    if a.ndim != 2:
        raise ValueError(f"ssim expects single-channel HxW images, got shape {a.shape}")
    if min(a.shape) < _SSIM_SIZE:
        raise ValueError(f"ssim needs images of at least {_SSIM_SIZE}x{_SSIM_SIZE}, got {a.shape}")
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    g = _gaussian_1d()
    mu_a = _filter_valid(a, g)
    mu_b = _filter_valid(b, g)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a = _filter_valid(a * a, g) - mu_aa
    var_b = _filter_valid(b * b, g) - mu_bb
    cov = _filter_valid(a * b, g) - mu_ab
    ssim_map = ((2 * mu_ab + c1) * (2 * cov + c2)) / ((mu_aa + mu_bb + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def sr_metrics(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of a super-resolved uint8 image against its HR, the SR-paper way.

    Both images are converted to Y (grey images are used as they are), ``scale`` pixels are
    shaved from every border, then PSNR and MATLAB-style SSIM are computed with range 255.
    """
    sr = np.asarray(sr)
    hr = np.asarray(hr)
    if sr.shape != hr.shape:
        raise ValueError(f"sr shape {sr.shape} differs from hr shape {hr.shape}")
    for name, img in (("sr", sr), ("hr", hr)):
        if img.dtype != np.uint8:
            raise ValueError(f"{name} must be uint8 (round the output first), got {img.dtype}")
    y_sr = shave(rgb_to_y(sr), scale)
    y_hr = shave(rgb_to_y(hr), scale)
    return psnr(y_sr, y_hr), ssim(y_sr, y_hr)


def rgb_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR over all RGB (or grey) values on 0..255, no shave: the denoising protocol."""
    return psnr(a, b, data_range=255.0)
