"""DIV2K-scale throughput: patch store with LR x2 and x3 (96 px, stride 120), pixel statistics,
and mining the best half by grad into HDF5 + PNG folders (``snakemake mine``'s last job).

DIV2K cannot be downloaded here, so the benchmark makes images of DIV2K's sizes (2040 px on the
long side, 1356 on the short, landscape and portrait) as mosaics of the natural photographs that
ship with scikit-image, saved as PNG at the default compression like DIV2K's (decoding speed
depends on content, so noise or flat colour would mislead). Each phase runs in its own process so
its wall time and peak memory (max RSS) are its own.

    python benchmarks/bench_div2k_scale.py --images 800 --work /tmp/patchmine-bench

The generated images are kept in --work and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

PHOTOS = [
    "astronaut",
    "chelsea",
    "coffee",
    "hubble_deep_field",
    "ihc",
    "motorcycle_left",
    "motorcycle_right",
    "retina",
    "rocket",
]


_PHOTOS: list = []


def _photos() -> list:
    """The photographs, decoded once per worker process."""
    if not _PHOTOS:
        from patchmine.datasets import skimage_images
        from patchmine.images import read_image

        _PHOTOS.extend(read_image(im.path) for im in skimage_images(PHOTOS))
    return _PHOTOS


def _mosaic(index: int, out: Path) -> None:
    """One DIV2K-sized image tiled from random crops of the bundled photographs."""
    from PIL import Image

    rng = np.random.default_rng(index)
    photos = _photos()
    height, width = (1356, 2040) if index % 4 else (2040, 1356)
    canvas = np.empty((height, width, 3), np.uint8)
    y = 0
    while y < height:
        x, row_h = 0, int(rng.integers(200, 420))
        while x < width:
            photo = photos[rng.integers(len(photos))]
            tile_w = int(rng.integers(200, 480))
            h, w = min(row_h, photo.shape[0]), min(tile_w, photo.shape[1])
            top = int(rng.integers(0, photo.shape[0] - h + 1))
            left = int(rng.integers(0, photo.shape[1] - w + 1))
            tile = photo[top : top + h, left : left + w]
            if rng.random() < 0.5:
                tile = tile[:, ::-1]
            hh, ww = min(h, height - y), min(w, width - x)
            canvas[y : y + hh, x : x + ww] = tile[:hh, :ww]
            if hh < row_h:  # short photo: fill the rest of the row band with a mirrored copy
                rest = min(row_h, height - y) - hh
                canvas[y + hh : y + hh + rest, x : x + ww] = tile[::-1][:rest, :ww]
            x += ww
        y += min(row_h, height - y)
    tmp = out.with_name(out.name + ".tmp")
    Image.fromarray(canvas).save(tmp, format="PNG", compress_level=3)
    tmp.rename(out)


def make_images(folder: Path, count: int, workers: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(1, count + 1) if not (folder / f"{i:04d}.png").exists()]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_mosaic, todo, [folder / f"{i:04d}.png" for i in todo], chunksize=8))


def phase(name: str, work: Path, count: int, threads: int) -> dict:
    """Run one phase here (in a child process) and return what it measured."""
    import torch

    torch.set_num_threads(threads)
    from patchmine.catalog import div2k_images
    from patchmine.criteria import score_statistics, set_cpu_threads
    from patchmine.store import build_store, open_store

    start = time.perf_counter()
    result = {}
    if name == "store":
        images = div2k_images(work, "train", [], 1, count)
        result["patches"] = build_store(
            images,
            work / "store.h5",
            96,
            120,
            [2, 3],
            workers=threads,
            summary_path=work / "store_images.csv",
        )
    elif name == "score":
        set_cpu_threads(threads)
        with open_store(work / "store.h5") as f:
            scores = score_statistics(f["hr"])
        result["patches"] = len(scores["grad"])
        np.save(work / "grad.npy", scores["grad"])
    elif name == "mine":
        from patchmine.mine import OUTPUT_FILES, export_mined

        mined = work / "mined"
        mined.mkdir(exist_ok=True)
        outputs = {role: mined / file for role, file in OUTPUT_FILES.items()}
        summary = export_mined(
            work / "store.h5",
            np.load(work / "grad.npy"),
            "0.5",
            "grad",
            outputs,
            mined / "png",
            workers=threads,
        )
        result["patches"] = summary["n_kept"]
    result["seconds"] = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["max_rss_mb"] = max(own, workers) / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=800)
    parser.add_argument("--work", type=Path, default=Path("/tmp/patchmine-bench"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.work, args.images, args.threads)))
        return
    hr = args.work / "DIV2K_train_HR"
    t = time.perf_counter()
    make_images(hr, args.images, args.threads)
    print(f"images ready in {hr} ({time.perf_counter() - t:.0f} s)")
    for name in ("store", "score", "mine"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                name,
                "--images",
                str(args.images),
                "--work",
                str(args.work),
                "--threads",
                str(args.threads),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        extra = f", {result['patches']} patches" if "patches" in result else ""
        print(
            f"{name:7s} {result['seconds']:7.1f} s   peak RSS {result['max_rss_mb']:6.0f} MB{extra}"
        )


if __name__ == "__main__":
    main()
