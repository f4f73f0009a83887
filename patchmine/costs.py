"""What a network costs to train and to run: time and host memory from its size, the data's size
and the device, with every constant and where it comes from.

Apart from the rules that ask for it (:mod:`patchmine.resources`), because an added arch is
costed here and nowhere else (:data:`COSTED_ARCHS`), and the numbers are pure functions of
numbers, tested against the real networks.

* **Work.** A network's cost is its multiply-accumulates per low-resolution pixel
  (:func:`model_macs`: 9·C² per 3x3 conv between C-channel maps, i.e. about its parameter count;
  the EDSR baseline at x2 has 1.37 M). A training step costs 6 MACs-worth of FLOPs per MAC
  (forward, backward for activations and weights) over ``batch · (patch/s)²`` pixels; validation
  and evaluation one forward pass over the images' LR pixels. Time = work / throughput + a fixed
  overhead per step and per job, times :data:`SAFETY`, at least :data:`MIN_RUNTIME` minutes.
* **Memory.** Python with torch and the Snakemake job process, the CUDA context on GPU jobs, the
  training patches held in memory (``K · (P² + (P/s)²) · 3`` bytes), a training run's validation
  set (:func:`validation_mb`), and on CPU jobs the activations a step keeps for its backward pass
  or the largest image's feature maps.

Every figure is that of a first attempt, grown for later ones by :mod:`patchmine.attempts`.
"""

from __future__ import annotations

import math

from patchmine.attempts import grow, grow_memory
from patchmine.models import ARCH_DEFAULTS

#: Margin on every estimate of time and memory.
SAFETY = 1.5
#: No job asks for less (minutes; queues round short jobs up anyway).
MIN_RUNTIME = 10
#: Effective training/inference throughput, FLOP/s. CPU: per thread, a third of the 30 GFLOP/s one
#: core of the 2-core development VM reaches on EDSR-baseline steps (fp32, MKL-DNN). GPU: a
#: conservative fp32 figure for the EDSR baseline's small 3x3 convs on a V100/A100-class card (bf16
#: autocast on newer cards is several times faster; the runtime limit is only an upper bound).
CPU_FLOPS = 1.0e10
GPU_FLOPS = 2.0e12
#: Fixed cost of one training step (kernel launches, optimizer, batch gathering), seconds.
STEP_OVERHEAD = {"cpu": 0.02, "gpu": 0.005}
#: Starting a job: the Snakemake job process, importing torch, reading inputs (minutes).
STARTUP = 3
#: Resident memory of a job before its data (MB): Python with numpy, torch, h5py, pandas and the
#: Snakemake process that runs the rule inside the job; a CUDA context adds GPU_HOST_MB on the host.
BASE_MB = 1500
GPU_HOST_MB = 2500

MB = 1024 * 1024

#: Archs whose cost :func:`model_macs` and :func:`saved_maps` know; SLURM time and memory of
#: another's jobs would be guesses, so it is refused (an added arch goes here and in both).
COSTED_ARCHS = ("edsr", "oisr_rk2_s", "dncnn")
#: 3x3 convs between ``channels`` maps in one body block of each blocked arch.
CONVS_PER_BLOCK = {"edsr": 2, "oisr_rk2_s": 4}
#: Feature maps one body block keeps for the backward pass: EDSR's conv inputs (its ReLU works
#: in place); OISR's conv and PReLU inputs of both evaluations and the sum its step scales.
MAPS_SAVED_PER_BLOCK = {"edsr": 2, "oisr_rk2_s": 9}


def model_runs(model: dict) -> int:
    """Forward passes of the network per colour image: 3 for a grey network (``image_channels:
    1``, such as KAIR's DnCNN, run on each colour channel as a batch of grey images), else 1."""
    return 3 if int(_filled(model).get("image_channels", 3)) == 1 else 1


def _filled(model: dict) -> dict:
    """A model entry of a known arch with the arch's defaults (``models.ARCH_DEFAULTS``) for
    what it leaves out."""
    return {**ARCH_DEFAULTS[model.get("arch", "edsr")], **model}


def _sized_arch(model: dict) -> str:
    """The model's arch, refused with the files to edit when no cost model covers it."""
    arch = model.get("arch", "edsr")
    if arch not in COSTED_ARCHS:
        raise ValueError(
            f"no cost model for arch {arch!r}: add it to patchmine.costs.COSTED_ARCHS, "
            "with its multiply-accumulates per pixel in model_macs and its saved feature maps "
            "in saved_maps, or its jobs' SLURM time and memory would be guessed"
        )
    return arch


def model_macs(model: dict, scale: int) -> float:
    """Multiply-accumulates of one forward pass per input pixel (per LR pixel for SR).

    ``blocks`` blocks of 3x3 convs between ``channels`` maps (two per EDSR residual block, four
    per OISR RK2 block), a head, a body-end conv and the upsampler (9·C²·s²) for EDSR and OISR;
    ``layers`` convs for DnCNN, between ``image_channels`` and C maps at the ends, times
    :func:`model_runs` (a grey DnCNN runs once per colour channel of an RGB image).
    """
    arch = _sized_arch(model)
    spec = _filled(model)
    c = int(spec["channels"])
    if arch == "dncnn":
        layers, image_channels = int(spec["layers"]), int(spec["image_channels"])
        once = 9.0 * (c * c * max(layers - 2, 0) + 2 * image_channels * c)
        return model_runs(model) * once
    body_convs = int(spec["blocks"]) * CONVS_PER_BLOCK[arch] + 1
    upsampler = 9.0 * c * c * scale * scale if scale > 1 else 0.0
    return 9.0 * c * c * body_convs + upsampler + 9.0 * 3 * c * (1 + scale * scale)


def _flops_per_second(on_gpu: bool, threads: int) -> float:
    return GPU_FLOPS if on_gpu else CPU_FLOPS * max(1, threads)


def runtime_for(seconds: float, attempt: int) -> int:
    """Minutes a job asks for to compute ``seconds`` of work: with its start-up and the margin,
    at least :data:`MIN_RUNTIME`, grown for ``attempt``."""
    return grow(max(MIN_RUNTIME, STARTUP + SAFETY * seconds / 60), attempt)


def mem_mb_for(mb: float, attempt: int, on_gpu: bool = False) -> int:
    """Memory a job asks for to hold ``mb`` of data: with the base process (and a CUDA context
    on the GPU) and the margin, grown for ``attempt``."""
    base = BASE_MB + (GPU_HOST_MB if on_gpu else 0)
    return grow_memory(base + SAFETY * mb, attempt)


def patch_bytes(patch: int, scale: int) -> int:
    """Bytes of one HR patch and its LR patch, uint8 RGB."""
    return 3 * (patch * patch + (patch // scale) ** 2)


def feature_mb(pixels: float, channels: int, maps: float) -> float:
    """MB of ``maps`` float32 feature maps of ``channels`` channels over ``pixels`` pixels."""
    return 4.0 * pixels * channels * maps / MB


def end_maps(scale: int) -> float:
    """Feature maps of ``channels`` x LR pixels at a network's ends, the upsampler's at s² the
    size: what a forward pass holds at once beside its body."""
    return 4 + 2 * scale * scale


def saved_maps(model: dict, scale: int) -> float:
    """Feature maps of ``channels`` x LR pixels that a training forward keeps for its backward
    pass: the body's (:data:`MAPS_SAVED_PER_BLOCK`; two per DnCNN layer) and :func:`end_maps`."""
    arch = _sized_arch(model)
    spec = _filled(model)
    if arch == "dncnn":
        body = 2 * int(spec["layers"])
    else:
        body = MAPS_SAVED_PER_BLOCK[arch] * int(spec["blocks"])
    return body + end_maps(scale)


def train_runtime(
    model: dict,
    scale: int,
    patch: int,
    batch: int,
    iterations: int,
    val_every: int,
    val_lr_pixels: float,
    *,
    on_gpu: bool,
    threads: int = 1,
    attempt: int = 1,
) -> int:
    """Minutes for a whole training run: steps, plus a validation every ``val_every`` steps."""
    macs = model_macs(model, scale)
    step = 6 * macs * batch * (patch // scale) ** 2
    validations = math.ceil(iterations / val_every)
    flops = iterations * step + validations * 2 * macs * val_lr_pixels
    overhead = iterations * STEP_OVERHEAD["gpu" if on_gpu else "cpu"]
    return runtime_for(flops / _flops_per_second(on_gpu, threads) + overhead, attempt)


def validation_mb(lr_pixels: float, scale: int, *, denoise: bool) -> float:
    """MB of the validation set a training run holds in memory from start to end.

    scripts/train.py loads every validation image once (:func:`patchmine.evaluate.task_pairs`):
    for SR each image's uint8 RGB HR (s² pixels per LR pixel) and LR, ``3 · (s² + 1)`` bytes per
    LR pixel; for denoising the clean uint8 image and its float32 noisy copy
    (:func:`patchmine.evaluate.noisy_pairs`), ``3 · (1 + 4) = 15`` bytes per pixel.

    ``lr_pixels`` is the set's total LR pixels, read from its ingest manifest (height and width
    of every image), a declared input of rule train: Snakemake evaluates resources again once a
    job's input exists, so a submitted job is sized on the real set; only planning before
    ingestion sees the stand-in (:data:`patchmine.input_sizes.DEFAULT_VAL_PIXELS`).
    """
    if denoise:
        return lr_pixels * 3 * (1 + 4) / MB
    return lr_pixels * 3 * (scale * scale + 1) / MB


def train_mem_mb(
    model: dict,
    scale: int,
    patch: int,
    batch: int,
    n_patches: int,
    max_val_lr_pixels: float,
    *,
    val_mb: float,
    on_gpu: bool,
    attempt: int = 1,
) -> int:
    """Host memory of a training run: the K patches (read once, kept), the validation set
    (``val_mb``, see :func:`validation_mb`), and on the CPU a step's saved activations and the
    largest validation image's feature maps."""
    c = int(_filled(model)["channels"])
    data = n_patches * patch_bytes(patch, scale) / MB + val_mb
    work = 0.0
    if not on_gpu:
        # forward maps kept for backward plus their gradients (see saved_maps)
        maps = 2 * saved_maps(model, scale)
        runs = model_runs(model)
        work = feature_mb(runs * batch * (patch // scale) ** 2, c, maps)
        work += feature_mb(runs * max_val_lr_pixels, c, end_maps(scale))
    return mem_mb_for(data + work, attempt, on_gpu)


def inference_runtime(
    model: dict,
    scale: int,
    lr_pixels: float,
    *,
    on_gpu: bool,
    threads: int = 1,
    attempt: int = 1,
) -> int:
    """Minutes for one forward pass over ``lr_pixels`` pixels (scoring patches, test images)."""
    flops = 2 * model_macs(model, scale) * lr_pixels
    return runtime_for(flops / _flops_per_second(on_gpu, threads), attempt)


def inference_mem_mb(
    model: dict, scale: int, max_lr_pixels: float, *, on_gpu: bool, attempt: int = 1
) -> int:
    """Host memory of a forward pass whose largest input has ``max_lr_pixels`` pixels."""
    c = int(_filled(model)["channels"])  # the arch's default where the entry leaves it out
    pixels = model_runs(model) * max_lr_pixels  # a grey net's batch holds each colour channel
    work = 0.0 if on_gpu else feature_mb(pixels, c, end_maps(scale))
    return mem_mb_for(work, attempt, on_gpu)
