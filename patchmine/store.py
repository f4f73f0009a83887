"""The HDF5 patch store: every training patch of a dataset, cut once, read many times.

One file per (dataset, patch size, stride) holds

* ``hr``          (N, P, P, 3) uint8   HR patches, channels last
* ``lr_x<s>``     (N, P/s, P/s, 3)     the LR image cropped at (y/s, x/s), one per scale
* ``image_id``    (N,) int32           index into the ``images`` dataset (image names)
* ``y``, ``x``    (N,) int32           top-left corner of the patch in the HR image

and attributes ``patch_size``, ``stride``, ``scales``, ``dataset``. Patches are chunked in
blocks of consecutive patches so that reading a sorted subset touches each chunk once.
"""

from __future__ import annotations

import logging
import os
from math import lcm
from pathlib import Path

import h5py
import numpy as np

from patchmine.datasets import hr_path, lr_path, read_manifest
from patchmine.images import ImageError, read_image
from patchmine.imresize import modcrop

log = logging.getLogger(__name__)

CHUNK_PATCHES = 64


def check_geometry(patch_size: int, stride: int, scales: list[int]) -> None:
    """Patch size and stride must be multiples of every scale, so LR patches align to pixels."""
    if patch_size < 1 or stride < 1:
        raise ValueError(f"patch size {patch_size} and stride {stride} must be positive")
    step = lcm(*scales)
    if patch_size % step or stride % step:
        raise ValueError(
            f"patch size {patch_size} and stride {stride} must be multiples of every scale "
            f"{list(scales)} (i.e. of {step}) so that LR patches start on whole LR pixels"
        )


def patch_corners(height: int, width: int, patch_size: int, stride: int, scales=(1,)):
    """Top-left corners (y, x) of the patches of an image, row by row.

    The usable area is the image cropped to a multiple of every scale (the area the LR images
    cover); an image smaller than one patch gives no patches.
    """
    step = lcm(*scales)
    height, width = height - height % step, width - width % step
    ys = np.arange(0, height - patch_size + 1, stride)
    xs = np.arange(0, width - patch_size + 1, stride)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return yy.ravel(), xx.ravel()


def build_store(
    dataset_root: str | os.PathLike,
    out_path: str | os.PathLike,
    patch_size: int,
    stride: int,
    scales: list[int],
    dataset_name: str = "",
) -> int:
    """Cut every patch of an ingested dataset into a new store; return the patch count.

    Memory holds one image at a time. The file is written under a temporary name and renamed
    when complete, so a crash never leaves a truncated store under the final name.
    """
    check_geometry(patch_size, stride, scales)
    root, out_path = Path(dataset_root), Path(out_path)
    rows = read_manifest(root)
    corners = [patch_corners(r["height"], r["width"], patch_size, stride, scales) for r in rows]
    total = int(sum(len(ys) for ys, _ in corners))
    if total == 0:
        raise ValueError(f"{root}: no image is large enough for a {patch_size}-pixel patch")
    tmp = out_path.with_name(out_path.name + ".tmp")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write_store(tmp, root, rows, corners, total, patch_size, stride, scales, dataset_name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out_path)
    log.info(
        "store %s: %d patches of %d px at stride %d from %d images",
        out_path,
        total,
        patch_size,
        stride,
        len(rows),
    )
    return total


def _write_store(tmp, root, rows, corners, total, patch_size, stride, scales, dataset_name):
    chunk = min(CHUNK_PATCHES, total)
    with h5py.File(tmp, "w") as f:
        hr_ds = f.create_dataset(
            "hr",
            (total, patch_size, patch_size, 3),
            np.uint8,
            chunks=(chunk, patch_size, patch_size, 3),
        )
        lr_ds = {}
        for s in scales:
            p = patch_size // s
            lr_ds[s] = f.create_dataset(
                f"lr_x{s}", (total, p, p, 3), np.uint8, chunks=(chunk, p, p, 3)
            )
        ids, all_y, all_x = [], [], []
        start = 0
        for image_id, (row, (ys, xs)) in enumerate(zip(rows, corners, strict=True)):
            n = len(ys)
            if n == 0:
                log.info("%s: smaller than one patch, no patches", row["name"])
                continue
            hr = modcrop(read_image(hr_path(root, row["name"])), lcm(*scales))
            hr_ds[start : start + n] = _cut(hr, ys, xs, patch_size)
            for s in scales:
                lr = read_image(lr_path(root, row["name"], s))
                expected = (row["height"] // s, row["width"] // s)
                if lr.shape[:2] != expected:
                    raise ImageError(
                        f"{lr_path(root, row['name'], s)}: size {lr.shape[:2]} but HR "
                        f"{row['height']}x{row['width']} at x{s} implies {expected}"
                    )
                lr_ds[s][start : start + n] = _cut(lr, ys // s, xs // s, patch_size // s)
            ids.append(np.full(n, image_id, np.int32))
            all_y.append(ys)
            all_x.append(xs)
            start += n
            log.info("%s: %d patches (%d so far)", row["name"], n, start)
        f.create_dataset("image_id", data=np.concatenate(ids).astype(np.int32))
        f.create_dataset("y", data=np.concatenate(all_y).astype(np.int32))
        f.create_dataset("x", data=np.concatenate(all_x).astype(np.int32))
        f.create_dataset(
            "images", data=np.array([r["name"] for r in rows], dtype=h5py.string_dtype())
        )
        f.attrs.update(
            patch_size=patch_size,
            stride=stride,
            scales=np.array(scales, np.int32),
            dataset=dataset_name,
            n_patches=total,
        )


def _cut(image: np.ndarray, ys: np.ndarray, xs: np.ndarray, size: int) -> np.ndarray:
    """Crop (len(ys), size, size, C) patches with a strided view; no per-patch Python copies."""
    view = np.lib.stride_tricks.sliding_window_view(image, (size, size), axis=(0, 1))
    return np.ascontiguousarray(view[ys, xs].transpose(0, 2, 3, 1))


def open_store(path: str | os.PathLike) -> h5py.File:
    """Open a store read-only without HDF5 file locking (many jobs, network file systems)."""
    return h5py.File(path, "r", locking=False)


def read_rows(dataset: h5py.Dataset, indices: np.ndarray, block: int = 4096) -> np.ndarray:
    """``dataset[indices]`` for sorted indices, reading contiguous blocks instead of point lists."""
    indices = np.asarray(indices)
    if indices.size and np.any(np.diff(indices) <= 0):
        raise ValueError("indices must be strictly increasing")
    out = np.empty((len(indices),) + dataset.shape[1:], dataset.dtype)
    pos = 0
    while pos < len(indices):
        lo = int(indices[pos])
        end = np.searchsorted(indices, lo + block, side="left")
        hi = int(indices[end - 1]) + 1
        out[pos:end] = dataset[lo:hi][indices[pos:end] - lo]
        pos = end
    return out
