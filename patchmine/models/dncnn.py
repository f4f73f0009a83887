"""DnCNN (Zhang et al., IEEE TIP 2017): a plain conv stack that predicts the noise.

Layout (``F = features``, ``D = depth``, ``C = channels``; every conv is 3x3, padding 1), all in one
``nn.Sequential`` called ``model``, so keys are ``model.<index>.*``::

    trainable form (batch_norm=True)            folded form (batch_norm=False)
    model.0  conv(C -> F), bias                 model.0  conv(C -> F), bias
    model.1  ReLU                               model.1  ReLU
    model.2  conv(F -> F), no bias              model.2  conv(F -> F), bias
    model.3  BatchNorm2d(F)                     model.3  ReLU
    model.4  ReLU                               ...      (D - 2) x [conv, ReLU]
    ...      (D - 2) x [conv, BN, ReLU]         model.{2D-2}  conv(F -> C), bias
    model.{3D-4}  conv(F -> C), bias

The middle convs of the trainable form have no bias because the following BatchNorm's shift would
make it redundant. ``fold_batch_norm()`` turns a trainable model (in eval mode, i.e. with running
statistics) into the folded form, which computes the same function; that is the form of the
published KAIR checkpoint ``dncnn_25.pth`` (17 convs at ``model.{0,2,...,32}``, 555,137
parameters), which ``load_published_dncnn`` loads with ``strict=True``.

Residual learning: the stack ``R`` estimates the noise and ``forward`` returns ``x - R(x)``.

Pixel range. The published weights were trained on [0, 1] images (noise sigma 25/255 on that
scale), whereas this project's EDSR works on 0..255. ``pixel_range`` (no parameters, so it does
not change the state dict) says which scale ``forward`` receives and returns: the stack always
sees ``x / pixel_range``, i.e. [0, 1] data, and the output is scaled back, so
``DnCNN(pixel_range=255)`` drops into the 0..255 pipeline (``build_model`` does that) while
``pixel_range=1`` (the default, used by ``load_published_dncnn``) matches the published protocol.
The output is not clipped; clip it (and round, for uint8) before computing PSNR.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from patchmine.models.precision import in_fp32

PUBLISHED_SHA256 = "0451a70de9b672ae037270498fbb1c17a1c1c4403785df586ff65df5b858e5b0"


def _conv(in_ch: int, out_ch: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=bias)


class DnCNN(nn.Module):
    """Denoiser: ``out = x - R(x)`` with ``R`` a ``depth``-conv stack of width ``features``.

    ``channels`` is 1 for grey and 3 for colour images. DnCNN-S (the paper's sigma-specific grey
    model) is ``DnCNN(channels=1)``: with BatchNorm it has 556,097 trainable parameters, folded
    555,137. Input and output are float NCHW on 0..``pixel_range`` (see the module docstring).
    """

    def __init__(
        self,
        channels: int = 1,
        features: int = 64,
        depth: int = 17,
        batch_norm: bool = True,
        pixel_range: float = 1.0,
    ):
        super().__init__()
        if depth < 2 or features < 1 or channels < 1:
            raise ValueError(
                f"bad DnCNN size: channels={channels}, features={features}, depth={depth} "
                "(depth counts convs and must be >= 2)"
            )
        if pixel_range <= 0:
            raise ValueError(f"pixel_range must be positive, got {pixel_range}")
        self.channels, self.features, self.depth = channels, features, depth
        self.batch_norm = batch_norm
        self.pixel_range = float(pixel_range)
        layers: list[nn.Module] = [_conv(channels, features), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            if batch_norm:
                layers += [_conv(features, features, bias=False), nn.BatchNorm2d(features)]
            else:
                layers += [_conv(features, features)]
            layers += [nn.ReLU(inplace=True)]
        layers += [_conv(features, channels)]
        self.model = nn.Sequential(*layers)

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """The stack's estimate of the noise, on the same scale as ``x`` (its last conv in fp32
        under autocast: see ``models.precision``)."""
        *body, last = self.model
        h = x / self.pixel_range
        for layer in body:
            h = layer(h)
        return in_fp32(last, h) * self.pixel_range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.noise(x)

    @torch.no_grad()
    def fold_batch_norm(self) -> DnCNN:
        """A BN-free copy computing what this model computes in eval mode.

        Eval-mode BN is the affine map ``g * (y - mu) / sqrt(var + eps) + b`` per channel, so it is
        absorbed into the preceding conv: weight scaled by ``s = g / sqrt(var + eps)`` per output
        channel and bias ``b - s * mu`` (the conv has none of its own). A model without BN is
        returned as a copy.
        """
        folded = DnCNN(self.channels, self.features, self.depth, False, self.pixel_range)
        src = list(self.model)
        dst = [m for m in folded.model if isinstance(m, nn.Conv2d)]
        convs = [(i, m) for i, m in enumerate(src) if isinstance(m, nn.Conv2d)]
        for (i, conv), out in zip(convs, dst, strict=True):
            bn = src[i + 1] if i + 1 < len(src) else None
            weight = conv.weight
            bias = conv.bias if conv.bias is not None else torch.zeros_like(out.bias)
            if isinstance(bn, nn.BatchNorm2d):
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                weight = weight * scale.view(-1, 1, 1, 1)
                bias = bn.bias + scale * (bias - bn.running_mean)
            out.weight.copy_(weight)
            out.bias.copy_(bias)
        return folded.to(self.model[0].weight.device).eval()


class ChannelwiseDnCNN(DnCNN):
    """A grey DnCNN (``channels=1``) applied to each channel of a colour image on its own, so
    that a published grey model (KAIR's DnCNN-S) denoises RGB patches. Same state dict as
    ``DnCNN(channels=1)``: the published weights load with ``strict=True``."""

    def __init__(self, features: int = 64, depth: int = 17, batch_norm: bool = True, **kw):
        super().__init__(channels=1, features=features, depth=depth, batch_norm=batch_norm, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return super().forward(x.reshape(n * c, 1, h, w)).reshape(n, c, h, w)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_published_dncnn(
    path: str | Path, sha256: str | None = PUBLISHED_SHA256, pixel_range: float = 1.0
) -> DnCNN:
    """Load the published BN-folded DnCNN (KAIR ``dncnn_25.pth``) into a ``DnCNN``, eval mode.

    The file is checked against ``sha256`` first (pass ``None`` to skip, e.g. for another
    folded checkpoint of the same layout); the size (image channels, width, depth) is read from
    the tensors, and the state dict must then match exactly (``strict=True``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DnCNN weights not found: {path}")
    if sha256 is not None:
        got = sha256_of(path)
        if got != sha256:
            raise ValueError(
                f"{path}: sha256 {got} does not match the published DnCNN weights ({sha256}); "
                "the file is corrupt or a different checkpoint"
            )
    state = torch.load(path, map_location="cpu", weights_only=True)
    weights = [k for k in state if k.startswith("model.") and k.endswith(".weight")]
    if not weights or "model.0.weight" not in state:
        raise ValueError(f"{path}: no DnCNN keys model.<i>.weight in the state dict")
    first = state["model.0.weight"]
    model = DnCNN(
        channels=first.shape[1],
        features=first.shape[0],
        depth=len(weights),
        batch_norm=False,
        pixel_range=pixel_range,
    )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: not a BN-folded DnCNN state dict: {err}") from err
    return model.eval()
