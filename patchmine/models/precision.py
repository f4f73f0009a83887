"""Layers that must see full precision when training runs under bf16 autocast.

bf16 keeps 8 significant bits, so on the 0..255 scale a bf16 output pixel can only take whole
values above 128. A network whose last layer ran in bf16 would round its output onto the same
integer grid as the HR targets: wherever it is within half a grey level, the L1 loss reads zero
and so does its gradient, and a noisy input passed through a global skip would lose its noise's
fine values. The cheap layers at either end (mean shifts, the last 3-channel conv) therefore run
in fp32 while the body keeps bf16's speed.

In training on Ampere and later GPUs, cuDNN's TF32 (PyTorch's default for fp32 convolutions)
still rounds these layers' inputs to 11 significant bits: an output grid of an eighth of a grey
level above 128 rather than bf16's whole levels, fine enough for L1's gradient. Measurements
(evaluation, the loss criterion) turn TF32 off (:func:`without_tf32`).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


def in_fp32(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` computed in fp32 when autocast is on for ``x``'s device; plain otherwise
    (so a model converted to another dtype as a whole still runs in that dtype)."""
    if not torch.is_autocast_enabled(x.device.type):
        return layer(x)
    with torch.autocast(x.device.type, enabled=False):
        return layer(x.float())


@contextlib.contextmanager
def without_tf32():
    """fp32 convolutions really in fp32 inside the block. cuDNN runs them in TF32 (a 10-bit
    mantissa) on Ampere and later GPUs by default: fine for training, but a measurement
    (evaluation, the loss criterion) must not depend on the GPU model or differ from the CPU's."""
    saved = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = saved
