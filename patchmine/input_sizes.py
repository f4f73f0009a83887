"""How big a job's data is, as far as the plan knows: read from its input files once they exist,
DIV2K-sized stand-ins before.

Apart from the job functions (:mod:`patchmine.resources`), because these read files: Snakemake
evaluates resources again once a job's input is complete, before it submits it, so a submitted
job is sized on its real data, and only planning before then sees the stand-ins below. Image
jobs' largest image comes from the headers the plan checks (:func:`note_largest_image`).
"""

from __future__ import annotations

import csv
import functools
import os

from patchmine.costs import MB

#: Stand-ins while a job's input does not exist yet (only used for planning, never submitted):
#: a DIV2K-sized store (151,300 patches), validation set (10 DIV2K images) and test set.
DEFAULT_PATCHES = 151_300
DEFAULT_IMAGE_PIXELS = 2040 * 1356
DEFAULT_VAL_PIXELS = 10 * DEFAULT_IMAGE_PIXELS
DEFAULT_TEST_PIXELS = 100 * 1024 * 768


def store_patches(path) -> int | None:
    """Number of patches in a patch store (None while it does not exist)."""
    if not path or not os.path.exists(path):
        return None
    stat = os.stat(path)
    return _store_patches(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _store_patches(path: str, mtime_ns: int, size: int) -> int:
    from patchmine.store import open_store

    with open_store(path) as f:
        return int(f["hr"].shape[0])


def set_pixels(path, scale: int, stand_in: float) -> tuple[float, float]:
    """(total, largest) LR pixels of an ingested set (:func:`manifest_pixels`), or while its
    manifest does not exist, of a stand-in set of ``stand_in`` HR pixels and DIV2K-sized images."""
    return manifest_pixels(path, scale) or (
        stand_in / scale**2,
        DEFAULT_IMAGE_PIXELS / scale**2,
    )


def manifest_pixels(path, scale: int) -> tuple[float, float] | None:
    """(total, largest) LR pixels of the images an ingest manifest lists."""
    if not path or not os.path.exists(path):
        return None
    with open(path, newline="") as handle:
        pixels = [int(r["height"]) * int(r["width"]) / scale**2 for r in csv.DictReader(handle)]
    return (sum(pixels), max(pixels)) if pixels else (0.0, 0.0)


#: Pixels of the largest image of each dataset read from a folder, noted while planning from
#: the headers that the check of every image reads (rules/common.smk, :func:`note_largest_image`).
_LARGEST_IMAGE: dict[str, int] = {}


def note_largest_image(dataset: str, pixels: int) -> None:
    """Record the pixels of ``dataset``'s largest image, which each worker of its image rules
    (:data:`patchmine.resources.IMAGE_RULES`) may hold at once."""
    _LARGEST_IMAGE[dataset] = int(pixels)


def largest_image(dataset: str) -> int:
    """Pixels of ``dataset``'s largest image as noted while planning; 0 when none was (a
    download's images are read only in its jobs)."""
    return _LARGEST_IMAGE.get(dataset, 0)


def file_mb(path) -> float:
    """MB of a file; 0 while it does not exist."""
    return os.path.getsize(path) / MB if path and os.path.exists(path) else 0.0


def k_patches(k: str, n_store: int | None) -> int:
    """Patches a K label selects: a count, a fraction of the store, or all of it."""
    n = DEFAULT_PATCHES if n_store is None else n_store
    if k == "all":
        return n
    if "." in k:
        return max(1, round(float(k) * n))
    return min(int(k), n) if n_store is not None else int(k)
