"""What a job read from a user's image folder, so that a changed image is never missed.

Snakemake re-runs a job when an input is *newer* than its outputs. An image replaced by an
older file (``cp -p``, ``mv``, ``rsync -a``, unpacking an archive) keeps its old time, and the
store cut from the old pixels would be used as if current. So each job that reads a folder
records the size and time of every file it read (``<output>.sources.json``), and before the next
run builds its plan, :func:`outdate_if_changed` compares them with the files on disk: where one
differs, the output's time is set before its inputs', and Snakemake re-runs the job, as it would
for a newer file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from patchmine.atomic import atomic_path

log = logging.getLogger(__name__)


def record_path(made: str | os.PathLike) -> Path:
    """Where the job that makes ``made`` records what it read: ``p96_s120.h5`` ->
    ``p96_s120.sources.json``."""
    made = Path(made)
    return made.with_name(f"{made.stem}.sources.json")


def _stat(path: str) -> list[int]:
    info = os.stat(path)
    return [info.st_size, info.st_mtime_ns]


def record_sources(files: Iterable[str | os.PathLike], made: str | os.PathLike) -> None:
    """Record the size and time of ``files`` before the job making ``made`` reads them (a file
    changed while it is read then differs from the record, and the next run re-makes ``made``)."""
    record = record_path(made)
    stats = {os.path.abspath(f): _stat(f) for f in files}
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(stats, indent=0, sort_keys=True), encoding="utf-8")


def changed_sources(made: str | os.PathLike) -> list[str]:
    """The recorded files of ``made`` whose size or time is not what its job read (files gone
    are not listed: Snakemake sees a changed set of inputs itself)."""
    record = record_path(made)
    if not (Path(made).is_file() and record.is_file()):
        return []
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # unreadable: the job re-writes it on its next run
    changed = []
    for path, seen in recorded.items():
        try:
            if _stat(path) != seen:
                changed.append(path)
        except OSError:
            continue
    return sorted(changed)


def outdate_if_changed(made: Iterable[str | os.PathLike], inputs: list[str]) -> list[str]:
    """Set each of ``made`` whose sources changed (:func:`changed_sources`) to a time before all
    of ``inputs`` (the job's input files), so that Snakemake re-makes it; return those outdated.
    Idempotent: a plan built twice (a dry run, then the run) outdates the same files."""
    times = []
    for path in inputs:
        try:
            times.append(os.stat(path).st_mtime)
        except OSError:
            continue
    outdated = []
    for product in made:
        changed = changed_sources(product)
        if not changed or not times:
            continue
        before = max(min(times) - 1, 0)
        try:
            info = os.stat(product)
            first_seen = info.st_mtime > before  # not yet re-dated by an earlier plan
            if first_seen:
                os.utime(product, (info.st_atime, before))
        except OSError as err:  # gone meanwhile (its job re-makes it), or not ours to touch
            log.warning("%s: its images changed, but it cannot be re-dated (%s)", product, err)
            continue
        if first_seen:
            log.warning(
                "%s is re-made: %d of the images it was made from changed since (size or time "
                "differs from when it was read), e.g. %s",
                product,
                len(changed),
                changed[0],
            )
        outdated.append(str(product))
    return outdated


def snakemake_inputs(files: Iterable[str | os.PathLike]) -> list[str]:
    """``files`` as a job's inputs: Snakemake reads braces in an input path ("shot {1}.png") as a
    wildcard, with no escape for an input function's paths, so such a file is stood for by the
    nearest folder above it without braces (images added or removed there still re-run the
    job, and an edit of that one file is caught by its record, :func:`outdate_if_changed`)."""
    files = [str(f) for f in files]
    braced = {_brace_free_folder(f) for f in files if "{" in f or "}" in f}
    return [f for f in files if "{" not in f and "}" not in f] + sorted(braced)


def _brace_free_folder(path: str) -> str:
    folder = os.path.dirname(path)
    while "{" in folder or "}" in folder:
        folder = os.path.dirname(folder)
    return folder
