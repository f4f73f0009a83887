"""The eight flips and rotations of a square patch (the dihedral group), applied on-device.

Each sample of a batch gets one of the eight transforms, drawn from a generator, and the same
transform is applied to its input and target so the pair stays aligned. The work is three
``torch.where`` selections over the whole batch: no Python loop over samples.
"""

from __future__ import annotations

import torch


def random_dihedral(generator: torch.Generator, n: int, device) -> torch.Tensor:
    """Draw ``n`` transform codes in 0..7 (bit 0: flip W, bit 1: flip H, bit 2: transpose)."""
    return torch.randint(0, 8, (n,), generator=generator).to(device)


def apply_dihedral(batch: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Apply per-sample transform ``codes`` to an (N, C, H, W) batch of square patches."""
    if batch.shape[-1] != batch.shape[-2]:
        raise ValueError(f"dihedral augmentation needs square patches, got {tuple(batch.shape)}")
    shape = (-1, 1, 1, 1)
    flip_w = (codes & 1).bool().view(shape)
    flip_h = (codes & 2).bool().view(shape)
    transpose = (codes & 4).bool().view(shape)
    batch = torch.where(flip_w, batch.flip(-1), batch)
    batch = torch.where(flip_h, batch.flip(-2), batch)
    return torch.where(transpose, batch.transpose(-1, -2), batch)
