"""The small glue every rule script shares: logging to the rule's log file, threads, device."""

from __future__ import annotations

import logging
import os
import sys


def start(snakemake) -> logging.Logger:
    """Send logging (and uncaught errors) of a rule script to its ``log:`` file; set threads."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    torch = sys.modules.get("torch")  # only scripts that already use torch pay for importing it
    if torch is not None:
        torch.set_num_threads(max(1, int(snakemake.threads)))
    logger = logging.getLogger(f"patchmine.rule.{snakemake.rule}")
    global _JOB_GPUS
    _JOB_GPUS = int(getattr(snakemake.resources, "gpu", 0) or 0)
    # which attempt of its job this is (a rule's ``attempt`` resource), for code that must tell
    # a retry from a new run without a rule script passing it (``download``)
    os.environ[ATTEMPT_ENV] = str(int(getattr(snakemake.resources, "attempt", 1) or 1))

    def excepthook(kind, value, tb):
        logger.error("%s failed", snakemake.rule, exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    return logger


#: The environment variable :func:`start` sets to the job's attempt (1 unless retried).
ATTEMPT_ENV = "PATCHMINE_JOB_ATTEMPT"


def job_attempt() -> int:
    """Which attempt of its job the running rule script is, as :func:`start` recorded it from
    the rule's ``attempt`` resource: 1 unless Snakemake retried the job, and 1 outside a rule."""
    return int(os.environ.get(ATTEMPT_ENV, "1"))


#: GPUs the running rule's job was given (its ``gpu`` resource), once :func:`start` has run.
_JOB_GPUS: int | None = None


def pick_device(setting: str = "auto") -> str:
    """The torch device for the config's ``device``: ``auto`` is a CUDA device when there is one
    and the job asked for a GPU (a rule without a ``gpu`` resource runs on the CPU), else the CPU.
    With several GPUs visible, ``auto`` and ``cuda`` claim one no other job holds
    (:mod:`patchmine.gpus`); inside a SLURM job, the one SLURM gave it."""
    import torch

    from patchmine.gpus import choose_device

    available = torch.cuda.is_available()
    count = torch.cuda.device_count() if available else 0
    device = choose_device(setting, available, count, job_gpus=_JOB_GPUS)
    if device.startswith("cuda:"):
        torch.cuda.set_device(int(device.split(":")[1]))
    return device


def input_files(snakemake, name: str) -> list[str]:
    """A named input as a list of paths, whether the rule gave it as one path (a plain string
    to the script, as compare_published's ``runs``) or as a list (compare_all's)."""
    value = getattr(snakemake.input, name, [])
    return [value] if isinstance(value, str) else list(value)
