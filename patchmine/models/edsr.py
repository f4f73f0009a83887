"""EDSR (Lim et al., CVPR-W 2017) with the state-dict layout of the published checkpoints.

Layout (``F = n_feats``, ``B = n_resblocks``; every conv is 3x3, padding 1, with bias)::

    sub_mean                  1x1 conv, fixed: x / std - rgb_range * mean / std
    head.0                    conv(n_colors -> F)
    body.0 .. body.{B-1}      residual blocks; each has body.0 conv(F->F), body.1 ReLU,
                              body.2 conv(F->F); out = x + res_scale * block(x)
    body.{B}                  conv(F -> F); its output is added to the head output (global skip)
    tail.0                    upsampler: for scale 2**m, m x [conv(F -> 4F), PixelShuffle(2)]
                              (convs at tail.0.0, tail.0.2, ...); for scale 3,
                              [conv(F -> 9F), PixelShuffle(3)]
    tail.1                    conv(F -> n_colors)
    add_mean                  1x1 conv, fixed: x * std + rgb_range * mean

so a published ``edsr_baseline_x{2,3,4}`` ``.pt`` loads with ``strict=True``.

Denoising variant (``denoise=True``, ``scale`` ignored): ``tail.0`` is an ``nn.Identity`` (no
parameters, hence no keys), so the remaining keys are exactly those of the SR model minus the
upsampler, with the final conv still at ``tail.1``. It learns a global residual:
``out = add_mean(sub_mean(x) + r) = x + r`` where ``r`` is the network's tail output.

Input and output are float NCHW on the 0..``rgb_range`` scale (255 for the published weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from patchmine.models.precision import in_fp32

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def _conv(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=True)


class MeanShift(nn.Conv2d):
    """Fixed 1x1 conv: ``sign = -1`` subtracts the dataset mean, ``sign = +1`` adds it back."""

    def __init__(self, rgb_range: float, rgb_mean, rgb_std=None, sign: int = -1):
        n = len(rgb_mean)
        super().__init__(n, n, kernel_size=1)
        std = torch.ones(n) if rgb_std is None else torch.as_tensor(rgb_std, dtype=torch.float32)
        mean = torch.as_tensor(rgb_mean, dtype=torch.float32)
        with torch.no_grad():
            self.weight.copy_(torch.eye(n).view(n, n, 1, 1) / std.view(n, 1, 1, 1))
            self.bias.copy_(sign * rgb_range * mean / std)
        for p in self.parameters():
            p.requires_grad = False


class ResBlock(nn.Module):
    """conv-ReLU-conv with a scaled identity skip; the layers live at ``body.0`` and ``body.2``."""

    def __init__(self, n_feats: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(
            _conv(n_feats, n_feats), nn.ReLU(inplace=True), _conv(n_feats, n_feats)
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


class Upsampler(nn.Sequential):
    """Sub-pixel upsampler: ``m`` x [conv(F, 4F), PixelShuffle(2)] for 2**m, else one stage.

    Powers of two and 3 follow EDSR (so published checkpoints load); any other integer scale gets
    a single conv(F, s*s*F) + PixelShuffle(s) stage, the same construction as EDSR's x3.
    """

    def __init__(self, scale: int, n_feats: int):
        layers: list[nn.Module] = []
        if scale >= 2 and scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [_conv(n_feats, 4 * n_feats), nn.PixelShuffle(2)]
        elif scale >= 2:
            layers += [_conv(n_feats, scale * scale * n_feats), nn.PixelShuffle(scale)]
        else:
            raise ValueError(f"EDSR upsampler needs an integer scale >= 2, got {scale}")
        super().__init__(*layers)


class EDSR(nn.Module):
    """Enhanced deep residual network for super-resolution (or denoising with ``denoise=True``).

    The baseline (16 blocks, 64 features, res_scale 1) at x2 has 1,369,859 trainable parameters.
    """

    def __init__(
        self,
        scale: int = 2,
        n_resblocks: int = 16,
        n_feats: int = 64,
        res_scale: float = 1.0,
        rgb_range: float = 255,
        n_colors: int = 3,
        denoise: bool = False,
        rgb_mean=DIV2K_RGB_MEAN,
        block: Callable[[int], nn.Module] | None = None,
    ):
        """``block(n_feats)`` builds one body block (default: EDSR's residual block); OISR swaps
        in its Runge-Kutta blocks and keeps everything else."""
        super().__init__()
        if n_resblocks < 0 or n_feats < 1:
            raise ValueError(f"bad network size: blocks={n_resblocks}, features={n_feats}")
        if len(rgb_mean) != n_colors:
            raise ValueError(f"rgb_mean has {len(rgb_mean)} values but n_colors={n_colors}")
        self.scale = 1 if denoise else int(scale)
        self.denoise = denoise
        self.rgb_range = rgb_range
        self.sub_mean = MeanShift(rgb_range, rgb_mean, sign=-1)
        self.add_mean = MeanShift(rgb_range, rgb_mean, sign=+1)
        self.head = nn.Sequential(_conv(n_colors, n_feats))
        block = block or (lambda features: ResBlock(features, res_scale))
        blocks: list[nn.Module] = [block(n_feats) for _ in range(n_resblocks)]
        self.body = nn.Sequential(*blocks, _conv(n_feats, n_feats))
        upsampler: nn.Module = nn.Identity() if denoise else Upsampler(self.scale, n_feats)
        self.tail = nn.Sequential(upsampler, _conv(n_feats, n_colors))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = in_fp32(self.sub_mean, x)  # the ends in fp32 under autocast (models.precision)
        h = self.head(x)
        upsampler, last = self.tail
        r = in_fp32(last, upsampler(self.body(h) + h))
        if self.denoise:
            r = r + x
        return in_fp32(self.add_mean, r)
