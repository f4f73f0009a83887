"""Unpack the downloaded archives (DIV2K zips, EDSR's benchmark.tar) safely and atomically.

Archives come from the network, so a member must never land outside the target folder: every
member is checked *before anything is written* (no absolute paths, no ``..``, no links leading
out, no paths through links, no device files), and tar extraction additionally runs under the
standard library's ``'data'`` filter.  Extraction goes to a hidden staging folder inside
``target_dir`` and is moved into place at the end, so a failure leaves what ``target_dir``
held as it was and a Snakemake rule never sees half an archive.  Two extractions of one
archive into one folder (two workflows sharing a data folder) take turns under a lock.
"""

from __future__ import annotations

import errno
import glob
import logging
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from patchmine.locks import exclusive

__all__ = ["ArchiveError", "UnsafeArchiveError", "extract"]

_LOG = logging.getLogger(__name__)

#: How many symlinks one path may pass through before we call it a loop.
_MAX_LINK_HOPS = 40
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(ValueError):
    """The archive cannot be extracted as asked (unknown format, nothing selected, conflict)."""


class UnsafeArchiveError(ArchiveError):
    """A member would escape the target folder; the message names the member and archive."""

    def __init__(self, archive: Path, member: str, reason: str):
        super().__init__(f"{archive}: refusing member {member!r}: {reason}")
        self.archive, self.member, self.reason = archive, member, reason


@dataclass
class _Entry:
    """One member, format-neutral: ``parts`` is the cleaned relative path."""

    name: str
    parts: tuple[str, ...]
    kind: str  # "file", "dir", "symlink", "hardlink" or "special"
    link: str | None
    info: zipfile.ZipInfo | tarfile.TarInfo


def extract(
    archive: str | os.PathLike,
    target_dir: str | os.PathLike,
    *,
    members_prefix: str | None = None,
) -> list[Path]:
    """Extract a .zip, .tar, .tar.gz/.tgz (format sniffed from content) into ``target_dir``.

    Members keep their archive paths (``DIV2K_train_HR/0001.png`` becomes
    ``target_dir/DIV2K_train_HR/0001.png``); ``members_prefix`` limits extraction to members
    whose path starts with it.  Returns the paths of the extracted files and links (not
    directories), in archive order.  Files already in ``target_dir`` are replaced by members
    of the same name; everything else there is left alone.

    Raises UnsafeArchiveError before writing anything if any member is unsafe.
    """
    archive = Path(archive)
    target = Path(target_dir)
    if not archive.is_file():
        raise ArchiveError(f"{archive}: no such archive")
    if zipfile.is_zipfile(archive):
        opener, lister, writer = zipfile.ZipFile, _zip_entries, _zip_write
    elif tarfile.is_tarfile(archive):
        opener, lister, writer = tarfile.open, _tar_entries, _tar_write
    else:
        raise ArchiveError(f"{archive}: not a zip or tar archive")

    with opener(archive) as handle:
        entries = lister(handle)
        _check(entries, archive)
        selected = _select(entries, members_prefix, archive)
        if os.path.lexists(target) and not target.is_dir():
            raise ArchiveError(f"{archive}: target {target} exists and is not a directory")
        target.mkdir(parents=True, exist_ok=True)
        # Staged inside the target, so the final moves are renames on one file system even
        # where the target is a link onto another disk. One extraction of an archive at a time
        # (another workflow may share this folder), so a staging folder found here was left by
        # an extraction of this archive that was killed: gigabytes, removed. Other archives'
        # extractions run beside it untouched.
        prefix = f".extract-{archive.name}-"
        lock = target / f".extract-{archive.name}.lock"
        with exclusive(lock, what=f"extracting {archive}", log=_LOG):
            for leftover in [
                *target.glob(glob.escape(prefix) + "*"),
                *target.parent.glob(glob.escape(f".{target.name}{prefix}") + "*"),  # older layout
            ]:
                shutil.rmtree(leftover, ignore_errors=True)
            workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=target))
            try:
                stage = workdir / "stage"
                stage.mkdir()  # unlike mkdtemp's 0700 folder, this one honours the umask
                writer(handle, selected, stage, archive)
                _merge(stage, target, archive)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

    files: dict[Path, None] = {}
    for entry in selected:
        if entry.kind != "dir" and entry.parts:
            files[target.joinpath(*entry.parts)] = None
    return list(files)


# --------------------------------------------------------------------------- listing


def _entry(name: str, kind: str, link: str | None, info) -> _Entry:
    parts = tuple(p for p in re.split(r"[/\\]", name) if p not in ("", "."))
    return _Entry(name, parts, kind, link, info)


def _zip_entries(zf: zipfile.ZipFile) -> list[_Entry]:
    entries = []
    for info in zf.infolist():
        if info.is_dir():
            kind, link = "dir", None
        elif stat.S_ISLNK(info.external_attr >> 16):
            # zipfile itself would write the link text as a file; we honour it as a link.
            kind, link = "symlink", zf.read(info).decode("utf-8", "surrogateescape")
        else:
            kind, link = "file", None
        entries.append(_entry(info.filename, kind, link, info))
    return entries


def _tar_entries(tf: tarfile.TarFile) -> list[_Entry]:
    entries = []
    for info in tf.getmembers():
        if info.isdir():
            kind = "dir"
        elif info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        elif info.isreg():
            kind = "file"
        else:
            kind = "special"
        link = info.linkname if kind in ("symlink", "hardlink") else None
        entries.append(_entry(info.name, kind, link, info))
    return entries


# --------------------------------------------------------------------------- validation


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or bool(_DRIVE.match(path))


def _resolve(parts: list[str], links: dict[tuple[str, ...], str]) -> str | None:
    """Follow ``parts`` through the archive's own symlinks, like realpath inside target_dir.

    Returns None when the path stays inside, otherwise why it does not."""
    todo = list(parts)
    out: list[str] = []
    hops = 0
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                return "it leads outside the target directory"
            out.pop()
            continue
        out.append(part)
        link = links.get(tuple(out))
        if link is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS:
                return "symlink loop"
            if _is_absolute(link):
                return f"it passes through a link to the absolute path {link!r}"
            out.pop()
            todo = re.split(r"[/\\]", link) + todo
    return None


def _check(entries: list[_Entry], archive: Path) -> None:
    """Refuse the whole archive if any member could write outside the target folder."""
    for e in entries:
        if not e.name:
            raise UnsafeArchiveError(archive, e.name, "empty member name")
        if _is_absolute(e.name):
            raise UnsafeArchiveError(archive, e.name, "absolute path")
        if ".." in e.parts:
            raise UnsafeArchiveError(archive, e.name, "path contains '..'")
        if e.kind == "special":
            raise UnsafeArchiveError(archive, e.name, "device, FIFO or other special file")

    links = {e.parts: e.link for e in entries if e.kind == "symlink"}
    for e in entries:
        for depth in range(1, len(e.parts)):
            if e.parts[:depth] in links:
                through = "/".join(e.parts[:depth])
                raise UnsafeArchiveError(archive, e.name, f"path goes through symlink {through!r}")
        if e.kind in ("symlink", "hardlink"):
            if not e.link:
                raise UnsafeArchiveError(archive, e.name, f"{e.kind} with an empty target")
            if _is_absolute(e.link):
                raise UnsafeArchiveError(archive, e.name, f"{e.kind} to absolute path {e.link!r}")
            # A symlink is relative to its own folder; a tar hardlink to the archive root.
            base = list(e.parts[:-1]) if e.kind == "symlink" else []
            why = _resolve(base + re.split(r"[/\\]", e.link), links)
            if why is not None:
                raise UnsafeArchiveError(archive, e.name, f"{e.kind} to {e.link!r}: {why}")


def _select(entries: list[_Entry], prefix: str | None, archive: Path) -> list[_Entry]:
    """Members whose cleaned path starts with ``prefix`` (a plain string test, so
    ``"DIV2K_train_HR/"`` picks that folder and ``"DIV2K_train"`` any name starting so)."""
    if prefix is None:
        return entries
    cleaned = "/".join(p for p in re.split(r"[/\\]", prefix) if p not in ("", "."))
    if prefix.endswith(("/", "\\")):
        cleaned += "/"
    chosen = [e for e in entries if "/".join(e.parts).startswith(cleaned)]
    if not chosen:
        raise ArchiveError(f"{archive}: no member starts with {prefix!r}")
    return chosen


# --------------------------------------------------------------------------- writing


def _zip_write(zf: zipfile.ZipFile, entries: list[_Entry], stage: Path, archive: Path) -> None:
    for e in entries:
        path = stage.joinpath(*e.parts)
        if e.kind == "dir":
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path):
            path.unlink()
        if e.kind == "symlink":
            os.symlink(e.link, path)
        else:
            with zf.open(e.info) as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def _tar_write(tf: tarfile.TarFile, entries: list[_Entry], stage: Path, archive: Path) -> None:
    members = [e.info for e in entries]
    try:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(stage, members=members, filter="data")
        else:  # Python < 3.11.4: our own _check is the only guard
            tf.extractall(stage, members=members)
    except tarfile.FilterError as exc:
        raise UnsafeArchiveError(archive, exc.tarinfo.name, str(exc)) from exc


# --------------------------------------------------------------------------- installing


def _move(src: Path, dst: Path) -> None:
    try:
        os.replace(src, dst)
    except OSError as exc:  # target_dir may be a user's link onto another file system
        if exc.errno != errno.EXDEV:
            raise
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        shutil.move(src, dst)


def _plan(src_dir: Path, dst_dir: Path, moves: list[tuple[Path, Path]], archive: Path) -> None:
    """Collect (staged, final) pairs, merging into existing folders; raise on a file/folder
    clash before anything moves."""
    for child in sorted(src_dir.iterdir()):
        dst = dst_dir / child.name
        child_is_dir = child.is_dir() and not child.is_symlink()
        if not os.path.lexists(dst):
            moves.append((child, dst))
        elif child_is_dir and dst.is_dir():
            _plan(child, dst, moves, archive)
        elif child_is_dir or (dst.is_dir() and not dst.is_symlink()):
            kind = "folder" if child_is_dir else "file"
            raise ArchiveError(f"{archive}: cannot put {kind} {dst}: something else is there")
        else:
            moves.append((child, dst))


#: What renaming a folder onto one that is no longer empty raises (Linux, other systems).
_TAKEN = (errno.ENOTEMPTY, errno.EEXIST)


def _merge(src_dir: Path, dst_dir: Path, archive: Path) -> None:
    """Move ``src_dir``'s tree into ``dst_dir``. A folder planned as new but made meanwhile by
    another extraction into the same place (DIV2K's X2/X3/X4 zips all hold
    ``DIV2K_train_LR_bicubic/``) is merged into instead of failing the rename."""
    moves: list[tuple[Path, Path]] = []
    _plan(src_dir, dst_dir, moves, archive)
    for src, dst in moves:
        try:
            _move(src, dst)
        except OSError as exc:
            if exc.errno not in _TAKEN or not (src.is_dir() and dst.is_dir()):
                raise
            _merge(src, dst, archive)
