"""Reading images the same way from every source, with errors that name the file.

Every source (bundled demo photographs, a user's folder, DIV2K, benchmark sets) ends up here, so
colour conventions are decided once:

* grey (H x W) images are repeated to three channels, so grey and colour sets mix;
* an alpha channel is dropped (restoration is defined on the colour channels only), with a
  warning naming an image where it hid pixels;
* 16-bit grey images are scaled to 8 bits with ``round(v / 257)`` (0 -> 0, 65535 -> 255); Pillow
  decodes 16-bit colour images to 8 bits itself by keeping the high byte (``v >> 8``), which can
  be one level lower. Either way the ingested copy is 8-bit;
* an EXIF orientation (phone and camera photographs) is applied, so pixels, sizes and patch
  corners are those of the picture as every viewer shows it;
* of an animated PNG or WebP, or a multi-page TIFF, the first frame is read, with a warning.

Pillow's guard against "decompression bombs" (about 179 megapixels) is lifted: the images are
the user's own, and a 200-megapixel phone photograph is not an attack.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps

from patchmine.atomic import atomic_path

log = logging.getLogger(__name__)

Image.MAX_IMAGE_PIXELS = None

IMAGE_EXTENSIONS = (
    *(".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp"),
    *(".ppm", ".pgm", ".pbm", ".pnm"),
)
#: EXIF orientations that swap width and height (rotations by 90 degrees, transposes).
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)
_ORIENTATION_TAG = 0x0112


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation of an open image (1, upright, when it has none), without decoding
    its pixels: for a PNG not yet decoded whose eXIf chunk does not precede the image data,
    Pillow's ``getexif`` decodes the whole image to find one after it, which doubled the time
    to cut DIV2K; its chunks are walked here instead. (Once decoded, Pillow has read them all.)"""
    try:
        undecoded_file = bool(getattr(img, "tile", None)) and getattr(img, "filename", "")
        xmp = "XML:com.adobe.xmp" in img.info  # Pillow's getexif reads an orientation there
        if img.format == "PNG" and "exif" not in img.info and not xmp and undecoded_file:
            data = _png_chunk(img.filename, b"eXIf")
            if data is None:
                return 1
            exif = Image.Exif()
            exif.load(b"Exif\x00\x00" + data)
        else:
            exif = img.getexif()
        return int(exif.get(_ORIENTATION_TAG, 1) or 1)
    except Exception:  # a damaged EXIF block must not hide the pixels
        return 1


def _png_chunk(path: str | os.PathLike, kind: bytes) -> bytes | None:
    """The data of a PNG file's first chunk of type ``kind``, reading only chunk headers on the
    way (the image data is skipped, not read)."""
    with open(path, "rb") as handle:
        if handle.read(8) != b"\x89PNG\r\n\x1a\n":
            return None
        while len(head := handle.read(8)) == 8:
            length, chunk = struct.unpack(">I4s", head)
            if chunk == kind:
                return handle.read(length)
            if chunk == b"IEND":
                return None
            handle.seek(length + 4, os.SEEK_CUR)  # the data and its CRC
    return None


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and what is wrong."""


def to_rgb_uint8(array: np.ndarray, name: str = "image") -> np.ndarray:
    """Convert a decoded image array to H x W x 3 uint8 following the module's conventions."""
    if array.dtype == np.uint16:
        array = np.round(array.astype(np.float64) / 257.0).astype(np.uint8)
    elif array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        raise ImageError(f"{name}: unsupported pixel type {array.dtype} (expected 8- or 16-bit)")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 2:  # grey + alpha
        _note_transparency(array[:, :, 1], name)
        array = np.repeat(array[:, :, :1], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        _note_transparency(array[:, :, 3], name)
        array = array[:, :, :3]
    elif not (array.ndim == 3 and array.shape[2] == 3):
        raise ImageError(f"{name}: unsupported image shape {array.shape}")
    return np.ascontiguousarray(array)


def _note_transparency(alpha: np.ndarray, name: str) -> None:
    """Warn when a dropped alpha channel hid pixels: their stored colour (often black, or what an
    editor left under a cut-out) is what the patches then hold. A fully opaque one drops
    silently."""
    hidden = np.count_nonzero(alpha < 255)
    if hidden:
        log.warning(
            "%s: %.1f%% of its pixels are transparent or partly so; its alpha channel is dropped "
            "and those pixels count with the colour stored under them",
            name,
            100 * hidden / alpha.size,
        )


def _decode(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        frames = getattr(img, "n_frames", 1)
        # an animated PNG or WebP, a multi-page TIFF (a phone's MPO JPEG holds a gain map or
        # preview beside the photograph: its first frame is the photograph)
        if frames > 1 and img.format != "MPO":
            log.warning("%s holds %d frames or pages: only the first is read", path, frames)
        _refuse_unsupported(img, path)
        img.load()
        if exif_orientation(img) != 1:
            img = ImageOps.exif_transpose(img)
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(img)
            if array.dtype != np.uint16:  # mode "I": 16-bit PNG/PNM on older Pillows, or 32-bit
                if array.min() < 0 or array.max() > 65535:
                    raise ImageError(f"{path}: {_DEEP_INTEGERS}")
                array = array.astype(np.uint16)
            return array
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif img.mode in ("CMYK", "YCbCr", "HSV", "LAB"):
            img = img.convert("RGB")
        elif img.mode == "1":
            img = img.convert("L")
        return np.asarray(img)


_DEEP_INTEGERS = (
    "32-bit integer pixels are not supported (their white level is unknown); save it as an 8- "
    "or 16-bit image"
)


def _refuse_unsupported(img: Image.Image, path) -> None:
    """Pixel kinds with no 8-bit reading, refused from the header (so the plan's check of a
    folder names them before any job): floating point, and 32-bit integers."""
    if img.mode == "F":
        raise ImageError(
            f"{path}: floating-point pixels are not supported; save it as an 8- or 16-bit image"
        )
    if img.mode == "I" and _bits_per_sample(img) > 16:
        raise ImageError(f"{path}: {_DEEP_INTEGERS}")


def _bits_per_sample(img: Image.Image) -> int:
    """Bits per sample a TIFF declares (a 32-bit TIFF of values 0..255 is not 16-bit); 16 for
    any other file Pillow opens in mode "I"."""
    bits = getattr(img, "tag_v2", {}).get(258, 16) if img.format == "TIFF" else 16
    return int(max(bits) if isinstance(bits, tuple) else bits)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as H x W x 3 uint8, or raise :class:`ImageError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    try:
        array = _decode(path)
    except ImageError:
        raise
    except MemoryError as err:
        header = read_header(path)
        raise ImageError(
            f"{path}: out of memory decoding its {header.width}x{header.height} pixels; give the "
            "job more memory (mem_mb) or fewer threads, or shrink the image"
        ) from err
    except Exception as err:  # PIL raises many types for truncated or corrupt files
        raise ImageError(f"{path}: cannot be decoded as an image ({err})") from err
    return to_rgb_uint8(array, str(path))


class Header(NamedTuple):
    """What a file's header tells without decoding its pixels (sizes as shown, like
    :func:`read_image`: after the EXIF orientation)."""

    height: int
    width: int
    grey: bool  # a single (grey) channel, alpha aside: repeated to RGB when read


#: Headers read in this process, by (path, size, modification time, inode): a plan asks for the
#: same files' headers several times (every file's check, the pairs check, the store's sizes).
_HEADERS: dict[tuple[str, int, int, int], Header] = {}


def read_header(path: str | os.PathLike) -> Header:
    """The :class:`Header` of an image file, read once per process while the file is unchanged."""
    try:
        stat = os.stat(path)
    except OSError:
        return _read_header(path)  # names the file, as for any file that cannot be read
    key = (os.fspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key not in _HEADERS:
        _HEADERS[key] = _read_header(path)
    return _HEADERS[key]


def _read_header(path: str | os.PathLike) -> Header:
    try:
        with Image.open(path) as img:
            _refuse_unsupported(img, path)
            width, height = _stored_size(img)
            if exif_orientation(img) in _SWAPPING_ORIENTATIONS:
                width, height = height, width
            grey = img.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "La")
    except ImageError:
        raise
    except Exception as err:
        raise ImageError(f"{path}: cannot be read as an image ({err})") from err
    return Header(height, width, grey)


def read_headers(paths, shown: int = 10) -> list[Header]:
    """The :class:`Header` of every file, or one :class:`ImageError` naming every file that
    cannot be read (the first ``shown`` with why), so that a folder with several broken files
    is fixed in one go rather than one file per run."""
    headers, failures = [], []
    for path in paths:
        try:
            headers.append(read_header(path))
        except ImageError as err:
            failures.append(str(err))
    if failures:
        more = f"\n  … and {len(failures) - shown} more" if len(failures) > shown else ""
        raise ImageError(
            f"{len(failures)} of {len(headers) + len(failures)} files cannot be read as images "
            "(remove them from the folder, or re-save them):\n  "
            + "\n  ".join(failures[:shown])
            + more
        )
    return headers


def _stored_size(img: Image.Image) -> tuple[int, int]:
    """(width, height) as stored, before the EXIF orientation: Pillow 13 reports a TIFF's size
    already turned, so its tags are read instead (the same numbers on older Pillows)."""
    tags = getattr(img, "tag_v2", None)
    if img.format == "TIFF" and tags is not None and 256 in tags and 257 in tags:
        return int(tags[256]), int(tags[257])
    return img.size


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels (as shown: after the
    EXIF orientation, like :func:`read_image`)."""
    header = read_header(path)
    return header.height, header.width


def is_grey_file(path: str | os.PathLike) -> bool:
    """Whether the file stores a single (grey) channel, alpha aside: such an image is repeated
    to RGB when read, but may be scored as grey (``evaluation.grey``)."""
    return read_header(path).grey


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a uint8 image as PNG atomically: a crash never leaves a half-written file.

    The temporary name is unique per call (threads may write beside each other) and the file is
    created by PIL, so it gets the umask's permissions like any other output (mkstemp's 0600
    would hide re-encoded images from the other users of a shared data folder).
    """
    with atomic_path(path, unique=True) as tmp:
        Image.fromarray(image).save(tmp, format="PNG", compress_level=1)


def is_plain_rgb_png(path: str | os.PathLike) -> bool:
    """True for an 8-bit RGB PNG, which decodes to H x W x 3 uint8 unchanged (so it can be copied
    as is). Pillow reports a 16-bit RGB PNG as mode "RGB" too: the IHDR's bit depth tells them
    apart (PNG signature 8 bytes, chunk length and type 8, width and height 8: byte 24)."""
    try:
        with Image.open(path) as img:
            if img.format != "PNG" or img.mode != "RGB" or exif_orientation(img) != 1:
                return False
        with open(path, "rb") as handle:
            return handle.read(25)[24] == 8
    except Exception:
        return False


def copy_atomic(source: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Copy a file under a temporary name and rename it: never a half-written ``dest``."""
    with atomic_path(dest, unique=True) as tmp:
        shutil.copyfile(source, tmp)
