"""Restoration tasks and their names: super-resolution x s (``sr_x2``) or denoising at sigma
(``dn_s25``). A task decides what the network's input is, which metric scores it, and which
LR patches (if any) a store must hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^(sr_x(?P<scale>\d+)|dn_s(?P<sigma>\d+))$")


@dataclass(frozen=True)
class Task:
    """``kind`` is "sr" or "denoise"; ``level`` is the scale (sr) or the noise sigma (denoise)."""

    kind: str
    level: int

    @classmethod
    def parse(cls, name: str) -> Task:
        match = _NAME.match(name)
        if not match:
            raise ValueError(f"task {name!r} is neither sr_x<scale> nor dn_s<sigma>")
        if match["scale"]:
            return cls("sr", int(match["scale"]))
        return cls("denoise", int(match["sigma"]))

    @classmethod
    def from_experiment(cls, exp: dict) -> Task:
        if exp["task"] == "sr":
            return cls("sr", exp["scale"])
        return cls("denoise", exp["sigma"])

    @property
    def name(self) -> str:
        return f"sr_x{self.level}" if self.kind == "sr" else f"dn_s{self.level}"

    @property
    def scale(self) -> int:
        """Upscaling factor of the network (1 for denoising)."""
        return self.level if self.kind == "sr" else 1

    @property
    def sigma(self) -> float:
        """Gaussian noise standard deviation on the 0..255 scale (0 for super-resolution)."""
        return float(self.level) if self.kind == "denoise" else 0.0

    @property
    def protocol(self) -> str:
        """The task and how it is scored, for titles: tables of two sigmas must not look alike."""
        if self.kind == "sr":
            return f"x{self.level} SR, Y-channel PSNR, {self.level}-pixel border shaved"
        return f"σ {self.level} denoising, RGB PSNR, no border shaved"

    @property
    def reference(self) -> str:
        """What every network of the task is read against, in words
        (:func:`patchmine.evaluate.reference_output`)."""
        if self.kind == "sr":
            return f"bicubic x{self.level} upscaling of the LR images"
        return f"the noisy input itself (σ {self.level})"

    @property
    def model_task(self) -> str:
        """The ``task`` argument of :func:`patchmine.models.build_model`."""
        return self.kind
