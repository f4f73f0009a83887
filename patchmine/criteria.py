"""Per-patch scores used to rank training patches (Soh & Cho, Eqs. 4-6).

Every function takes HR patches shaped ``(N, H, W, C)`` (channels-last, as stored in the HDF5
patch store), as a numpy array, a torch tensor or anything sliceable along the first axis (an
``h5py.Dataset``), and returns a float64 numpy array of ``N`` scores, one per patch.

Scale: pixel values are read on the 0..255 scale (normally uint8) and divided by 255 before
scoring, so every score is on the [0, 1] intensity scale: ``grad`` and ``freq`` are mean powers of
an image in [0, 1], ``std`` is in [0, 0.5], ``loss`` is an MSE of [0, 1] images. Non-uint8 input
(e.g. float arrays in 0..255) is accepted and scaled the same way.

``grad``, ``std`` and ``freq`` compute in float64 on the device the input lives on (a torch
tensor stays where it is; ``device=`` moves it). :func:`score` streams over the array in batches
of ``batch_size`` patches, so an ``h5py.Dataset`` of any size is read a slice at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch

from patchmine.criterion_names import CRITERIA, PIXEL_STATISTICS, STATISTICS
from patchmine.models.precision import without_tf32

DEFAULT_BATCH_SIZE = 256


def _to_device(patches, device=None) -> torch.Tensor:
    """(N, H, W, C) array-like -> tensor on ``device``, dtype unchanged (0..255 scale)."""
    if isinstance(patches, torch.Tensor):
        t = patches
    else:
        t = torch.from_numpy(np.ascontiguousarray(patches))
    if t.ndim != 4:
        raise ValueError(f"patches must be shaped (N, H, W, C), got shape {tuple(t.shape)}")
    return t if device is None else t.to(device)


#: Threads of scipy's FFT on the CPU path (set from the job's thread count by the rule script).
_FFT_WORKERS = 1


def set_cpu_threads(n: int) -> None:
    """Threads for the numpy/scipy CPU path (torch's own are set with torch.set_num_threads)."""
    global _FFT_WORKERS
    _FFT_WORKERS = max(1, int(n))


def _on_numpy(patches, device, backend: str) -> bool:
    """Whether to compute on the CPU with numpy: ``backend`` says, or "auto" picks numpy for
    CPU work (it beats torch's CPU kernels here) and torch for any accelerator."""
    if backend not in ("auto", "numpy", "torch"):
        raise ValueError(f"backend must be auto, numpy or torch, got {backend!r}")
    if backend != "auto":
        return backend == "numpy"
    if device is not None:
        return torch.device(device).type == "cpu"
    return not (isinstance(patches, torch.Tensor) and patches.device.type != "cpu")


def _as_array(patches) -> np.ndarray:
    """(N, H, W, C) array-like (numpy, torch, h5py slice) -> numpy array, dtype unchanged."""
    x = patches.cpu().numpy() if isinstance(patches, torch.Tensor) else np.asarray(patches)
    if x.ndim != 4:
        raise ValueError(f"patches must be shaped (N, H, W, C), got shape {tuple(x.shape)}")
    return x


def _int_sum_type(largest: int):
    """int32 when a patch's sum of squares fits (fast einsum), else int64."""
    return np.int32 if largest < 2**31 else np.int64


def _as_tensor(patches, device=None) -> torch.Tensor:
    """(N, H, W, C) array-like -> float64 tensor on ``device``, scaled to [0, 1]."""
    return _to_device(patches, device).to(torch.float64) / 255.0


def grad(patches, *, device=None, backend: str = "auto") -> np.ndarray:
    """Eq. 5: ``(1/HWC) sum_c sum_{h,w} (|grad_h x|^2 + |grad_w x|^2)``.

    Forward differences: ``grad_h x`` has ``H-1`` rows, ``grad_w x`` has ``W-1`` columns (no
    padding); the sum of both is divided by the full ``H*W*C``. uint8 input is differenced and
    summed in integers on the 0..255 scale (exact); the 1/255**2 factor is applied at the end.
    ``backend`` "numpy" (the CPU default: several times faster than torch's integer kernels
    there) or "torch" (on ``device``, e.g. a GPU).
    """
    if _on_numpy(patches, device, backend):
        x = _as_array(patches)
        n, h, w, c = x.shape
        if x.dtype == np.uint8:
            x = x.astype(np.int16)
            wide = _int_sum_type(255**2 * h * w * c)
            dh = (x[:, 1:] - x[:, :-1]).reshape(n, -1).astype(wide)
            dw = (x[:, :, 1:] - x[:, :, :-1]).reshape(n, -1).astype(wide)
        else:
            x = x.astype(np.float64)
            dh = (x[:, 1:] - x[:, :-1]).reshape(n, -1)
            dw = (x[:, :, 1:] - x[:, :, :-1]).reshape(n, -1)
        # Each sum fits ``wide``; their total may not (a 96 px RGB checkerboard): add in int64
        # (or float64 for float input).
        total = np.einsum("ij,ij->i", dh, dh).astype(np.result_type(dh.dtype, np.int64))
        total += np.einsum("ij,ij->i", dw, dw)
        return total.astype(np.float64) / (255.0**2 * h * w * c)
    x = _to_device(patches, device)
    n, h, w, c = x.shape
    if x.dtype == torch.uint8:
        # Exact: differences fit int16, their squares int32, a patch's sum int64.
        x = x.to(torch.int16)
        dh = (x[:, 1:] - x[:, :-1]).to(torch.int32)
        dw = (x[:, :, 1:] - x[:, :, :-1]).to(torch.int32)
        total = (dh * dh).flatten(1).sum(1) + (dw * dw).flatten(1).sum(1)
        total = total.to(torch.float64)
    else:
        x = x.to(torch.float64)
        dh = x[:, 1:] - x[:, :-1]
        dw = x[:, :, 1:] - x[:, :, :-1]
        total = dh.square().flatten(1).sum(1) + dw.square().flatten(1).sum(1)
    return (total / (255.0**2 * h * w * c)).cpu().numpy()


def std(patches, *, device=None, backend: str = "auto") -> np.ndarray:
    """Population standard deviation (ddof 0) over all ``H*W*C`` values of each patch.

    uint8 input is summed in integers: ``n * sum(x^2) - sum(x)^2`` is exact in int64 (at most
    n^2 * 255^2), so the variance has no cancellation error.
    """
    if _on_numpy(patches, device, backend):
        x = _as_array(patches)
        flat = x.reshape(len(x), -1)
        n = flat.shape[1]
        if x.dtype == np.uint8:
            flat = flat.astype(_int_sum_type(255**2 * n))
            s1 = flat.sum(1, dtype=np.int64)
            s2 = np.einsum("ij,ij->i", flat, flat).astype(np.int64)
            return np.sqrt((n * s2 - s1 * s1).astype(np.float64) / (n * n * 255.0**2))
        return (flat.astype(np.float64) / 255.0).std(axis=1)
    x = _to_device(patches, device)
    if x.dtype == torch.uint8:
        flat = x.reshape(x.shape[0], -1).to(torch.int32)
        n = flat.shape[1]
        s1 = flat.sum(1, dtype=torch.int64)
        s2 = (flat * flat).sum(1, dtype=torch.int64)
        var = (n * s2 - s1 * s1).to(torch.float64) / (n * n * 255.0**2)
        return var.sqrt().cpu().numpy()
    flat = (x.to(torch.float64) / 255.0).reshape(x.shape[0], -1)
    return flat.std(dim=1, correction=0).cpu().numpy()


@functools.lru_cache(maxsize=32)
def _high_band_1d(n: int) -> np.ndarray:
    """Bins ``k`` of an ``n``-point DFT whose frequency, wrapped to (-pi, pi], has |w| >= pi/2.

    ``w_k = 2*pi*k/n`` for ``k <= n/2`` and ``2*pi*k/n - 2*pi`` above, so
    ``|w_k| = 2*pi*min(k, n-k)/n`` and ``|w_k| >= pi/2  <=>  4*min(k, n-k) >= n`` (exact in
    integers, so the boundary bin ``k = n/4`` is counted without rounding trouble).
    """
    k = np.arange(n)
    return 4 * np.minimum(k, n - k) >= n


@functools.lru_cache(maxsize=32)
def freq_mask(h: int, w: int) -> np.ndarray:
    """(H, W) boolean mask of DFT bins with both ``|w_i| >= pi/2`` and ``|w_j| >= pi/2``."""
    mask = np.logical_and.outer(_high_band_1d(h), _high_band_1d(w))
    mask.setflags(write=False)
    return mask


@functools.lru_cache(maxsize=32)
def _rfft_weights(h: int, w: int) -> np.ndarray:
    """:func:`freq_mask` folded onto the half spectrum of ``rfft2`` (last axis ``w//2 + 1``).

    A real patch has ``|X(k_i, k_j)| = |X(-k_i, -k_j)|`` and the band is symmetric under
    ``k -> -k``, so each half-spectrum column ``0 < k_j < w/2`` stands for two columns of the full
    spectrum (weight 2); columns 0 and (for even ``w``) ``w/2`` are their own mirror (weight 1).
    """
    half = w // 2 + 1
    cols = np.full(half, 2.0)
    cols[0] = 1.0
    if w % 2 == 0:
        cols[-1] = 1.0
    weights = freq_mask(h, w)[:, :half] * cols[None, :]
    weights.setflags(write=False)
    return weights


def freq(patches, *, device=None, backend: str = "auto") -> np.ndarray:
    """Eq. 6: ``(1/HWC) sum_c sum_{|w_i|,|w_j| >= pi/2} |DFT(x)|^2``.

    Unnormalised 2-D DFT of each channel over (H, W); a bin counts when both of its frequencies,
    wrapped to (-pi, pi], have magnitude at least pi/2 (see :func:`freq_mask`). Computed in
    float64 with a real FFT over the half spectrum (see :func:`_rfft_weights`); the numpy path
    transforms along H only the columns inside the band (about half).
    """
    if _on_numpy(patches, device, backend):
        import scipy.fft

        x = _as_array(patches).astype(np.float64)
        n, h, w, c = x.shape
        weights = _rfft_weights(h, w)
        cols = np.flatnonzero(weights.any(axis=0))
        rows = np.flatnonzero(weights.any(axis=1))
        along_w = scipy.fft.rfft(x, axis=2, workers=_FFT_WORKERS)[:, :, cols]
        spectrum = scipy.fft.fft(along_w, axis=1, workers=_FFT_WORKERS)[:, rows]
        power = spectrum.real**2 + spectrum.imag**2  # (N, rows, cols, C)
        band = weights[np.ix_(rows, cols)][None, :, :, None]
        return (power * band).sum(axis=(1, 2, 3)) / (255.0**2 * h * w * c)
    x = _as_tensor(patches, device)
    n, h, w, c = x.shape
    spectrum = torch.fft.rfft2(x.permute(0, 3, 1, 2))  # (N, C, H, W//2+1), unnormalised
    power = spectrum.real.square() + spectrum.imag.square()
    weights = torch.from_numpy(_rfft_weights(h, w).copy()).to(x.device)
    total = (power * weights).sum(dim=(1, 2, 3))
    return (total / (h * w * c)).cpu().numpy()


def random_scores(n: int, seed: int) -> np.ndarray:
    """A seeded random permutation of ``0..n-1`` as float64: its top-K is a seeded random subset."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return np.random.default_rng(seed).permutation(n).astype(np.float64)


def _module_device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def mse_loss(
    hr_patches,
    lr_patches,
    model: torch.nn.Module,
    *,
    batch_size: int = 64,
    device=None,
) -> np.ndarray:
    """Eq. 4: per-patch MSE on the [0, 1] scale between each HR patch and ``model(LR patch)``.

    ``hr_patches`` is (N, H, W, C) and ``lr_patches`` (N, h, w, C) (the degraded inputs; for
    denoising h, w = H, W), both on the 0..255 scale. The model follows the EDSR convention: float
    NCHW input on 0..255 (rgb_range 255), output on 0..255; its raw output is scored (no rounding
    or clamping). Runs under ``torch.inference_mode`` in batches of ``batch_size`` on ``device``
    (default: where the model's parameters live; the model itself is not moved). The model is put
    in eval mode for the call and its previous mode is restored afterwards.
    """
    n = len(hr_patches)
    if len(lr_patches) != n:
        raise ValueError(f"{n} HR patches but {len(lr_patches)} LR patches")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device) if device is not None else _module_device(model)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    out = np.empty(n, dtype=np.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), without_tf32():  # a measurement, like evaluation
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                hr = _as_tensor(hr_patches[start:stop], device)  # (B, H, W, C) in [0, 1]
                lr = _as_tensor(lr_patches[start:stop], device)
                lr = (lr * 255.0).permute(0, 3, 1, 2).to(dtype)  # NCHW, 0..255
                sr = model(lr)
                if (sr.shape[0], *sr.shape[2:], sr.shape[1]) != tuple(hr.shape):
                    raise ValueError(
                        f"model output {tuple(sr.shape)} does not match HR patches "
                        f"{tuple(hr.shape)} (NHWC)"
                    )
                sr = sr.permute(0, 2, 3, 1).to(torch.float64) / 255.0
                out[start:stop] = (sr - hr).square().mean(dim=(1, 2, 3)).cpu().numpy()
    finally:
        model.train(was_training)
    return out


#: The code of each pixel statistic (``criterion_names.PIXEL_STATISTICS``): a function of an
#: (N, H, W, C) uint8 batch (numpy or a torch tensor on any device) returning N float64 scores.
_BATCHED: dict[str, Callable[..., np.ndarray]] = {"grad": grad, "std": std, "freq": freq}


def score_statistics(
    patches, names=STATISTICS, *, device="cpu", batch_size: int = DEFAULT_BATCH_SIZE
) -> dict[str, np.ndarray]:
    """Several pixel-statistic criteria in one pass: each batch is read (and moved) once."""
    unknown = [n for n in names if n not in _BATCHED]
    if unknown:
        raise ValueError(f"{unknown} are not pixel statistics; expected some of {PIXEL_STATISTICS}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(patches)
    out = {name: np.empty(n, dtype=np.float64) for name in names}
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        batch = _to_device(patches[start:stop], device)
        for name in names:
            out[name][start:stop] = _BATCHED[name](batch)
    return out


def score(
    name: str,
    patches,
    *,
    device="cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
    lr_patches=None,
    model: torch.nn.Module | None = None,
) -> np.ndarray:
    """Score every patch with criterion ``name``; returns float64 (N,).

    ``grad``/``std``/``freq`` read ``patches`` ``batch_size`` at a time (an ``h5py.Dataset`` is
    never loaded whole) and compute on ``device``. ``rand`` only needs ``len(patches)`` and
    ``seed``. ``loss`` additionally needs ``lr_patches`` and ``model`` (see :func:`mse_loss`);
    the model is moved to ``device``.
    """
    if name not in CRITERIA:
        raise ValueError(f"unknown criterion {name!r}; expected one of {CRITERIA}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(patches)
    if name == "rand":
        return random_scores(n, seed)
    if name == "loss":
        if lr_patches is None or model is None:
            raise ValueError("criterion 'loss' needs lr_patches= and model=")
        model = model.to(device)
        return mse_loss(patches, lr_patches, model, batch_size=batch_size, device=device)
    return score_statistics(patches, (name,), device=device, batch_size=batch_size)[name]
