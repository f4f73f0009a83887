"""A run's training data on the device: the selected patches read from the store once as uint8
(:func:`load_subset`), and batches gathered, flipped/rotated and converted there
(:class:`PatchSampler`), so no data-loader process or host-to-device copy sits in a training step.

Every random choice of step ``i`` (which patches, which flips, which noise) is a pure function
of ``(seed, i)`` (:func:`mix_seed` makes the generators' seeds): a run resumed at step ``i`` draws
exactly the batches an uninterrupted run would have drawn.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from patchmine.augment import dihedral_index, random_dihedral
from patchmine.store import open_store, read_rows
from patchmine.tasks import Task


class PatchSampler:
    """Batches of (LR, HR) training pairs drawn from patches held on the device as uint8.

    An epoch's order and flips are drawn on the host in one go and moved to the device once, so
    a step itself launches only device work and never syncs: per tensor, one ``index_select``
    that fetches the batch's pixels already flipped/rotated, and one conversion to float.
    """

    def __init__(
        self,
        lr: np.ndarray | None,
        hr: np.ndarray,
        batch_size: int,
        augment: bool,
        seed: int,
        device,
        memory_format: torch.memory_format = torch.contiguous_format,
        sigma: float = 0.0,
    ):
        if len(hr) < batch_size:
            raise ValueError(
                f"{len(hr)} patches are fewer than one batch of {batch_size}: give the recipe a "
                "smaller batch_size, or train on more images (smaller patches, stride)"
            )
        if (lr is None) == (sigma <= 0):
            raise ValueError("give LR patches (super-resolution) or a noise sigma (denoising)")
        # kept as stored, (N, H, W, C): a batch gathered from it is already channels-last
        self.hr = torch.from_numpy(np.ascontiguousarray(hr)).to(device)
        self.lr = None if lr is None else torch.from_numpy(np.ascontiguousarray(lr)).to(device)
        self.sigma = sigma
        if augment:
            self._maps = [_dihedral_maps(p, device) for p in (self.lr, self.hr) if p is not None]
        self.n, self.batch_size, self.augment, self.seed = len(hr), batch_size, augment, seed
        self.device, self.memory_format = device, memory_format
        self.per_epoch = self.n // batch_size  # the last incomplete batch is dropped
        self._epoch, self._perm, self._codes = -1, None, None

    def _draw_epoch(self, epoch: int) -> None:
        """Patch order and flip codes of one epoch, a pure function of (seed, epoch)."""
        if epoch == self._epoch:
            return
        g = torch.Generator().manual_seed(mix_seed(self.seed, epoch, 0x5EED))
        self._perm = torch.randperm(self.n, generator=g).to(self.device)
        if self.augment:
            g = torch.Generator().manual_seed(mix_seed(self.seed, epoch, 0xA06))
            self._codes = random_dihedral(g, self.per_epoch * self.batch_size, self.device)
        self._epoch = epoch

    def batch(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (lr, hr) float batch of step ``iteration``, a pure function of (seed, iteration)."""
        epoch, j = divmod(iteration, self.per_epoch)
        self._draw_epoch(epoch)
        rows = slice(j * self.batch_size, (j + 1) * self.batch_size)
        idx = self._perm[rows]
        patches = [p for p in (self.lr, self.hr) if p is not None]
        if self.augment:
            codes = self._codes[rows]
            picked = [
                _gather_transformed(p, idx, maps.index_select(0, codes))
                for p, maps in zip(patches, self._maps, strict=True)
            ]
        else:
            picked = [p.index_select(0, idx) for p in patches]
        hr = self._to_float(picked[-1])
        if self.lr is not None:
            return self._to_float(picked[0]), hr
        return hr + self._noise(iteration, hr), hr

    def _noise(self, iteration: int, like: torch.Tensor) -> torch.Tensor:
        """Gaussian noise of step ``iteration``, drawn on the device from (seed, iteration)."""
        g = torch.Generator(device=like.device).manual_seed(mix_seed(self.seed, iteration, 0x2015E))
        return torch.randn(like.shape, generator=g, device=like.device) * self.sigma

    def _to_float(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) uint8 -> (B, C, H, W) float32 in the sampler's memory format."""
        nchw = patches.permute(0, 3, 1, 2)
        return nchw.to(torch.float32, memory_format=self.memory_format)


def _dihedral_maps(patches: torch.Tensor, device) -> torch.Tensor:
    _, h, w, _ = patches.shape
    if h != w:
        raise ValueError(f"dihedral augmentation needs square patches, got {h}x{w}")
    return dihedral_index(h, device)


def _gather_transformed(patches: torch.Tensor, idx: torch.Tensor, maps: torch.Tensor):
    """``patches[idx]`` (N, H, W, C), each transformed by its row of gather positions ``maps``."""
    n, h, w, c = patches.shape
    flat = (idx * (h * w)).unsqueeze(1) + maps  # (B, H*W) positions among all pixels
    pixels = patches.view(n * h * w, c).index_select(0, flat.view(-1))
    return pixels.view(len(idx), h, w, c)


def mix_seed(*values: int) -> int:
    """A 63-bit seed from several integers (stable across runs and platforms)."""
    digest = hashlib.blake2b(repr(values).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def load_subset(store_path, subset_path, task: Task):
    """(indices, LR, HR, patches in store): the selected patches as uint8, read once, in order.

    LR is None for denoising: its noisy inputs are drawn during training.
    """
    indices = np.load(subset_path)
    if indices.ndim != 1 or (indices.size and np.any(np.diff(indices) <= 0)):
        raise ValueError(f"{subset_path}: patch indices must be a strictly increasing 1-D list")
    with open_store(store_path) as f:
        key = f"lr_x{task.scale}" if task.kind == "sr" else None
        if key is not None and key not in f:
            raise KeyError(f"{store_path} has no LR patches for x{task.scale} (has {sorted(f)})")
        n_store = int(f["hr"].shape[0])
        if indices.size and (indices[0] < 0 or indices[-1] >= n_store):
            raise IndexError(f"{subset_path}: indices outside the store's {n_store} patches")
        lr = read_rows(f[key], indices) if key else None
        return indices, lr, read_rows(f["hr"], indices), n_store
