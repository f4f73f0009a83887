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


def _check_keys(spec: dict, known: set, arch: str) -> None:
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in model spec for arch {arch!r}")


def _build_dncnn(spec: dict, scale: int, task: str) -> nn.Module:
    """DnCNN taking and returning 0..255 like EDSR (``pixel_range=255``; inside, the stack sees
    [0, 1] as in the DnCNN paper): on colour images (``image_channels: 3``, the default), or a
    grey network run on each colour channel (``image_channels: 1``); with BatchNorm, or folded
    (``batch_norm: false``, the form of KAIR's published weights)."""
    from patchmine.models.dncnn import ChannelwiseDnCNN, DnCNN

    _check_keys(spec, {"arch", "channels", "layers", "image_channels", "batch_norm"}, "dncnn")
    if task != "denoise":
        raise ValueError(f"arch 'dncnn' is a denoiser; task {task!r} is not supported")
    size = dict(
        features=int(spec.get("channels", 64)),
        depth=int(spec.get("layers", 17)),
        batch_norm=bool(spec.get("batch_norm", True)),
        pixel_range=255.0,
    )
    image_channels = int(spec.get("image_channels", 3))
    if image_channels == 1:
        return ChannelwiseDnCNN(**size)
    if image_channels != 3:
        raise ValueError(f"dncnn image_channels must be 1 or 3, got {image_channels}")
    return DnCNN(channels=3, **size)


def _build_oisr_rk2_s(spec: dict, scale: int, task: str) -> nn.Module:
    from patchmine.models.oisr import OISR_RK2

    _check_keys(spec, {"arch", "blocks", "channels"}, "oisr_rk2_s")
    return OISR_RK2(
        scale=scale,
        n_blocks=int(spec.get("blocks", 16)),
        n_feats=int(spec.get("channels", 64)),
        denoise=(task == "denoise"),
    )


_BUILDERS = {"edsr": _build_edsr, "dncnn": _build_dncnn, "oisr_rk2_s": _build_oisr_rk2_s}


def build_model(spec: dict, scale: int, task: str) -> nn.Module:
    """Build a network from a config dict such as
    ``{"arch": "edsr", "blocks": 16, "channels": 64, "res_scale": 1.0}``.

    ``task`` is ``"sr"`` (``scale`` is the upscaling factor) or ``"denoise"`` (``scale`` is
    ignored). Archs and their keys (missing ones take the default shown):

    * ``edsr``: ``blocks`` 16, ``channels`` 64, ``res_scale`` 1.0 (the EDSR baseline);
    * ``oisr_rk2_s``: ``blocks`` 16, ``channels`` 64 (OISR-RK2-s, 1,371,939 parameters at x2);
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
    return _BUILDERS[arch](spec, scale, task)


__all__ = ["TASKS", "build_model", "count_parameters"]
