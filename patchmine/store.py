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
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from math import lcm
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from patchmine.datasets import SourceImage, image_files, load_image_pair
from patchmine.images import ImageError, image_size
from patchmine.pairs import check_given_lr
from patchmine.sources import record_sources

log = logging.getLogger(__name__)

CHUNK_PATCHES = 64

#: The paper's store: 96-pixel patches at stride 120 from DIV2K train gave 151,300 patches.
PAPER_GEOMETRY, PAPER_PATCHES = (96, 120), 151_300


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


def _none_large_enough(images, sizes, patch_size: int, dataset_name: str) -> str:
    """Why a store would be empty, with what to change: the largest image and the setting."""
    if not images:
        return f"{dataset_name or 'dataset'}: no images to cut {patch_size}-pixel patches from"
    h, w = max(sizes, key=min)
    largest = images[sizes.index((h, w))].path
    return (
        f"{dataset_name or 'dataset'}: none of its {len(images)} images is large enough for a "
        f"{patch_size}-pixel patch; the largest, {largest}, is {w}x{h} pixels: a smaller "
        "patch_size would cut some"
    )


def build_store(
    images: list[SourceImage],
    out_path: str | os.PathLike,
    patch_size: int,
    stride: int,
    scales: list[int],
    dataset_name: str = "",
    workers: int = 1,
    summary_path: str | os.PathLike | None = None,
) -> int:
    """Cut every patch of ``images`` (HR, and LR per scale) into a new store; return the count.

    LR images are made in memory (MATLAB-exact bicubic) unless an image brings its own LR files.
    ``workers`` processes decode and resize images while this one writes, so memory holds a few
    images at a time, never the dataset. The file is written under a temporary name and renamed
    when complete: a crash never leaves a truncated store under the final name. ``summary_path``
    gets one CSV row per image: its size and patch count, or why it gave none.
    """
    check_geometry(patch_size, stride, scales)
    check_given_lr(images)  # every unfit pair named at once, before the first is decoded
    out_path = Path(out_path)
    record_sources(image_files(images), out_path)  # before reading (patchmine.sources)
    sizes = [image_size(im.path) for im in images]
    corners = [patch_corners(h, w, patch_size, stride, scales) for h, w in sizes]
    total = int(sum(len(ys) for ys, _ in corners))
    if total == 0:
        raise ValueError(_none_large_enough(images, sizes, patch_size, dataset_name))
    tmp = out_path.with_name(out_path.name + ".tmp")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    opened = False  # a file another process holds open (a job left running) is not ours to delete
    try:
        with h5py.File(tmp, "w") as f:
            opened = True
            _fill(f, images, sizes, corners, total, patch_size, scales, workers)
            f.create_dataset(
                "images", data=np.array([im.name for im in images], dtype=h5py.string_dtype())
            )
            f.attrs.update(
                patch_size=patch_size,
                stride=stride,
                scales=np.array(scales, np.int32),
                dataset=dataset_name,
                n_patches=total,
            )
    except BaseException:
        if opened:
            tmp.unlink(missing_ok=True)
        raise
    if summary_path is not None:
        _write_summary(summary_path, images, sizes, corners, patch_size)
    os.replace(tmp, out_path)
    log.info(
        "store %s: %d patches of %d px at stride %d from %d images",
        out_path,
        total,
        patch_size,
        stride,
        len(images),
    )
    if (patch_size, stride) == PAPER_GEOMETRY:
        log.info(
            "for comparison, the paper cut %d such patches from DIV2K's 800 training images",
            PAPER_PATCHES,
        )
    return total


def _cut_image(image: SourceImage, size, ys, xs, patch_size: int, scales: list[int]):
    """HR and LR patches of one image (run in a worker process). ``size`` is the (height, width)
    its header gave, which placed the corners: pixels of another size are refused by name."""
    hr, lrs = load_image_pair(image, scales)
    if hr.shape[:2] != tuple(size):
        raise ImageError(
            f"{image.path}: its header says {size[1]}x{size[0]} pixels but it decodes to "
            f"{hr.shape[1]}x{hr.shape[0]}; re-save it (e.g. as PNG) to mine it"
        )
    return _cut(hr, ys, xs, patch_size), {
        s: _cut(lr, ys // s, xs // s, patch_size // s) for s, lr in lrs.items()
    }


def _fill(f, images, sizes, corners, total, patch_size, scales, workers) -> None:
    """Write every image's patches in order, at most ``2 * workers`` images in flight."""
    chunk = min(CHUNK_PATCHES, total)
    hr_ds = f.create_dataset(
        "hr",
        (total, patch_size, patch_size, 3),
        np.uint8,
        chunks=(chunk, patch_size, patch_size, 3),
    )
    lr_ds = {}
    for s in scales:
        p = patch_size // s
        lr_ds[s] = f.create_dataset(f"lr_x{s}", (total, p, p, 3), np.uint8, chunks=(chunk, p, p, 3))
    ids = [i for i, (ys, _) in enumerate(corners) if len(ys)]
    jobs = [(images[i], sizes[i], *corners[i], patch_size, scales) for i in ids]
    start = 0
    for (image, _, ys, *_), (hr, lrs) in zip(jobs, _cut_all(jobs, workers), strict=True):
        n = len(ys)
        hr_ds[start : start + n] = hr
        for s in scales:
            lr_ds[s][start : start + n] = lrs[s]
        start += n
        log.info("%s: %d patches (%d of %d)", image.name, n, start, total)
    if start != total:
        raise RuntimeError(f"wrote {start} patches, expected {total}")
    f.create_dataset(
        "image_id", data=np.repeat(ids, [len(corners[i][0]) for i in ids]).astype(np.int32)
    )
    f.create_dataset("y", data=np.concatenate([corners[i][0] for i in ids]).astype(np.int32))
    f.create_dataset("x", data=np.concatenate([corners[i][1] for i in ids]).astype(np.int32))


def _cut_all(jobs, workers: int):
    """``_cut_image(*job)`` for each job, in order, in ``workers`` processes, few in flight."""
    if workers <= 1:
        yield from (_cut_image(*job) for job in jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        pending = deque()
        for job in jobs:
            pending.append(pool.submit(_cut_image, *job))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def too_small(patch_size: int) -> str:
    """Why an image gave no patch, in the per-image tables of a store and of a mining."""
    return f"smaller than one {patch_size}-pixel patch"


def _write_summary(path, images, sizes, corners, patch_size) -> None:
    rows = [
        {
            "name": im.name,
            "source": str(im.path),
            "height": h,
            "width": w,
            "patches": len(ys),
            "skipped": "" if len(ys) else too_small(patch_size),
        }
        for im, (h, w), (ys, _) in zip(images, sizes, corners, strict=True)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)


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
