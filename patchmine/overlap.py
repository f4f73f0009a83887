"""Whether two datasets share images: by name, as the same file however its path is spelt, or as
a byte-identical copy, so that an experiment is never scored on its own training images.

Run at every ``snakemake`` start (``config.check_config``), so it stays cheap: each folder is
listed once, and only files of equal size are read, their first 64 KiB before the whole file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat

from patchmine.catalog import DIV2K_IDS, dataset_root

#: Bytes read from the start of a file to tell equal-sized files apart before reading them whole.
_HEAD_BYTES = 1 << 16


class DatasetImages:
    """The images of the datasets, as names and as files, read once per config check."""

    def __init__(self, datasets: dict, data_dir: str):
        self.datasets, self.data_dir = datasets, data_dir
        self._files: dict[str, dict | None] = {}
        self._digests: dict[tuple[str, bool], bytes] = {}
        self._folders: dict[str, str] = {}

    def names(self, dataset: str) -> set[str]:
        """Names that say which image it is, wherever it is read from: DIV2K numbers and
        scikit-image photograph names."""
        spec = self.datasets[dataset]
        if spec["source"] == "skimage":
            return set(spec["images"])
        if spec["source"] == "div2k":
            lo, hi = DIV2K_IDS[spec["split"]]
            first, last = spec.get("first", lo), spec.get("last", hi)
            return {f"DIV2K {i:04d}" for i in range(first, last + 1)}
        return set()

    def folders(self, dataset: str) -> set[str]:
        """The folder and pattern of a set read from a folder, resolved so that 'HR/', 'x/../HR'
        and a link to HR agree: what can be compared before the files are there."""
        spec = self.datasets[dataset]
        if spec["source"] == "benchmark":
            return {f"{os.path.realpath(dataset_root(spec, self.data_dir))}/{spec['set']}"}
        if spec["source"] in ("folder", "pairs"):
            folder = os.path.realpath(spec.get("hr") or spec["path"])
            return {f"{folder}/{spec.get('pattern', '*')}"}
        return set()

    def files(self, dataset: str) -> dict[str, tuple[str, int]] | None:
        """{real path: (path as listed, size)} of every file the dataset reads, or None when it
        cannot be listed yet (not downloaded, or a mistake its own job will name)."""
        if dataset not in self._files:
            from patchmine.datasets import image_files, source_images

            quiet = logging.getLogger("patchmine.datasets")
            was, quiet.disabled = quiet.disabled, True  # its jobs warn of unread files
            try:
                listed = image_files(source_images(self.datasets[dataset], self.data_dir))
                self._files[dataset] = {
                    real: (f, size) for f in listed for real, size in [self.real(f)]
                }
            except (OSError, ValueError):
                self._files[dataset] = None
            finally:
                quiet.disabled = was
        return self._files[dataset]

    def real(self, path: str) -> tuple[str, int]:
        """The file's real path (links and '..' resolved) and size; each folder's real path is
        worked out once, so a folder of plain files costs one ``lstat`` a file."""
        folder, name = os.path.split(path)
        if folder not in self._folders:
            self._folders[folder] = os.path.realpath(folder)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return os.path.realpath(path), os.stat(path).st_size
        return os.path.join(self._folders[folder], name), info.st_size

    def digest(self, path: str, whole: bool) -> bytes:
        """A hash of the file's first bytes, or of all of it (one of its own if unreadable)."""
        if (path, whole) not in self._digests:
            try:
                with open(path, "rb") as handle:
                    if whole:
                        value = hashlib.file_digest(handle, "blake2b").digest()
                    else:
                        value = hashlib.blake2b(handle.read(_HEAD_BYTES)).digest()
            except OSError:  # its job will say why; it is no copy of anything
                value = f"unreadable {path}".encode()
            self._digests[path, whole] = value
        return self._digests[path, whole]

    def shared(self, train: str, other: str) -> list[str]:
        """The images of ``other`` that are images of ``train``: by name, as the same file
        (links and spellings of a path resolved), or as a byte-identical copy."""
        if other == train:
            return [f"all of {train!r}"]
        found = sorted(self.names(train) & self.names(other))
        mine, theirs = self.files(train), self.files(other)
        if mine is None or theirs is None:
            return found + sorted(self.folders(train) & self.folders(other))
        by_size: dict[int, list[str]] = {}
        for real, (_, size) in mine.items():
            by_size.setdefault(size, []).append(real)
        by_head: dict[int, dict[bytes, list[str]]] = {}  # only for sizes found in both
        for real, (listed, size) in sorted(theirs.items(), key=lambda item: item[1][0]):
            if real in mine:
                found.append(listed)
                continue
            if size not in by_size:
                continue
            if size not in by_head:
                by_head[size] = {}
                for twin in by_size[size]:
                    by_head[size].setdefault(self.digest(twin, False), []).append(twin)
            twins = by_head[size].get(self.digest(real, False), [])
            twin = next(
                (
                    t
                    for t in twins
                    if size <= _HEAD_BYTES or self.digest(real, True) == self.digest(t, True)
                ),
                None,
            )
            if twin is not None:
                found.append(f"{listed} (a copy of {mine[twin][0]})")
        return found
