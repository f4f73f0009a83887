"""Files that are whole or absent.

Every output is written under a temporary name beside it and renamed into place once complete
(a rename within a folder is atomic), so a crash, a full disk or a kill never leaves a
half-written file under the name that Snakemake and the next step trust; the temporary file of a
write that failed is removed. (Training checkpoints add an fsync and clean up after a SIGKILL at
resume: :mod:`patchmine.checkpoint`.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
