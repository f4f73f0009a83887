"""Throughput of the ``loss`` criterion: patches scored per second by ``criteria.mse_loss``.

EDSR baseline x2 (16 blocks, 64 channels) scores random uint8 96x96 HR patches from their 48x48
LR patches, in batches of ``--batch-size``, the way the score_loss rule does (numpy patches in,
float64 scores out), in fp32 as the rule runs it; ``--dtype bf16`` shows what bf16 would gain.
Run: ``python benchmarks/bench_loss_scoring.py`` (about a minute on 2 CPU cores);
``python benchmarks/bench_loss_scoring.py --device cuda --batch-size 256`` on a GPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from patchmine.criteria import mse_loss
from patchmine.models import build_model
from patchmine.workflow import pick_device

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


def main() -> None:
    args = _parse()
    device = pick_device(args.device)
    cuda = torch.device(device).type == "cuda"
    dtype = DTYPES[args.dtype]
    n = args.patches or (20000 if cuda else 96)
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (n, args.patch, args.patch, 3), dtype=np.uint8)
    small = args.patch // args.scale
    lr = rng.integers(0, 256, (n, small, small, 3), dtype=np.uint8)

    torch.manual_seed(0)
    spec = {"arch": "edsr", "blocks": args.blocks, "channels": args.channels}
    model = build_model(spec, scale=args.scale, task="sr").to(device=device, dtype=dtype).eval()
    if cuda:
        torch.backends.cudnn.benchmark = True
    warm = min(n, args.batch_size)
    mse_loss(hr[:warm], lr[:warm], model, batch_size=args.batch_size)  # autotuning, allocations

    t0 = time.perf_counter()
    scores = mse_loss(hr, lr, model, batch_size=args.batch_size)
    seconds = time.perf_counter() - t0  # mse_loss returns numpy: the device is drained already
    assert np.isfinite(scores).all()
    print(
        f"EDSR {args.blocks}x{args.channels} x{args.scale}, {dtype}, {device}, "
        f"threads={torch.get_num_threads()}: {n} patches ({args.patch}x{args.patch} HR) "
        f"in batches of {args.batch_size}"
    )
    print(f"{'seconds':>10}{'patches/s':>12}{'ms/patch':>10}")
    print(f"{seconds:>10.2f}{n / seconds:>12.1f}{1e3 * seconds / n:>10.2f}")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--patches", type=int, default=0, help="patches scored (96 CPU, 20000 GPU)")
    parser.add_argument("--dtype", default="fp32", choices=list(DTYPES))
    parser.add_argument("--blocks", type=int, default=16)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--patch", type=int, default=96, help="HR patch size")
    return parser.parse_args()


if __name__ == "__main__":
    main()
