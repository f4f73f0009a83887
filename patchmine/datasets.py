"""Where a dataset's images come from, and how every source becomes one canonical layout.

Each configured dataset is *ingested* once into the layout of EDSR's ``benchmark.tar``::

    <root>/HR/<name>.png
    <root>/LR_bicubic/X<s>/<name>x<s>.png
    <root>/manifest.csv          one row per image: name, height, width

so the patch store, validation and evaluation read every source through one code path.
"""

from __future__ import annotations

import csv
import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from patchmine.atomic import atomic_path
from patchmine.degrade import bicubic_lr
from patchmine.images import (
    IMAGE_EXTENSIONS,
    ImageError,
    copy_atomic,
    image_size,
    is_plain_rgb_png,
    read_image,
    write_png,
)
from patchmine.sources import record_sources

log = logging.getLogger(__name__)

#: Colour photographs shipped inside the scikit-image wheel, by name (no download needed).
SKIMAGE_PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "ihc": "ihc.png",
    "motorcycle_left": "motorcycle_left.png",
    "motorcycle_right": "motorcycle_right.png",
    "retina": "retina.jpg",
    "rocket": "rocket.jpg",
}


@dataclass(frozen=True)
class SourceImage:
    """One image of a dataset: its name in the canonical layout and the file it is read from.

    ``lr`` maps a scale to an LR file made elsewhere (official MATLAB-made LR, or the LR half of a
    real-world pair); scales without one get MATLAB-exact bicubic LR made here. ``crop`` allows
    the HR image to be cropped to a multiple of the scale to match its given LR file.
    """

    name: str
    path: Path
    lr: dict = field(default_factory=dict)
    crop: bool = True


def skimage_images(names: list[str]) -> list[SourceImage]:
    """The bundled scikit-image photographs named in ``names``, read straight from the wheel."""
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    unknown = [n for n in names if n not in SKIMAGE_PHOTOS]
    if unknown:
        raise ValueError(
            f"unknown scikit-image photograph(s) {unknown}; available: {sorted(SKIMAGE_PHOTOS)}"
        )
    return [SourceImage(n, folder / SKIMAGE_PHOTOS[n]) for n in names]


def case_insensitive(pattern: str) -> str:
    """``pattern`` rewritten so that :meth:`Path.glob` matches it without regard to case.

    Each letter becomes a class of both cases (``*.png`` → ``*.[pP][nN][gG]``), and a class
    already written gains the other case of its letters (``[a-c]`` keeps its range and adds
    ``A-C``). Python 3.11's glob has no ``case_sensitive`` switch; this is its equivalent."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        end = _class_end(pattern, i) if c == "[" else -1
        if end > 0:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            core = body[1:] if negate else body
            # the other case of the class, ranges included (a-c: A-C); a leading "]" once only
            swapped = core.swapcase().removeprefix("]") if core.swapcase() != core else ""
            out.append("[" + "!" * negate + core + swapped + "]")
            i = end + 1
        elif c == "[":  # no closing "]": a literal bracket, written as a class of one
            out.append("[[]")
            i += 1
        elif c.swapcase() != c:
            out.append(f"[{c.lower()}{c.upper()}]")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1 (then ``[`` is literal).

    As in :mod:`fnmatch`: ``!`` negates, a ``]`` right after ``[`` or ``[!`` is a member, and a
    class never spans a ``/``."""
    j = start + 1
    if pattern[j : j + 1] == "!":
        j += 1
    if pattern[j : j + 1] == "]":
        j += 1
    end = pattern.find("]", j)
    return end if end > 0 and "/" not in pattern[start:end] else -1


#: A file that marks a folder as patchmine's results (written when a run starts): a folder of
#: images read with ``**/*`` never reads the workflow's own output back in, as mining ``.`` from
#: the working directory would (each run's PNGs and plots becoming the next run's images).
RESULTS_MARKER = ".patchmine-results"


def mark_results_folder(folder: str | os.PathLike) -> None:
    """Mark ``folder`` (created if need be) as patchmine's results (:data:`RESULTS_MARKER`). A
    folder that cannot be written (archived results, read-only) is left unmarked, with a
    warning: it can still be reported on."""
    marker = Path(folder) / RESULTS_MARKER
    if marker.is_file():
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(
            "patchmine's results: folders of images read with '**/*' skip this folder\n",
            encoding="utf-8",
        )
    except OSError as err:
        log.warning("cannot mark %s as patchmine's results (%s)", folder, err)


def _outside_results(folder: Path, found: list[Path]) -> list[Path]:
    """``found`` without what lies in a results folder (:data:`RESULTS_MARKER`) below ``folder``."""
    marked: dict[Path, bool] = {}

    def inside(path: Path) -> bool:
        for parent in path.relative_to(folder).parents:
            if parent == Path("."):
                continue
            if parent not in marked:
                marked[parent] = (folder / parent / RESULTS_MARKER).is_file()
            if marked[parent]:
                return True
        return False

    kept = [p for p in found if not inside(p)]
    skipped = sorted(str(folder / d) for d, is_marked in marked.items() if is_marked)
    if skipped:
        log.info("image folder %s: not reading patchmine's results in %s", folder, skipped[0])
    return kept


def folder_images(folder: str | os.PathLike, pattern: str = "*") -> list[SourceImage]:
    """Every image file in ``folder`` matching ``pattern`` (:func:`image_paths`), each named by
    :func:`unique_names`."""
    files = image_paths(folder, pattern)
    names = unique_names(Path(folder), files, [p.stem for p in files])
    return [SourceImage(name, p) for name, p in zip(names, files, strict=True)]


def image_paths(folder: str | os.PathLike, pattern: str = "*") -> list[Path]:
    """Every image file in ``folder`` matching ``pattern``, sorted by name.

    The pattern is matched without regard to case, as on macOS and Windows, so a camera's
    ``IMG_0001.JPG`` matches ``*.jpg`` on Linux too. Subfolders are read only when the pattern
    says so (``**/*``). Hidden files (``.name``, such as the ``._photo.jpg`` macOS leaves on
    shared drives) are skipped; other files that are not images, subfolders left unread, links
    that lead nowhere and linked folders (never walked into) are named in a warning rather than
    passed over in silence."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    found = [
        p
        for p in folder.glob(case_insensitive(pattern))
        if not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    found = _outside_results(folder, found)
    files = sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    other = sorted(
        p.name for p in found if p.is_file() and p.suffix.lower() not in IMAGE_EXTENSIONS
    )
    if other:
        log.warning(
            "image folder %s: %d files are not read (not one of %s): %s",
            folder,
            len(other),
            " ".join(IMAGE_EXTENSIONS),
            first_few(other),
        )
    broken = sorted(p.name for p in found if p.is_symlink() and not p.exists())
    if broken:
        log.warning(
            "image folder %s: %d links lead nowhere and are not read: %s",
            folder,
            len(broken),
            first_few(broken),
        )
    # a linked folder is not walked into (by '**/*' either): say so, lest its images be missed
    linked = [p for p in found if p.is_dir() and p.is_symlink()]
    unfollowed = sorted(
        str(p.relative_to(folder)) for p in linked if not any(q.parent == p for q in found)
    )
    if unfollowed:
        log.warning(
            "image folder %s: %d linked folders are not followed (their images are not read; "
            "mine them as folders of their own, or copy them in): %s",
            folder,
            len(unfollowed),
            first_few(unfollowed),
        )
    subfolders = sorted(p.name for p in found if p.is_dir() and not p.is_symlink())
    if subfolders and "**" not in pattern:
        log.warning(
            "image folder %s: %d subfolders are not read (pattern %r; '**/*' reads them): %s",
            folder,
            len(subfolders),
            pattern,
            first_few(subfolders),
        )
    if not files:
        raise ValueError(
            f"image folder {folder} holds no images matching {pattern!r} "
            f"(extensions {', '.join(IMAGE_EXTENSIONS)})"
            + (
                f"; it has subfolders ({first_few(subfolders)}): pattern '**/*' reads them"
                if subfolders
                else ""
            )
        )
    return files


def unique_names(folder: Path, paths: list[Path], names: list[str]) -> list[str]:
    """``names`` of the files ``paths`` below ``folder``, made unique: an image's name labels its
    patches and output files. A name that files in several subfolders share (a camera's
    ``100CANON/IMG_0001.JPG`` and ``101CANON/IMG_0001.JPG``) is told apart by the subfolders it
    lies in (``100CANON_IMG_0001``); files of one folder that share a name (``a.jpg`` beside
    ``a.png``) are an error naming them."""
    shared = {name for name, n in Counter(names).items() if n > 1}  # linear: folders of 10^5+
    unique = [
        "_".join([*path.parent.relative_to(folder).parts, name]) if name in shared else name
        for path, name in zip(paths, names, strict=True)
    ]
    by_name: dict[str, list[Path]] = {}
    for path, name in zip(paths, unique, strict=True):
        by_name.setdefault(name, []).append(path)
    clashes = [
        f"{name!r}: " + "; ".join(map(str, found))
        for name, found in by_name.items()
        if len(found) > 1
    ]
    if clashes:
        raise ValueError(
            f"image folder {folder}: files that share a name (an image's name labels its patches "
            f"and output files, so it must be unique; files in different subfolders are told "
            f"apart by their subfolder): {' | '.join(clashes)}; rename them"
        )
    renamed = [
        f"{path.relative_to(folder)} -> {name}"
        for path, name, was in zip(paths, unique, names, strict=True)
        if name != was
    ]
    if renamed:
        log.info(
            "image folder %s: %d files share their name with a file in another subfolder and "
            "are named after their subfolder too: %s",
            folder,
            len(renamed),
            first_few(renamed),
        )
    return unique


def first_few(names: list[str], shown: int = 10) -> str:
    """The first few of many names, for a message or a log line."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def benchmark_images(root: str | os.PathLike, name: str) -> list[SourceImage]:
    """A set in EDSR's ``benchmark.tar`` layout: ``<root>/<name>/HR`` and ``LR_bicubic/X<s>``.

    LR files that exist are used as they are (they were made by MATLAB); missing scales are made
    here with the MATLAB-exact imresize.
    """
    set_root = Path(root) / name
    images = folder_images(set_root / "HR")
    lr_root = set_root / "LR_bicubic"
    scales = (
        sorted(int(d.name[1:]) for d in lr_root.glob("X*") if d.is_dir() and d.name[1:].isdigit())
        if lr_root.is_dir()
        else []
    )
    return [
        SourceImage(
            im.name,
            im.path,
            lr={
                s: f
                for s in scales
                for f in [lr_root / f"X{s}" / f"{im.name}x{s}{im.path.suffix}"]
                if f.is_file()
            },
        )
        for im in images
    ]


def image_files(images: list[SourceImage]) -> list[str]:
    """Every file the images are read from (HR, and LR files made elsewhere), for Snakemake to
    watch: adding, removing or changing one re-runs the jobs that read the dataset."""
    return [str(path) for im in images for path in (im.path, *im.lr.values())]


def source_images(spec: dict, data_dir: str = "data") -> list[SourceImage]:
    """The images of a dataset as configured (``source`` key decides where they come from)."""
    from patchmine.catalog import dataset_root, div2k_images

    source = spec["source"]
    if source == "div2k":
        return div2k_images(
            dataset_root(spec, data_dir),
            spec["split"],
            spec.get("official_lr", []),
            spec.get("first"),
            spec.get("last"),
        )
    if source == "skimage":
        return skimage_images(spec["images"])
    if source == "folder":
        return folder_images(spec["path"], spec.get("pattern", "*"))
    if source == "benchmark":
        return benchmark_images(dataset_root(spec, data_dir), spec["set"])
    if source == "pairs":
        from patchmine.pairs import paired_images

        return paired_images(
            spec["hr"],
            spec["lr"],
            spec["scale"],
            spec.get("lr_name", "{name}"),
            spec.get("pattern", "*"),
            spec.get("crop", True),
            spec.get("hr_name", "{name}"),
        )
    raise ValueError(f"unknown dataset source {source!r}")


def hr_path(root: Path, name: str) -> Path:
    return Path(root) / "HR" / f"{name}.png"


def lr_path(root: Path, name: str, scale: int) -> Path:
    return Path(root) / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png"


def ingest(
    images: list[SourceImage],
    root: str | os.PathLike,
    scales: list[int],
    min_size: int = 1,
    workers: int = 1,
) -> list[dict]:
    """Write ``images`` into the canonical layout under ``root`` with MATLAB-bicubic LR per scale.

    Images smaller than ``min_size`` on either side are skipped and reported (they cannot
    give a single patch). ``workers`` images are processed at once (decoding, resizing and
    encoding release the GIL). Returns the manifest rows; the manifest itself is written last,
    so its presence means the folder is complete.
    """
    root = Path(root)
    names = [im.name for im in images]
    duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicates:
        raise ValueError(f"dataset has several images named {duplicates}")
    from patchmine.pairs import check_given_lr

    check_given_lr(images)  # every unfit pair named at once, before the first is decoded
    record_sources(image_files(images), root / "manifest.csv")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        done = list(pool.map(lambda im: _ingest_one(im, root, scales, min_size), images))
    rows = [row for kept, row in done if kept]
    skipped = [row for kept, row in done if not kept]
    if not rows:
        raise ImageError(f"no usable images for {root}: all {len(skipped)} were too small")
    _write_csv(root / "skipped.csv", skipped, ["name", "path", "height", "width", "reason"])
    _write_csv(root / "manifest.csv", rows, ["name", "height", "width", "source"])
    return rows


def load_image_pair(image: SourceImage, scales: list[int]) -> tuple[np.ndarray, dict]:
    """(HR, {scale: LR}) of one image: given LR files are checked, missing ones made here."""
    from patchmine.pairs import given_lr

    hr = read_image(image.path)
    lrs = {s: given_lr(hr, image, s) if s in image.lr else bicubic_lr(hr, s) for s in scales}
    return hr, lrs


def _ingest_one(image: SourceImage, root: Path, scales: list[int], min_size: int):
    """(True, manifest row) for an ingested image, (False, skipped row) for one too small."""
    height, width = image_size(image.path)
    floor = max([min_size, *scales])  # a side shorter than the scale has no LR pixel at all
    if min(height, width) < floor:
        log.warning("skipping %s (%dx%d): smaller than %d", image.path, height, width, floor)
        return False, skipped_row(image, height, width, f"smaller than {floor} pixels")
    hr, lrs = load_image_pair(image, scales)
    _store_png(image.path, hr, hr_path(root, image.name))
    for scale, lr in lrs.items():
        source = image.lr.get(scale)
        if source is not None and image_size(source) == lr.shape[:2]:
            _store_png(source, lr, lr_path(root, image.name, scale))
        else:
            write_png(lr_path(root, image.name, scale), lr)
    log.info("ingested %s (%dx%d)", image.name, height, width)
    return True, {"name": image.name, "height": height, "width": width, "source": str(image.path)}


def skipped_row(image: SourceImage, height: int, width: int, reason: str) -> dict:
    """One line of a dataset's summary of images left out by design."""
    return {
        "name": image.name,
        "path": str(image.path),
        "height": height,
        "width": width,
        "reason": reason,
    }


def _store_png(source: Path, pixels: np.ndarray, dest: Path) -> None:
    """Copy ``source`` when it already is an 8-bit RGB PNG (re-encoding DIV2K would take
    minutes and change nothing); otherwise encode the decoded ``pixels``."""
    if is_plain_rgb_png(source):
        copy_atomic(source, dest)
    else:
        write_png(dest, pixels)


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_manifest(root: str | os.PathLike) -> list[dict]:
    """The manifest rows of an ingested dataset (name, height, width, source)."""
    path = Path(root) / "manifest.csv"
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["height"], row["width"] = int(row["height"]), int(row["width"])
    return rows


def load_pairs(root: str | os.PathLike, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, HR cropped to a multiple of ``scale``, LR) for every image of an ingested dataset."""
    from patchmine.imresize import modcrop

    root = Path(root)
    pairs = []
    for row in read_manifest(root):
        hr = modcrop(read_image(hr_path(root, row["name"])), scale)
        lr = read_image(lr_path(root, row["name"], scale))
        if lr.shape[0] * scale != hr.shape[0] or lr.shape[1] * scale != hr.shape[1]:
            raise ImageError(
                f"{lr_path(root, row['name'], scale)}: LR size {lr.shape[:2]} x{scale} does not "
                f"match HR size {hr.shape[:2]} of {hr_path(root, row['name'])}"
            )
        pairs.append((row["name"], hr, lr))
    return pairs
