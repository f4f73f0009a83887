"""Running a trained network on whole images and scoring it as the literature does.

Super-resolution: Y-channel PSNR/SSIM with ``scale`` border pixels shaved. Denoising: the clean
image plus Gaussian noise fixed per image (so every run sees the same noisy test set), RGB PSNR
and channel-mean SSIM, no shave.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from patchmine.degrade import add_noise, noise_generator
from patchmine.imresize import imresize
from patchmine.metrics import psnr, rgb_psnr, rgb_to_y, shave, sr_metrics, ssim
from patchmine.models.precision import without_tf32
from patchmine.tasks import Task


def to_tensor(image: np.ndarray, device) -> torch.Tensor:
    """H x W x 3 (uint8, or float noisy) -> 1 x 3 x H x W float on 0..255 (EDSR's convention)."""
    writable = np.require(image, requirements=["C_CONTIGUOUS", "WRITEABLE"])
    return torch.from_numpy(writable).to(device).permute(2, 0, 1)[None].float()


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """1 x 3 x H x W float in 0..255 -> H x W x 3 uint8, rounded and clipped like saved outputs."""
    out = tensor[0].float().clamp(0, 255).round().byte().permute(1, 2, 0)
    return out.cpu().numpy()


@torch.inference_mode()
def restore(model: torch.nn.Module, lr: np.ndarray, device="cpu") -> np.ndarray:
    """The network's uint8 output for one whole LR image."""
    return to_image(model(to_tensor(lr, device)))


def y_psnr(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """PSNR on the Y channel with ``scale`` pixels shaved: cheap enough for validation."""
    return psnr(shave(rgb_to_y(sr), scale), shave(rgb_to_y(hr), scale))


#: MATLAB ``rgb2gray``'s weights: the grey value of a colour output, for grey targets.
GREY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def to_grey(image: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> H x W uint8, as MATLAB's ``rgb2gray`` (exact for equal channels)."""
    grey = image.astype(np.float64) @ np.asarray(GREY_WEIGHTS)
    return np.clip(np.round(grey), 0, 255).astype(np.uint8)


def sr_scores(scale: int, with_ssim: bool = True):
    """The SR protocol: Y-channel PSNR (and SSIM) with ``scale`` border pixels shaved. A 2-D
    (grey) target is compared with the output's grey values instead (``evaluation.grey: luma``).
    """

    def score(out: np.ndarray, hr: np.ndarray) -> tuple[float, float]:
        if hr.ndim == 2:
            out = to_grey(out)
        return sr_metrics(out, hr, scale) if with_ssim else (y_psnr(out, hr, scale), np.nan)

    return score


def denoise_scores(with_ssim: bool = True):
    """The denoising protocol: RGB PSNR (and channel-mean SSIM), no shave."""

    def score(out: np.ndarray, hr: np.ndarray) -> tuple[float, float]:
        s = np.mean([ssim(out[..., c], hr[..., c]) for c in range(3)]) if with_ssim else np.nan
        return rgb_psnr(out, hr), s

    return score


def score_images(model, pairs, score, device="cpu") -> pd.DataFrame:
    """Per-image (psnr, ssim) of the model's outputs over (name, target, input) triples."""
    was_training = model.training
    model.eval()
    rows = []
    try:
        with without_tf32():  # a measurement: the same on every GPU model as on the CPU
            for name, target, inputs in pairs:
                p, s = score(restore(model, inputs, device), target)
                rows.append({"image": name, "psnr": p, "ssim": s})
    finally:
        model.train(was_training)
    return pd.DataFrame(rows, columns=["image", "psnr", "ssim"])


def noisy_pairs(images, sigma: float, seed: int = 0) -> list:
    """(name, clean, noisy) with noise fixed by (seed, name): the denoising test protocol.

    A grey image (three equal channels, as a grey file is read) gets one noise field, repeated
    on its three channels, as grey denoising is evaluated: three independent fields would let
    an RGB network average them down to sigma/sqrt(3).
    """
    pairs = []
    for name, hr in images:
        generator = noise_generator(seed, name)
        if hr.ndim == 3 and hr.shape[2] == 3 and _equal_channels(hr):
            noisy = np.repeat(add_noise(hr[..., :1], sigma, generator), 3, axis=2)
        else:
            noisy = add_noise(hr, sigma, generator)
        pairs.append((name, hr, noisy))
    return pairs


def _equal_channels(image: np.ndarray) -> bool:
    return bool((image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all())


def task_scores(task: Task, with_ssim: bool = True):
    """The scoring function of ``task``'s protocol (:func:`sr_scores`, :func:`denoise_scores`)."""
    return sr_scores(task.scale, with_ssim) if task.kind == "sr" else denoise_scores(with_ssim)


def evaluate(model, task: Task, pairs, device="cpu", with_ssim: bool = True) -> pd.DataFrame:
    """The task's protocol: ``pairs`` are (name, hr, lr) for SR, (name, clean, noisy) for noise."""
    return score_images(model, pairs, task_scores(task, with_ssim), device)


def reference_output(task: Task, inputs: np.ndarray) -> np.ndarray:
    """What any network of ``task`` must beat, as a uint8 image: the LR image upscaled by
    MATLAB's bicubic ``imresize`` (the SR literature's "Bicubic" row), or for denoising the
    noisy input itself, clipped and rounded as an output is."""
    if task.kind == "sr":
        return imresize(np.asarray(inputs, np.uint8), task.scale)
    return np.clip(np.round(inputs), 0, 255).astype(np.uint8)


def evaluate_reference(task: Task, pairs, with_ssim: bool = True) -> pd.DataFrame:
    """Per-image (psnr, ssim) of :func:`reference_output` by the task's protocol: the floor a
    trained network's numbers are read against, and a check of the protocol itself (bicubic x2
    on Set5 scores 33.66 dB in the literature)."""
    score = task_scores(task, with_ssim)
    rows = []
    for name, target, inputs in pairs:
        p, s = score(reference_output(task, inputs), target)
        rows.append({"image": name, "psnr": p, "ssim": s})
    return pd.DataFrame(rows, columns=["image", "psnr", "ssim"])


#: How an SR evaluation scores images stored grey (Set14's ``bridge``): ``rgb``, as read (grey
#: repeated to RGB, so Y = 16 + 219/255 v: EDSR's code; Set14 bicubic x2 30.33 dB), or ``luma``,
#: on their own grey values against the output's grey (MATLAB-era tables: 30.23 dB, published
#: 30.24).
GREY_CONVENTIONS = ("rgb", "luma")


def task_pairs(root, task: Task, seed: int = 0, grey: str = "rgb") -> list:
    """The evaluation inputs of an ingested set for ``task`` (LR files, or fixed noise); with
    ``grey="luma"`` the HR of an image whose source file is grey is 2-D (see GREY_CONVENTIONS)."""
    from patchmine.datasets import hr_path, load_pairs, read_manifest
    from patchmine.images import is_grey_file, read_image

    if grey not in GREY_CONVENTIONS:
        raise ValueError(f"grey convention must be one of {GREY_CONVENTIONS}, got {grey!r}")
    if task.kind == "sr":
        pairs = load_pairs(root, task.scale)
        if grey == "rgb":
            return pairs
        grey_names = {r["name"] for r in read_manifest(root) if is_grey_file(r["source"])}
        return [(n, hr[..., 0] if n in grey_names else hr, lr) for n, hr, lr in pairs]
    images = [(row["name"], read_image(hr_path(root, row["name"]))) for row in read_manifest(root)]
    return noisy_pairs(images, task.sigma, seed)
