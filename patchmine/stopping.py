"""Stopping a run cleanly: SIGTERM (what SLURM sends at preemption or at the time limit, some
30 s before its SIGKILL) or SIGINT (Ctrl-C) becomes a flag the training loop reads between
steps, so the run saves ``last.pt`` at that very iteration and exits with
:class:`TrainingStopped`."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

log = logging.getLogger(__name__)


class TrainingStopped(RuntimeError):
    """The run was asked to stop (SIGTERM, SIGINT) and saved ``last.pt`` first."""


class _StopFlag:
    signal: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""


@contextlib.contextmanager
def stop_signals(signals=(signal.SIGTERM, signal.SIGINT)):
    """Turn the first SIGTERM/SIGINT into a flag the loop checks between steps (a step or a save
    is never cut in half). A second SIGINT gets the handler that was there before, so a user who
    presses Ctrl-C twice is not kept waiting; a second SIGTERM is only logged, because SLURM's
    time limit sends one to the job step and one through ``srun`` in the same millisecond, and
    its own escalation is SIGKILL after ``KillWait``. A signal the process was started ignoring
    (SIGINT in a job that a shell put in the background) stays ignored. Outside the main thread
    nothing is installed."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {}

    def handler(signum, frame):
        name = signal.Signals(signum).name
        if flag.signal is None:
            flag.signal = signum
            log.warning("%s received: stopping after this step", name)
            return
        if signum == signal.SIGTERM:
            log.warning("%s received again: still stopping after this step", name)
            return
        signal.signal(signum, previous[signum])
        signal.raise_signal(signum)

    for signum in signals:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield flag
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
