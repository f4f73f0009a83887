"""Training speed of the engine in patchmine.train, and what its data path costs.

Times EDSR baseline (16 blocks, 64 channels, x2, batch 16, HR patch 96) training steps two ways,
interleaved so that other load on the machine hits both alike:

* fixed: every step trains on one pre-made float batch (the model and optimizer alone);
* real:  every step draws its batch with ``PatchSampler`` from random uint8 patches held on the
  device, with flips/rotations on, as ``train()`` does.

The data overhead is real / fixed (target <= 1.05). The data path is also timed on its own.
Run: ``python benchmarks/bench_train.py`` (about 2.5 minutes on 2 CPU cores); on a GPU
``python benchmarks/bench_train.py --device cuda`` (bf16 autocast and channels_last by default).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np
import torch

from patchmine.models import build_model, count_parameters
from patchmine.sampler import PatchSampler
from patchmine.train import Recipe, Runtime, make_optimizer, prepare, train_step
from patchmine.workflow import pick_device


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, steps: int, device) -> float:
    """Seconds per call of ``fn(i)`` over ``steps`` calls, the device drained at both ends."""
    _sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        fn(i)
    _sync(device)
    return (time.perf_counter() - t0) / steps


def _patches(n: int, hr_size: int, scale: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    hr = rng.integers(0, 256, (n, hr_size, hr_size, 3), dtype=np.uint8)
    lr_size = hr_size // scale
    lr = rng.integers(0, 256, (n, lr_size, lr_size, 3), dtype=np.uint8)
    return lr, hr


def main() -> None:
    args = _parse()
    device = pick_device(args.device)
    cuda = torch.device(device).type == "cuda"
    steps = args.steps or (200 if cuda else 6)
    block = args.block or (20 if cuda else 1)
    runtime = Runtime.from_config(
        {"amp": args.amp, "channels_last": args.channels_last, "compile": args.compile}
    ).resolve(device)

    torch.manual_seed(0)
    spec = {"arch": "edsr", "blocks": args.blocks, "channels": args.channels}
    model = build_model(spec, scale=args.scale, task="sr")
    net = prepare(model, runtime, device)
    optimizer = make_optimizer(model, Recipe(iterations=1, batch_size=args.batch), device)
    lr, hr = _patches(args.patches, args.patch, args.scale)
    sampler = PatchSampler(lr, hr, args.batch, True, 0, device, runtime.memory_format)
    fixed = sampler.batch(0)

    def fixed_step(_):
        train_step(net, optimizer, *fixed, runtime)

    iteration = itertools.count()  # the real path walks on through the epochs, like train()

    def real_step(_):
        train_step(net, optimizer, *sampler.batch(next(iteration)), runtime)

    _timed(fixed_step, args.warmup, device)
    _timed(real_step, args.warmup, device)
    t_fixed, t_real = [], []
    for _ in range(max(1, steps // block)):
        t_fixed.append(_timed(fixed_step, block, device))
        t_real.append(_timed(real_step, block, device))
    t_data = _timed(lambda _: sampler.batch(next(iteration)), args.data_steps, device)
    _report(args, device, runtime, model, t_fixed, t_real, t_data)


def _report(args, device, runtime, model, t_fixed, t_real, t_data) -> None:
    fixed, real = statistics.median(t_fixed), statistics.median(t_real)
    print(
        f"EDSR {args.blocks}x{args.channels} x{args.scale} ({count_parameters(model):,} params), "
        f"batch {args.batch}, HR patch {args.patch}, {args.patches} patches on {device}, "
        f"amp={runtime.amp} channels_last={runtime.channels_last} compile={runtime.compile}, "
        f"threads={torch.get_num_threads()}, {len(t_fixed)} rounds"
    )
    print(f"{'path':<28}{'s/step (median)':>16}{'it/s':>10}")
    for name, t in (("fixed batch", fixed), ("real data path", real)):
        print(f"{name:<28}{t:>16.4f}{1 / t:>10.2f}")
    print(f"{'data path alone (batch())':<28}{t_data:>16.6f}")
    ratios = [r / f for r, f in zip(t_real, t_fixed, strict=True)]
    print(
        f"data overhead (real / fixed): median of rounds {statistics.median(ratios):.3f}, "
        f"totals {sum(t_real) / sum(t_fixed):.3f}, from the parts {(fixed + t_data) / fixed:.4f}"
    )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument(
        "--steps", type=int, default=0, help="timed steps per path (6 CPU, 200 GPU)"
    )
    parser.add_argument(
        "--block", type=int, default=0, help="steps per timed round (1 CPU, 20 GPU)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per path first")
    parser.add_argument("--data-steps", type=int, default=200, help="batches to time the data path")
    parser.add_argument("--blocks", type=int, default=16)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=96, help="HR patch size")
    parser.add_argument("--patches", type=int, default=2000, help="patches held by the sampler")
    parser.add_argument("--amp", default="auto", type=_switch, help="auto, on, off")
    parser.add_argument("--channels-last", default="auto", type=_switch, help="auto, on, off")
    parser.add_argument("--compile", action="store_true")
    return parser.parse_args()


def _switch(value: str):
    return {"auto": "auto", "on": True, "off": False}[value]


if __name__ == "__main__":
    main()
