"""The small glue every rule script shares: logging to the rule's log file, threads, device."""

from __future__ import annotations

import logging
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

    def excepthook(kind, value, tb):
        logger.error("%s failed", snakemake.rule, exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    return logger


def pick_device(setting: str = "auto") -> str:
    """``auto`` -> the first CUDA device when there is one, else the CPU."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {setting!r} requested but CUDA is not available")
    return setting
