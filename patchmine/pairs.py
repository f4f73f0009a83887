"""Real-world LR/HR pairs: which files pair up, and whether each pair fits its scale.

A ``pairs`` dataset names an HR folder and an LR folder (the same one in RealSR's layout), a
scale, and templates that turn an image's name into file stems (``hr_name``, ``lr_name``). What
a folder of pairs invites — a partner missing or doubled, sizes that do not fit the scale, a
colour partner of a grey image, files that pair with nothing — is found from names and file
headers when the workflow is planned, before a job decodes a pixel, with every case named at
once; the jobs check the decoded sizes again (:func:`given_lr`).
"""

from __future__ import annotations

import logging
import os
import re
import string
from dataclasses import replace
from pathlib import Path

import numpy as np

from patchmine.datasets import SourceImage, first_few, image_paths, unique_names
from patchmine.images import IMAGE_EXTENSIONS, ImageError, read_header, read_image

log = logging.getLogger(__name__)

#: Scales tried when telling another scale's LR file from a stray one (``Canon_001_LR3.png``
#: beside x2 pairs is not a stray).
OTHER_SCALES = range(1, 17)


def paired_images(
    hr_folder: str | os.PathLike,
    lr_folder: str | os.PathLike,
    scale: int,
    lr_name: str = "{name}",
    pattern: str = "*",
    crop: bool = True,
    hr_name: str = "{name}",
) -> list[SourceImage]:
    """Every HR image matched to its LR file, the one whose stem is ``lr_name``.

    ``hr_name`` says which part of an HR file's stem is the image's ``{name}`` (default: all of
    it), and ``lr_name`` makes the LR stem from it and ``{scale}``: ``"{name}x{scale}"`` for
    DIV2K-style ``0001x2.png``, or ``hr_name: "{name}_HR"`` with ``lr_name: "{name}_LR{scale}"``
    for RealSR's ``Canon_001_HR.png`` / ``Canon_001_LR2.png`` in one folder. The LR file may have
    any image extension, and lies in the LR folder's subfolder that mirrors the HR file's (with
    ``pattern: "**/*"``). In one folder, a file that is another image's LR partner is not an HR
    image. An HR image without its LR partner, or with two, is an error naming every such image;
    files that pair with nothing are named in a warning. Sizes are checked apart, from the
    headers (:func:`check_given_lr`): listing a dataset must not open every file.
    """
    hr_folder, lr_folder = Path(hr_folder), Path(lr_folder)
    if not lr_folder.is_dir():
        raise FileNotFoundError(f"LR folder {lr_folder} does not exist")
    # named once paired (unique_names below): pairs match on the files' own stems
    candidates = [SourceImage(p.stem, p) for p in image_paths(hr_folder, pattern)]
    stem_of = template_pattern(hr_name)
    named = [(im, m["name"]) for im in candidates if (m := stem_of.fullmatch(im.name))]
    same_folder = hr_folder.resolve() == lr_folder.resolve()
    if same_folder:  # hr_name "{name}", lr_name "{name}_LR": a_LR.png is a's partner, not an image
        partner_stems = {lr_name.format(name=name, scale=scale) for _, name in named}
        named = [(im, name) for im, name in named if im.name not in partner_stems]
    if not named:
        raise ValueError(
            f"HR folder {hr_folder}: no image's name fits hr_name {hr_name!r} (pattern {pattern!r})"
        )
    listing = _LRListing(lr_folder)
    pairs, missing, doubled = [], [], []
    for im, name in named:
        where = im.path.parent.relative_to(hr_folder)
        stem = lr_name.format(name=name, scale=scale)
        found = listing.files(where).get(stem, [])
        if not found:
            missing.append(f"{im.path} (expected {lr_folder / where / stem}.*)")
        elif len(found) > 1:
            doubled.append(f"{im.path}: " + ", ".join(map(str, found)))
        else:
            pairs.append(SourceImage(name, im.path, lr={scale: found[0]}, crop=crop))
    if missing:
        raise ValueError(
            f"{len(missing)} of {len(named)} HR image(s) have no LR partner named by lr_name "
            f"{lr_name!r} in {lr_folder}: {first_few(missing, shown=5)}; files there: "
            f"{first_few(listing.names(), shown=5) or 'none'}"
        )
    if doubled:
        raise ValueError(
            f"{len(doubled)} HR image(s) have more than one LR partner, which is ambiguous: "
            + first_few(doubled, shown=5)
        )
    _warn_unpaired(hr_folder, candidates, named, pairs, listing, hr_name, lr_name, scale)
    # RealSR-style 2/Canon_001 and 3/Canon_001: one name in two subfolders, told apart
    names = unique_names(hr_folder, [im.path for im in pairs], [im.name for im in pairs])
    return [replace(im, name=name) for im, name in zip(pairs, names, strict=True)]


def template_pattern(template: str) -> re.Pattern:
    """A regular expression matching what ``template`` makes, capturing its ``{name}``."""
    parts = []
    for literal, marker, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if marker is not None:
            parts.append("(?P<name>.+)")
    return re.compile("".join(parts))


class _LRListing:
    """The image files of the LR folder and of its subfolders, by stem, each read once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.read: dict[Path, dict[str, list[Path]]] = {}

    def files(self, where: Path) -> dict[str, list[Path]]:
        if where not in self.read:
            by_stem: dict[str, list[Path]] = {}
            folder = self.folder / where
            for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                    if not path.name.startswith("."):
                        by_stem.setdefault(path.stem, []).append(path)
            self.read[where] = by_stem
        return self.read[where]

    def names(self) -> list[str]:
        return [str(p.relative_to(self.folder)) for p in self.all()]

    def all(self) -> list[Path]:
        return [p for files in self.read.values() for paths in files.values() for p in paths]


def _warn_unpaired(hr_folder, candidates, named, pairs, listing, hr_name, lr_name, scale):
    """Name the files a pairs dataset leaves out: in the HR folder, images whose stem does not
    fit ``hr_name``; in the LR folder, files that are no image's partner (another scale's
    partners aside). A set that quietly shrinks makes its averages incomparable."""
    hr_images = {im.path.resolve() for im, _ in named}  # one folder may be spelt two ways
    partners = {path.resolve() for im in pairs for path in im.lr.values()}
    claimed = hr_images | partners
    names = {im.name for im in pairs}
    other_scales = {lr_name.format(name=n, scale=s) for n in names for s in OTHER_SCALES}
    misfits = [
        im.path.name
        for im in candidates
        if im.path.resolve() not in claimed and im.name not in other_scales
    ]
    if misfits and hr_folder.resolve() != listing.folder.resolve():
        _warn_once(
            "pairs: %d image file(s) in %s do not fit hr_name %r and are not read (names are "
            "matched with case): %s",
            len(misfits),
            hr_folder,
            hr_name,
            first_few(misfits),
        )
    strays = [
        str(path.relative_to(listing.folder))
        for path in listing.all()
        if path.resolve() not in claimed and path.stem not in other_scales
    ]
    if strays:
        _warn_once(
            "pairs: %d image file(s) in %s are no HR image's x%d partner (lr_name %r%s) and are "
            "not read: %s",
            len(strays),
            listing.folder,
            scale,
            lr_name,
            f", hr_name {hr_name!r}" if hr_name != "{name}" else "",
            first_few(strays),
        )


#: Warnings given in this process: a plan lists a dataset for every job that reads it.
_WARNED: set[str] = set()


def _warn_once(message: str, *args) -> None:
    text = message % args
    if text not in _WARNED:
        _WARNED.add(text)
        log.warning(text)


def check_given_lr(images: list[SourceImage]) -> None:
    """Every LR file made elsewhere (a real pair's, or an official MATLAB-made one) fits its HR
    image's size at its scale — an error naming all that do not — and is grey where its HR image
    is (a warning: a network would learn to add or drop colour). From the files' headers only."""
    unfit, mixed = [], []
    for image in (im for im in images if im.lr):  # most datasets have none: no file opened
        hr = read_header(image.path)
        for scale, path in image.lr.items():
            lr = read_header(path)
            if not lr_fits((hr.height, hr.width), (lr.height, lr.width), scale, image.crop):
                unfit.append((image, scale, hr, lr))
            if hr.grey != lr.grey:
                mixed.append(f"{image.path} ({'grey' if hr.grey else 'colour'}) / {path}")
    if mixed:
        _warn_once(
            "pairs: %d pair(s) mix a grey and a colour image; the grey one is read as three equal "
            "channels: %s",
            len(mixed),
            first_few(mixed, shown=5),
        )
    if unfit:
        image, scale, hr, lr = unfit[0]
        message = size_mismatch(image, scale, (hr.height, hr.width), (lr.height, lr.width))
        if len(unfit) > 1:
            message += f"; and {len(unfit) - 1} more pair(s): " + first_few(
                [str(im.lr[s]) for im, s, _, _ in unfit[1:]], shown=5
            )
        if all(lr.height >= hr.height and lr.width >= hr.width for _, _, hr, lr in unfit):
            message += (
                ". The LR files are as large as their HR images or larger: `hr` and `lr` "
                "swapped? Some releases of real-world sets ship LR upsampled to the HR size; "
                "downscale those by the scale first"
            )
        raise ImageError(message)


def lr_fits(hr: tuple[int, int], lr: tuple[int, int], scale: int, crop: bool) -> bool:
    """Whether an LR of size ``lr`` is the x``scale`` partner of an HR of size ``hr``.

    The canonical layout stores HR uncropped and LR_s = LR of ``modcrop(HR, s)``, so the LR is
    ``(H // s, W // s)``; an LR of ``(ceil(H / s), ceil(W / s))``, as MATLAB's imresize makes
    from an uncropped HR, lies on the same grid (:func:`given_lr` drops its partial last
    row/column). With ``crop`` off the HR must be exactly ``s`` x the LR."""
    height, width = hr
    if not crop:
        return (height, width) == (lr[0] * scale, lr[1] * scale)
    return lr in ((height // scale, width // scale), (-(-height // scale), -(-width // scale)))


def size_mismatch(image: SourceImage, scale: int, hr: tuple[int, int], lr: tuple[int, int]):
    """The message for a pair whose sizes do not fit, naming both files."""
    return (
        f"pair {image.path} / {image.lr[scale]}: HR is {hr[0]}x{hr[1]} but LR is "
        f"{lr[0]}x{lr[1]}, which at x{scale} needs HR {lr[0] * scale}x{lr[1] * scale}"
        + (
            f" (up to {scale - 1} extra rows/columns are cropped)"
            if image.crop
            else " (crop is off)"
        )
    )


def given_lr(hr: np.ndarray, image: SourceImage, scale: int) -> np.ndarray:
    """The decoded LR file of a pair, checked against its decoded HR image, on the canonical
    grid: a MATLAB-sized LR loses its partial last row/column (:func:`lr_fits`)."""
    lr = read_image(image.lr[scale])
    height, width = hr.shape[:2]
    if not lr_fits((height, width), lr.shape[:2], scale, image.crop):
        raise ImageError(size_mismatch(image, scale, (height, width), lr.shape[:2]))
    return np.ascontiguousarray(lr[: height // scale, : width // scale])
