"""Running a trained network on whole images and scoring it as the SR literature does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from patchmine.metrics import psnr, rgb_to_y, shave, sr_metrics


def to_tensor(image: np.ndarray, device) -> torch.Tensor:
    """H x W x 3 uint8 -> 1 x 3 x H x W float in 0..255 (the EDSR convention) on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1)[None].float()


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


def evaluate_sr(model, pairs, scale: int, device="cpu", with_ssim: bool = True) -> pd.DataFrame:
    """Per-image Y-channel PSNR/SSIM (border of ``scale`` shaved) over (name, hr, lr) pairs."""
    was_training = model.training
    model.eval()
    rows = []
    try:
        for name, hr, lr in pairs:
            sr = restore(model, lr, device)
            if with_ssim:
                p, s = sr_metrics(sr, hr, scale)
            else:
                p, s = y_psnr(sr, hr, scale), np.nan
            rows.append({"image": name, "psnr": p, "ssim": s})
    finally:
        model.train(was_training)
    return pd.DataFrame(rows, columns=["image", "psnr", "ssim"])
