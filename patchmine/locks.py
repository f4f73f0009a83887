"""An exclusive lock between workflows that share one data folder.

Snakemake's own lock covers one working folder. Two workflows run from different folders (a
paper run and a user's own, or two users of one cluster) may share one ``data_dir``; without
a lock they would write the same archive's ``.part`` at once, or clear each other's
extraction staging. :func:`exclusive` takes an ``flock`` named by a file: the kernel drops it
when its process ends, however it ends (SIGKILL, out of memory, a preempted node), so a killed
job never leaves a stale lock behind, and the next holder knows that what it finds half-done
was left by a process that is gone.

The lock file is removed when the lock is released. A waiter that then wins the lock on the
removed file sees that the name now leads elsewhere, and locks again.

Where the file system offers no ``flock`` (Lustre mounted without ``-o flock``, NFS without a
lock daemon), or the folder is read-only to us, the block runs unlocked, with a warning: one
workflow at a time then, as before.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["exclusive", "open_lock_file"]

_LOG = logging.getLogger(__name__)

#: What flock raises where the file system cannot lock (rather than "someone holds it"); NFS
#: also refuses (EBADF) to lock a file we could only open read-only, another user's.
_NO_LOCKS = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.EBADF}
#: What creating the lock file raises in a folder we may read but not write (a shared data
#: folder, already complete): nothing will be written there either, unless something must be.
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}
#: What a non-blocking flock raises while another process holds the lock.
_HELD = {errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES}


@contextmanager
def exclusive(
    path: str | os.PathLike, *, what: str, log: logging.Logger | logging.LoggerAdapter = _LOG
) -> Iterator[bool]:
    """Hold an exclusive lock named by ``path`` for the ``with`` block; yield whether it is
    really held (False where none can be had: a file system without locks, a read-only folder).

    While another process holds it, say so once in ``log`` (naming ``what`` we wait to do and
    who holds the lock) and wait as long as it takes: the holder's own work has its timeouts.
    """
    path = Path(path)
    fd = _acquire(path, what, log)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            _release(path, fd)


def _acquire(path: Path, what: str, log) -> int | None:
    told = False
    while True:
        try:
            fd = open_lock_file(path)
        except OSError as exc:
            if exc.errno not in _READ_ONLY:
                raise
            _unlocked(path, what, f"no lock file can be made here ({exc.strerror})", log)
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in _HELD:
                    raise
                if not told:
                    log.info("%s: waiting to start %s until %s", path, what, _holder(fd))
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in _NO_LOCKS:
                raise
            _unlocked(path, what, f"this file system cannot lock ({exc.strerror})", log)
            return None
        if _names(path, fd):
            _record_holder(fd)
            return fd
        os.close(fd)  # the last holder removed this file as it let go: lock the new one


def _unlocked(path: Path, what: str, why: str, log) -> None:
    log.warning(
        "%s: %s; %s goes on unlocked, so no other workflow sharing this folder may do the same "
        "at once",
        path,
        why,
        what,
    )


def _release(path: Path, fd: int) -> None:
    try:
        if _names(path, fd):
            path.unlink()  # while still held, so nobody else can be holding this name
    except OSError:
        pass  # read-only for us (another user's lock file): left for its owner
    finally:
        os.close(fd)


def open_lock_file(path: Path) -> int:
    """An fd on a lock file, created if missing; read-only where another user owns it (a
    shared folder, a machine's GPU locks), since flock works on any fd."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        return os.open(path, os.O_RDONLY | os.O_CREAT)


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file ``fd`` has open."""
    try:
        here = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def _record_holder(fd: int) -> None:
    """Who holds the lock, for the message of whoever waits next (best effort)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()} since {stamp}".encode(), 0)
    except OSError:
        pass


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return f"{text} is done" if text else "its holder is done"
