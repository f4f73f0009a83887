"""Restoration networks, each in a short module of plain PyTorch.

This package's own module imports no torch (each builder imports its network), so the DAG, the
config check and resource sizing read :data:`ARCH_DEFAULTS` without loading it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

TASKS = ("sr", "denoise")

#: Every arch, the config keys it takes besides ``arch``, and their defaults: the one table
#: that the builders, the config check and the resource sizing read (the schema's enum and
#: defaults are tested against it).
ARCH_DEFAULTS: dict[str, dict[str, object]] = {
    "edsr": {"blocks": 16, "channels": 64, "res_scale": 1.0},
    "oisr_rk2_s": {"blocks": 8, "channels": 64},
    "dncnn": {"channels": 64, "layers": 17, "image_channels": 3, "batch_norm": True},
}


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters; with ``trainable_only`` only those with ``requires_grad``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


#: The tasks (``Task.model_task``) each arch can be built for; the config check reads it, so a
#: denoiser named in a super-resolution experiment is refused before any job runs.
ARCH_TASKS: dict[str, tuple[str, ...]] = {
    "edsr": ("sr", "denoise"),
    "oisr_rk2_s": ("sr", "denoise"),
    "dncnn": ("denoise",),
}


def misplaced_keys(spec: dict) -> list[str]:
    """The keys of a model entry that its arch does not take (a known arch assumed)."""
    return sorted(set(spec) - {"arch"} - set(ARCH_DEFAULTS[spec["arch"]]))


# Each builder gets the entry with its arch's defaults filled in, its keys already checked.


def _build_edsr(spec: dict, scale: int, task: str) -> nn.Module:
    from patchmine.models.edsr import EDSR

    return EDSR(
        scale=scale,
        n_resblocks=int(spec["blocks"]),
        n_feats=int(spec["channels"]),
        res_scale=float(spec["res_scale"]),
        denoise=(task == "denoise"),
    )


def _build_dncnn(spec: dict, scale: int, task: str) -> nn.Module:
    """DnCNN taking and returning 0..255 like EDSR (``pixel_range=255``; inside, the stack sees
    [0, 1] as in the DnCNN paper): on colour images (``image_channels: 3``, the default), or a
    grey network run on each colour channel (``image_channels: 1``); with BatchNorm, or folded
    (``batch_norm: false``, the form of KAIR's published weights)."""
    from patchmine.models.dncnn import ChannelwiseDnCNN, DnCNN

    size = dict(
        features=int(spec["channels"]),
        depth=int(spec["layers"]),
        batch_norm=bool(spec["batch_norm"]),
        pixel_range=255.0,
    )
    image_channels = int(spec["image_channels"])
    if image_channels == 1:
        return ChannelwiseDnCNN(**size)
    if image_channels != 3:
        raise ValueError(f"dncnn image_channels must be 1 or 3, got {image_channels}")
    return DnCNN(channels=3, **size)


def _build_oisr_rk2_s(spec: dict, scale: int, task: str) -> nn.Module:
    from patchmine.models.oisr import OISR_RK2

    return OISR_RK2(
        scale=scale,
        n_blocks=int(spec["blocks"]),
        n_feats=int(spec["channels"]),
        denoise=(task == "denoise"),
    )


_BUILDERS = {"edsr": _build_edsr, "oisr_rk2_s": _build_oisr_rk2_s, "dncnn": _build_dncnn}


def build_model(spec: dict, scale: int, task: str) -> nn.Module:
    """Build a network from a config dict such as
    ``{"arch": "edsr", "blocks": 16, "channels": 64, "res_scale": 1.0}``.

    ``task`` is ``"sr"`` (``scale`` is the upscaling factor) or ``"denoise"`` (``scale`` is
    ignored). Archs and their keys (missing ones take the default shown):

    * ``edsr``: ``blocks`` 16, ``channels`` 64, ``res_scale`` 1.0 (the EDSR baseline);
    * ``oisr_rk2_s``: ``blocks`` 8 (RK2 blocks of four convs), ``channels`` 64 (OISR-RK2-s as
      its authors' code builds it, 1,371,915 parameters at x2);
    * ``dncnn`` (task ``"denoise"`` only): ``channels`` 64 (features), ``layers`` 17 (convs),
      ``image_channels`` 3 (1: a grey network run on each colour channel), ``batch_norm``
      true (false: the folded form of KAIR's published weights).

    Every model takes and returns float NCHW RGB on 0..255. Unknown keys or archs, or an arch
    used for a task it does not do, raise ValueError.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    arch = spec.get("arch")
    if arch not in _BUILDERS:
        raise ValueError(f"unknown model arch {arch!r}; known: {sorted(_BUILDERS)}")
    unknown = misplaced_keys(spec)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in model spec for arch {arch!r}")
    if task not in ARCH_TASKS[arch]:
        raise ValueError(
            f"arch {arch!r} is built for {' or '.join(ARCH_TASKS[arch])} only, not {task!r}"
        )
    return _BUILDERS[arch]({"arch": arch, **ARCH_DEFAULTS[arch], **spec}, scale, task)


__all__ = [
    "ARCH_DEFAULTS",
    "ARCH_TASKS",
    "TASKS",
    "build_model",
    "count_parameters",
    "misplaced_keys",
]
