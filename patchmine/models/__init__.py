"""Restoration networks, each in a short module of plain PyTorch."""

from __future__ import annotations

from torch import nn

TASKS = ("sr", "denoise")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters; with ``trainable_only`` only those with ``requires_grad``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _build_edsr(spec: dict, scale: int, task: str) -> nn.Module:
    from patchmine.models.edsr import EDSR

    known = {"arch", "blocks", "channels", "res_scale"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in model spec for arch 'edsr'")
    return EDSR(
        scale=scale,
        n_resblocks=int(spec.get("blocks", 16)),
        n_feats=int(spec.get("channels", 64)),
        res_scale=float(spec.get("res_scale", 1.0)),
        denoise=(task == "denoise"),
    )


_BUILDERS = {"edsr": _build_edsr}


def build_model(spec: dict, scale: int, task: str) -> nn.Module:
    """Build a network from a config dict such as
    ``{"arch": "edsr", "blocks": 16, "channels": 64, "res_scale": 1.0}``.

    ``task`` is ``"sr"`` (``scale`` is the upscaling factor) or ``"denoise"`` (``scale`` is
    ignored). Missing EDSR keys default to the baseline; unknown keys or archs raise ValueError.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    arch = spec.get("arch")
    if arch not in _BUILDERS:
        raise ValueError(f"unknown model arch {arch!r}; known: {sorted(_BUILDERS)}")
    return _BUILDERS[arch](spec, scale, task)


__all__ = ["TASKS", "build_model", "count_parameters"]
