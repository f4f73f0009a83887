"""The eight flips and rotations of a square patch (the dihedral group), applied on-device.

Each sample of a batch gets one of the eight transforms, drawn from a generator, and the same
transform is applied to its input and target so the pair stays aligned. There is no Python loop
over samples: :func:`apply_dihedral` is three ``torch.where`` selections over the whole batch, and
:func:`dihedral_index` turns the transforms into gather positions, so a sampler can fetch patches
and transform them in a single ``index_select`` (what the training loop does).
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


def dihedral_index(size: int, device=None) -> torch.Tensor:
    """(8, size*size) int64 gather positions: transform ``c`` of a flattened ``size``-square patch
    ``x`` is ``x[index[c]]``. Made by :func:`apply_dihedral` itself, so the two always agree."""
    positions = torch.arange(size * size).view(1, 1, size, size).expand(8, 1, size, size)
    index = apply_dihedral(positions, torch.arange(8)).reshape(8, size * size)
    return index.contiguous().to(device)
