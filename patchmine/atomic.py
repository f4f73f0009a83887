"""Files that are whole or absent.

Every output is written under a temporary name beside it and renamed into place once complete
(a rename within a folder is atomic), so a crash, a full disk or a kill never leaves a
half-written file under the name that Snakemake and the next step trust; the temporary file of a
write that failed is removed. (Training checkpoints add an fsync and clean up after a SIGKILL at
resume: :mod:`patchmine.checkpoint`.) A kill that leaves a temporary file behind is told of at
the start of the next run (:func:`warn_of_leftovers`): the job that comes back for the same
output replaces it, but one whose settings changed never does.
"""

from __future__ import annotations

import logging
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


@contextmanager
def atomic_path(path: str | os.PathLike, unique: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` to write a file to; renamed to ``path`` when the block
    ends without an error, removed when it raises.

    ``unique`` gives each call a name of its own (hidden: ``.<name>.<random>.tmp``), for threads
    that write beside each other; otherwise the name is ``<name>.tmp``, which a later attempt
    reuses.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    name = f".{path.name}.{uuid.uuid4().hex[:12]}.tmp" if unique else f"{path.name}.tmp"
    tmp = path.with_name(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: How many leftovers a warning names one by one (the biggest); the rest are counted.
NAMED_LEFTOVERS = 3


def leftovers(folder: str | os.PathLike) -> list[tuple[Path, int]]:
    """Temporary files and folders (``*.tmp``) below ``folder`` with their sizes in bytes, the
    biggest first: what writes stopped by a kill (SIGKILL, a node lost, a job cancelled) left.
    A rerun of the same job replaces its own; one whose settings changed since never comes back
    for it, and a store's can weigh gigabytes."""
    found = []
    # os.walk, not rglob: a folder that an earlier run's job renames or removes meanwhile (a
    # png.tmp put in place) is skipped, never an error that stops the run starting
    for root, dirs, files in os.walk(folder, onerror=lambda _err: None):
        top = Path(root)
        for name in [d for d in dirs if d.endswith(".tmp")]:
            dirs.remove(name)  # counted whole, not walked into again
            path = top / name
            if not path.is_symlink():
                found.append((path, _folder_size(path)))
        for name in (f for f in files if f.endswith(".tmp")):
            size = _file_size(top / name)
            if size is not None:
                found.append((top / name, size))
    return sorted(found, key=lambda item: (-item[1], str(item[0])))


def describe_leftovers(found: list[tuple[Path, int]]) -> str | None:
    """One warning naming the biggest :func:`leftovers` and what to do; None when there are none."""
    if not found:
        return None
    total = sum(size for _, size in found)
    named = ", ".join(f"{path} ({_size(size)})" for path, size in found[:NAMED_LEFTOVERS])
    more = len(found) - NAMED_LEFTOVERS
    return (
        f"{len(found)} temporary file(s) left by stopped jobs hold {_size(total)}: {named}"
        + (f" and {more} more" if more > 0 else "")
        + ". A job writing the same output again replaces its own; delete the others once no "
        "job of an earlier run is still writing them."
    )


def _folder_size(folder: Path) -> int:
    """Bytes of the files below ``folder``; what cannot be read (removed meanwhile) counts 0."""
    walked = os.walk(folder, onerror=lambda _err: None)
    return sum(_file_size(Path(root) / name) or 0 for root, _, files in walked for name in files)


def _file_size(path: Path) -> int | None:
    """Bytes of a regular file; None for a link or anything else, or a file removed meanwhile."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def warn_of_leftovers(folder: str | os.PathLike) -> None:
    """Log :func:`describe_leftovers` of ``folder`` as a warning, if there are any: advice only,
    so a folder that cannot be read says so at debug level and never stops the run."""
    try:
        message = describe_leftovers(leftovers(folder))
    except OSError as err:
        log.debug("leftovers of %s not looked for: %s", folder, err)
        return
    if message:
        log.warning(message)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
