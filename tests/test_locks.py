"""The lock two workflows sharing one data folder take: exclusive, never stale, never left.

flock locks belong to an open file, so threads that each open the lock file contend as
processes do; a real process is used where the point is how it ends.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from patchmine import locks
from patchmine.locks import exclusive


def test_holders_take_turns_and_leave_no_lock_file(tmp_path):
    lock, counter = tmp_path / "archive.lock", tmp_path / "count"
    counter.write_text("0")
    inside, most_inside, guard = [0], [0], threading.Lock()

    def work():
        for _ in range(25):
            with exclusive(lock, what="counting"):
                with guard:
                    inside[0] += 1
                    most_inside[0] = max(most_inside[0], inside[0])
                value = int(counter.read_text())  # a read-modify-write that needs the lock
                time.sleep(0.0005)
                counter.write_text(str(value + 1))
                with guard:
                    inside[0] -= 1

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert counter.read_text() == "100" and most_inside[0] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["count"]


def test_a_waiter_says_once_what_it_waits_for_and_who_holds_it(tmp_path, caplog, waits):
    waiting = waits("patchmine.locks")
    lock = tmp_path / "DIV2K_train_HR.zip.lock"
    entered = threading.Event()

    def second():
        with exclusive(lock, what="downloading DIV2K_train_HR.zip"):
            entered.set()

    with exclusive(lock, what="downloading DIV2K_train_HR.zip"):
        waiter = threading.Thread(target=second)
        waiter.start()
        assert waiting.wait(30), "the second holder did not wait"
        assert not entered.is_set()
    waiter.join(30)
    assert entered.is_set()
    [record] = caplog.records
    message = record.getMessage()
    assert str(lock) in message and "downloading DIV2K_train_HR.zip" in message
    assert f"process {os.getpid()} on {socket.gethostname()}" in message


def test_a_killed_holder_leaves_no_lock_behind(tmp_path, caplog):
    """SIGKILL runs no cleanup: the file stays, but the kernel has dropped the lock on it."""
    lock = tmp_path / "benchmark.tar.lock"
    holder = (
        "import os, signal, sys\n"
        "from patchmine.locks import exclusive\n"
        "with exclusive(sys.argv[1], what='extracting'):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", holder, str(lock)], timeout=60)
    assert done.returncode == -signal.SIGKILL and lock.exists()

    caplog.set_level(logging.INFO, logger="patchmine.locks")
    with exclusive(lock, what="extracting") as held:
        assert held
    assert not caplog.records  # taken at once, no waiting
    assert not lock.exists()


def _refuse(code: int):
    def refuse(*args):
        raise OSError(code, os.strerror(code))

    return refuse


@pytest.mark.parametrize(
    "where,code,why",
    [
        ("flock", errno.ENOLCK, "this file system cannot lock"),  # NFS without a lock daemon
        ("flock", errno.ENOSYS, "this file system cannot lock"),  # Lustre without -o flock
        ("open_lock_file", errno.EROFS, "no lock file can be made here"),  # read-only folder
        ("open_lock_file", errno.EACCES, "no lock file can be made here"),
    ],
)
def test_where_no_lock_can_be_had_the_block_runs_with_a_warning(
    tmp_path, monkeypatch, caplog, where, code, why
):
    target = locks.fcntl if where == "flock" else locks
    monkeypatch.setattr(target, where, _refuse(code))
    lock = tmp_path / "x.lock"
    ran = False
    with exclusive(lock, what="extracting x.zip") as held:
        ran = True
        assert not held
    assert ran
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert message.startswith(f"{lock}: {why} ({os.strerror(code)}); extracting x.zip goes on")


def test_other_lock_failures_are_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(locks.fcntl, "flock", _refuse(errno.EIO))
    with pytest.raises(OSError, match="Input/output error"):
        with exclusive(tmp_path / "x.lock", what="extracting x.zip"):
            pass
