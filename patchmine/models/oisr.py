"""OISR-RK2-s (He et al., CVPR 2019, "ODE-inspired network design for single image SR").

OISR reads a residual block ``y + G(y)`` as one forward-Euler step of ``dy/dt = G(y)`` and
replaces it by higher-order ODE solvers. The RK2 block is one step of a second-order Runge-Kutta
(Heun / improved Euler) scheme with two *different* learned evaluations ``G1``, ``G2`` of the
vector field::

    k1 = G1(y)                       G(y) = conv(PReLU(y))   (pre-activation: the increment
    k2 = G2(y + a * k1)                                       comes straight out of a conv, so it
    y' = y + b * (k1 + k2)                                    is signed, like EDSR's residual)

with learnable scalars ``a`` (initialised to 1) and ``b`` (initialised to 0.5), i.e. Heun's method
at initialisation. Each block holds two 3x3 convs, like an EDSR residual block, so the "-s"
(small) model is the EDSR baseline frame with its 16 residual blocks swapped for 16 RK2 blocks:

    sub_mean                fixed 1x1 conv (DIV2K mean, 0..255 range), as in EDSR
    head.0                  conv(3 -> F)
    body.0 .. body.{B-1}    RK2 blocks; keys body.i.act1 / conv1 / act2 / conv2 / a / b
    body.{B}                conv(F -> F), plus the global skip from the head output
    tail.0                  EDSR's sub-pixel upsampler (x2, x3, x4)
    tail.1                  conv(F -> 3)
    add_mean                fixed 1x1 conv

Parameters at x2 with B = 16, F = 64: the EDSR-baseline 1,369,859, plus 16 x (2 x 64 PReLU slopes
+ 2 scalars) = 2,080, i.e. **1,371,939** trainable (1.37 M, as listed for OISR-RK2-s in the
reproduced paper's Table IV). Input and output are float NCHW on 0..255, the EDSR
convention of this project.

What is uncertain (written from the paper's description, without its code at hand):

* the exact placement of the activation (pre-activation ``conv(PReLU(y))`` here; the published
  blocks use PReLU, per channel with slope 0.25 at start, but it may sit between two convs of one
  evaluation, in which case a block would hold four convs and the "-s" model 8 blocks; the
  parameter count is the same up to the number of PReLU slopes);
* whether the RK coefficients ``a``, ``b`` are learnable scalars, fixed, or initialised otherwise
  (e.g. a midpoint-style 0.5 / 1); ``learnable_coeffs=False`` fixes them to Heun's values;
* whether the global skip and mean shift match EDSR exactly (OISR's code is built on EDSR-PyTorch,
  so they most likely do).
None of these changes the count beyond the last significant digit of 1.37 M.
"""

from __future__ import annotations

import torch
from torch import nn

from patchmine.models.edsr import DIV2K_RGB_MEAN, EDSR, _conv


class RK2Block(nn.Module):
    """One second-order Runge-Kutta step ``y + b * (G1(y) + G2(y + a * G1(y)))``."""

    def __init__(self, n_feats: int, learnable_coeffs: bool = True):
        super().__init__()
        self.act1 = nn.PReLU(n_feats, init=0.25)
        self.conv1 = _conv(n_feats, n_feats)
        self.act2 = nn.PReLU(n_feats, init=0.25)
        self.conv2 = _conv(n_feats, n_feats)
        self.a = nn.Parameter(torch.tensor(1.0), requires_grad=learnable_coeffs)
        self.b = nn.Parameter(torch.tensor(0.5), requires_grad=learnable_coeffs)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        k1 = self.conv1(self.act1(y))
        k2 = self.conv2(self.act2(y + self.a * k1))
        return y + self.b * (k1 + k2)


class OISR_RK2(EDSR):
    """EDSR's frame with RK2 blocks; the defaults (16 blocks, 64 features) are "-s".

    ``denoise=True`` drops the upsampler and adds the input back, like ``EDSR(denoise=True)``.
    """

    def __init__(
        self,
        scale: int = 2,
        n_blocks: int = 16,
        n_feats: int = 64,
        rgb_range: float = 255,
        n_colors: int = 3,
        learnable_coeffs: bool = True,
        denoise: bool = False,
        rgb_mean=DIV2K_RGB_MEAN,
    ):
        super().__init__(
            scale=scale,
            n_resblocks=n_blocks,
            n_feats=n_feats,
            rgb_range=rgb_range,
            n_colors=n_colors,
            denoise=denoise,
            rgb_mean=rgb_mean,
            block=lambda features: RK2Block(features, learnable_coeffs),
        )
