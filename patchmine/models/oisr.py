"""OISR-RK2-s (He et al., CVPR 2019, "ODE-inspired network design for single image SR"), laid
out as the authors' code (CAS-CLab/OISR-PyTorch, ``RK2-s``), so their checkpoints load with
``strict=True``.

OISR reads a residual block ``y + G(y)`` as one forward-Euler step of ``dy/dt = G(y)`` and
replaces it by a higher-order solver. The RK2 block is one step of a second-order Runge-Kutta
(Heun) scheme with two *different* learned evaluations of the vector field::

    k1 = G1(y)                       G(t) = conv(PReLU(conv(PReLU(t))))   (pre-activation, so
    k2 = G2(y + k1)                                                        the increment is
    y' = y + s * (k1 + k2)                                                 signed)

with one learnable scalar ``s``, 0.5 at the start (Heun's method). A block holds four 3x3 convs,
twice an EDSR residual block, so the "-s" model is the EDSR baseline frame with its 16 residual
blocks swapped for 8 RK2 blocks (the authors' ``--n_resblocks 8``)::

    sub_mean                fixed 1x1 conv (DIV2K mean, 0..255 range), as in EDSR
    head.0                  conv(3 -> F)
    body.0 .. body.{B-1}    RK2 blocks: G1 = relu1, conv1, relu3, conv3; G2 = relu2, conv2,
                            relu4, conv4 (per-channel PReLUs, 0.25 at the start); scale1 = s
    body.{B}                conv(F -> F), plus the global skip from the head output
    tail.0                  EDSR's sub-pixel upsampler (x2, x3, x4)
    tail.1                  conv(F -> 3)
    add_mean                fixed 1x1 conv

Parameters at x2 with B = 8, F = 64: the EDSR-baseline 1,369,859 (the same 32 body convs), plus
8 x (4 x 64 PReLU slopes + 1 scalar) = 2,056, i.e. **1,371,915** trainable: the 1.37 M that the
reproduced paper's Table IV lists for OISR-RK2-s. (The authors' mean shifts are meant to be fixed
but their code leaves them trainable, 24 more: 1,371,939. Here they stay fixed, as in EDSR.)
Input and output are float NCHW on 0..255, the EDSR convention of this project.
"""

from __future__ import annotations

import torch
from torch import nn

from patchmine.models.edsr import DIV2K_RGB_MEAN, EDSR, _conv


class RK2Block(nn.Module):
    """One second-order Runge-Kutta step ``y + s * (G1(y) + G2(y + G1(y)))``."""

    def __init__(self, n_feats: int):
        super().__init__()
        # the authors' names, which their checkpoints' keys carry: G1 runs relu1, conv1, relu3,
        # conv3 and G2 relu2, conv2, relu4, conv4
        self.conv1, self.conv2, self.conv3, self.conv4 = (_conv(n_feats, n_feats) for _ in range(4))
        self.relu1, self.relu2, self.relu3, self.relu4 = (
            nn.PReLU(n_feats, init=0.25) for _ in range(4)
        )
        self.scale1 = nn.Parameter(torch.tensor([0.5]))

    def g1(self, y: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu3(self.conv1(self.relu1(y))))

    def g2(self, y: torch.Tensor) -> torch.Tensor:
        return self.conv4(self.relu4(self.conv2(self.relu2(y))))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        k1 = self.g1(y)
        return y + self.scale1 * (k1 + self.g2(y + k1))


class OISR_RK2(EDSR):
    """EDSR's frame with RK2 blocks; the defaults (8 blocks, 64 features) are "-s".

    ``denoise=True`` drops the upsampler and adds the input back, like ``EDSR(denoise=True)``.
    """

    def __init__(
        self,
        scale: int = 2,
        n_blocks: int = 8,
        n_feats: int = 64,
        rgb_range: float = 255,
        n_colors: int = 3,
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
            block=RK2Block,
        )
