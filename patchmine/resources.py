"""What each job asks a cluster for, derived from what it computes, and grown on every retry.

The names are those of Snakemake's SLURM executor plugin: ``gpu`` (becomes ``--gpus``),
``cpus_per_task``, ``mem_mb`` and ``runtime`` (minutes). Only the rules that run a network
(``train``, ``score_loss``, ``evaluate``, ``evaluate_published``) ask for a GPU, and only when the
config's ``device`` is not ``cpu``; partition, account and GPU model belong to the profile, never
to a rule.

How the numbers come about (every constant is below, with where it comes from):

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
* **Retries.** Each attempt asks for :data:`GROWTH` (1.5) times the memory and runtime of the
  attempt before: attempt 1 x1, 2 x1.5, 3 x2.25, … A job killed for running out of time or
  memory is resubmitted bigger; a training job also resumes from its last checkpoint (no other
  rule does: see :data:`RESUMING_RULES` and :data:`MAX_RUNTIME_ENV`). Memory stops growing at
  attempt :data:`MEMORY_GROWTH_ATTEMPTS`: a training run cut off by a partition's time limit
  spends an attempt each time without needing more memory, and the tenth attempt would ask for
  38 times the estimate, more than any node has.

The pure functions take numbers; :func:`job_mem_mb`, :func:`job_runtime` and :func:`job_cpus`
turn a job's wildcards, input files and attempt into those numbers for the rules' ``resources:``.
Input files are read when they exist (Snakemake evaluates resources again once a job's input is
complete, before it submits it); before that, the typical sizes below stand in.
"""

from __future__ import annotations

import csv
import functools
import logging
import math
import os
from collections.abc import Callable

from patchmine.grid import scorer_model
from patchmine.models import ARCH_DEFAULTS
from patchmine.tasks import Task

log = logging.getLogger(__name__)

#: Each retry multiplies memory and runtime by this (attempt n asks GROWTH ** (n - 1) times).
GROWTH = 1.5
#: The last attempt whose memory grows (x2.25 the first); later attempts ask for the same.
MEMORY_GROWTH_ATTEMPTS = 3
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
#: Upper bound on any request (minutes): set PATCHMINE_MAX_RUNTIME to the partition's MaxTime.
#: A training run that needs longer times out, and its next attempt resumes from its checkpoint;
#: any other job that needs longer times out on every attempt, each starting again from zero.
MAX_RUNTIME_ENV = "PATCHMINE_MAX_RUNTIME"
#: Rules whose next attempt resumes where a timed-out one stopped (scripts/train.py's checkpoint).
RESUMING_RULES = ("train",)
#: Attempts assumed when no running workflow says how many it gives (:func:`use_workflow` not
#: called, e.g. outside Snakemake): those of profiles/slurm (``retries: 2``).
PROFILE_ATTEMPTS = 3
#: Stand-ins while a job's input does not exist yet (only used for planning, never submitted):
#: a DIV2K-sized store (151,300 patches), validation set (10 DIV2K images) and test set.
DEFAULT_PATCHES = 151_300
DEFAULT_IMAGE_PIXELS = 2040 * 1356
DEFAULT_VAL_PIXELS = 10 * DEFAULT_IMAGE_PIXELS
DEFAULT_TEST_PIXELS = 100 * 1024 * 768

GPU_RULES = ("train", "score_loss", "evaluate", "evaluate_published")

MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Pure functions of a job's parameters


def grow(value: float, attempt: int, step: int = 1) -> int:
    """``value`` scaled by GROWTH per retry, rounded up to a multiple of ``step``."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    scaled = value * GROWTH ** (attempt - 1)
    return int(math.ceil(scaled / step - 1e-9) * step)


def grow_memory(mb: float, attempt: int) -> int:
    """``mb`` grown like :func:`grow` up to attempt :data:`MEMORY_GROWTH_ATTEMPTS`, in steps of
    100 MB."""
    return grow(mb, min(attempt, MEMORY_GROWTH_ATTEMPTS), step=100)


def gpus(device: str) -> int:
    """GPUs a network job asks for: none when the config runs everything on the CPU."""
    return 0 if device == "cpu" else 1


def model_runs(model: dict) -> int:
    """Forward passes of the network per colour image: 3 for a grey network (``image_channels:
    1``, such as KAIR's DnCNN, run on each colour channel as a batch of grey images), else 1."""
    return 3 if int(_filled(model).get("image_channels", 3)) == 1 else 1


def _filled(model: dict) -> dict:
    """A model entry of a known arch with the arch's defaults (``models.ARCH_DEFAULTS``) for
    what it leaves out."""
    return {**ARCH_DEFAULTS[model.get("arch", "edsr")], **model}


#: Archs whose cost :func:`model_macs` and :func:`saved_maps` know; SLURM time and memory of
#: another's jobs would be guesses, so it is refused (an added arch goes here and in both).
COSTED_ARCHS = ("edsr", "oisr_rk2_s", "dncnn")
#: 3x3 convs between ``channels`` maps in one body block of each blocked arch.
CONVS_PER_BLOCK = {"edsr": 2, "oisr_rk2_s": 4}
#: Feature maps one body block keeps for the backward pass: EDSR's conv inputs (its ReLU works
#: in place); OISR's conv and PReLU inputs of both evaluations and the sum its step scales.
MAPS_SAVED_PER_BLOCK = {"edsr": 2, "oisr_rk2_s": 9}


def _sized_arch(model: dict) -> str:
    """The model's arch, refused with the files to edit when no cost model covers it."""
    arch = model.get("arch", "edsr")
    if arch not in COSTED_ARCHS:
        raise ValueError(
            f"no cost model for arch {arch!r}: add it to patchmine.resources.COSTED_ARCHS, "
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


def _minutes(seconds: float, attempt: int) -> int:
    return grow(max(MIN_RUNTIME, STARTUP + SAFETY * seconds / 60), attempt)


def _megabytes(mb: float, attempt: int, on_gpu: bool = False) -> int:
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
    return _minutes(flops / _flops_per_second(on_gpu, threads) + overhead, attempt)


def validation_mb(lr_pixels: float, scale: int, *, denoise: bool) -> float:
    """MB of the validation set a training run holds in memory from start to end.

    scripts/train.py loads every validation image once (:func:`patchmine.evaluate.task_pairs`):
    for SR each image's uint8 RGB HR (s² pixels per LR pixel) and LR, ``3 · (s² + 1)`` bytes per
    LR pixel; for denoising the clean uint8 image and its float32 noisy copy
    (:func:`patchmine.evaluate.noisy_pairs`), ``3 · (1 + 4) = 15`` bytes per pixel.

    ``lr_pixels`` is the set's total LR pixels, read from its ingest manifest (height and width
    of every image), a declared input of rule train: Snakemake evaluates resources again once a
    job's input exists, so a submitted job is sized on the real set; only planning before
    ingestion sees the stand-in (:data:`DEFAULT_VAL_PIXELS`).
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
    return _megabytes(data + work, attempt, on_gpu)


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
    return _minutes(flops / _flops_per_second(on_gpu, threads), attempt)


def inference_mem_mb(
    model: dict, scale: int, max_lr_pixels: float, *, on_gpu: bool, attempt: int = 1
) -> int:
    """Host memory of a forward pass whose largest input has ``max_lr_pixels`` pixels."""
    c = int(model.get("channels", 64))
    pixels = model_runs(model) * max_lr_pixels  # a grey net's batch holds each colour channel
    work = 0.0 if on_gpu else feature_mb(pixels, c, end_maps(scale))
    return _megabytes(work, attempt, on_gpu)


#: Rules that run no network: (MB per thread beyond the base, minutes per GB of data they read,
#: minutes at least before retries). Their data is what they read: the patch store for scoring
#: and selection, nothing known in advance for ingestion and downloads.
CPU_RULES = {
    "download": (0, 0.0, 120),  # DIV2K_train_HR.zip is 3.5 GB: an hour even at 1 MB/s
    "extract": (0, 1.0, 30),
    "ingest": (500, 0.0, 30),  # PNG decode + MATLAB bicubic per worker
    # one image per worker: ~85 MB measured with DIV2K's images (a 12-megapixel photograph's
    # LR x2/x3/x4 took 47 MB more); 300 leaves room for photographs of ~30 megapixels
    "patch_store": (300, 0.0, 60),
    # grad/std/freq in batches over the whole store: 0.42 GB measured in all at 10K and 40K
    # patches, whether with 1 or 4 FFT workers
    "score_statistics": (100, 2.0, 10),
    "score_extra": (100, 2.0, 10),  # one statistic beyond the paper's, the same way
    "score_rand": (0, 0.0, 10),
    "select": (0, 0.5, 10),
    "mine": (0, 2.0, 10),  # reads the kept patches, writes them as HDF5 and PNG
    "histograms": (0, 1.0, 10),
    # a whole test set in memory as evaluate holds it: Urban100's HR and LR x2 take 0.3 GB, its
    # float32 noisy copies for denoising 0.9 GB more
    "reference": (1000, 0.0, 10),
}
#: Any other rule (tables, figures, report pages): light work on small files.
LIGHT = (0, 0.5, 10)
#: Rules whose workers each decode and resize one source image at a time, and the memory that
#: takes per pixel of it (bytes): 3.3 GB measured for a 20,000 x 20,000 PNG cut with LR x2
#: (the uint8 image and the bicubic resize's float passes). Their per-thread memory grows past
#: CPU_RULES' when a job's largest image needs it.
IMAGE_RULES = ("ingest", "patch_store")
IMAGE_WORKER_BYTES_PER_PIXEL = 8.5


def cpu_runtime(rule: str, data_mb: float, attempt: int = 1) -> int:
    _, per_gb, floor = CPU_RULES.get(rule, LIGHT)
    return grow(max(floor, STARTUP + SAFETY * per_gb * data_mb / 1024), attempt)


def cpu_mem_mb(rule: str, threads: int, attempt: int = 1, largest_pixels: float = 0) -> int:
    """Memory of a rule without a network: the base, and per thread its CPU_RULES figure, or for
    an image rule what its ``largest_pixels`` image takes, if more."""
    per_thread, _, _ = CPU_RULES.get(rule, LIGHT)
    if rule in IMAGE_RULES:
        per_thread = max(per_thread, IMAGE_WORKER_BYTES_PER_PIXEL * largest_pixels / MB)
    return grow_memory(BASE_MB + per_thread * max(1, threads), attempt)


# ---------------------------------------------------------------------------------------------
# What a job's files say (None when they do not exist yet)


def store_patches(path) -> int | None:
    """Number of patches in a patch store."""
    if not path or not os.path.exists(path):
        return None
    stat = os.stat(path)
    return _store_patches(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _store_patches(path: str, mtime_ns: int, size: int) -> int:
    from patchmine.store import open_store

    with open_store(path) as f:
        return int(f["hr"].shape[0])


def set_pixels(path, scale: int, stand_in: float) -> tuple[float, float]:
    """(total, largest) LR pixels of an ingested set (:func:`manifest_pixels`), or while its
    manifest does not exist, of a stand-in set of ``stand_in`` HR pixels and DIV2K-sized images."""
    return manifest_pixels(path, scale) or (
        stand_in / scale**2,
        DEFAULT_IMAGE_PIXELS / scale**2,
    )


def manifest_pixels(path, scale: int) -> tuple[float, float] | None:
    """(total, largest) LR pixels of the images an ingest manifest lists."""
    if not path or not os.path.exists(path):
        return None
    with open(path, newline="") as handle:
        pixels = [int(r["height"]) * int(r["width"]) / scale**2 for r in csv.DictReader(handle)]
    return (sum(pixels), max(pixels)) if pixels else (0.0, 0.0)


#: Pixels of the largest image of each dataset read from a folder, noted while planning from
#: the headers that the check of every image reads (rules/common.smk, :func:`note_largest_image`).
_LARGEST_IMAGE: dict[str, int] = {}


def note_largest_image(dataset: str, pixels: int) -> None:
    """Record the pixels of ``dataset``'s largest image, which each worker of its image rules
    (:data:`IMAGE_RULES`) may hold at once."""
    _LARGEST_IMAGE[dataset] = int(pixels)


def file_mb(path) -> float:
    return os.path.getsize(path) / MB if path and os.path.exists(path) else 0.0


def k_patches(k: str, n_store: int | None) -> int:
    """Patches a K label selects: a count, a fraction of the store, or all of it."""
    n = DEFAULT_PATCHES if n_store is None else n_store
    if k == "all":
        return n
    if "." in k:
        return max(1, round(float(k) * n))
    return min(int(k), n) if n_store is not None else int(k)


# ---------------------------------------------------------------------------------------------
# The rules' resources: callables Snakemake evaluates per job (wildcards, input, threads, attempt)


def job_cpus(wildcards, threads) -> int:
    """CPUs of a job: its Snakemake threads, so SLURM gives every thread a core."""
    return max(1, int(threads))


def _model_job(rule: str, config: dict, w, input, threads: int, attempt: int) -> dict:
    """mem_mb and runtime of a job that runs a network (see GPU_RULES).

    Runtime assumes the GPU whenever one is asked for. Memory covers both places the job may run
    under ``device: auto`` (on the GPU: the CUDA context; on the CPU: the activations)."""
    device = config.get("device", "auto")
    on_gpu = gpus(device) > 0
    places = {"cpu": [False], "auto": [True, False]}.get(device, [True])
    published = config["published_models"][w.published] if rule == "evaluate_published" else {}
    task = Task.parse(published.get("task") or w.task)
    scale = task.scale
    if rule == "train":
        model = config["models"][w.model]
        recipe = config["recipes"][w.recipe]
        batch = int(recipe.get("batch_size", 16))
        val = set_pixels(input.validation, scale, DEFAULT_VAL_PIXELS)
        n = k_patches(w.k, store_patches(input.store))
        patch = int(w.patch)
        val_mb = validation_mb(val[0], scale, denoise=task.kind == "denoise")
        mem = max(
            train_mem_mb(
                model, scale, patch, batch, n, val[1], val_mb=val_mb, on_gpu=g, attempt=attempt
            )
            for g in places
        )
        runtime = train_runtime(
            model,
            scale,
            patch,
            batch,
            int(recipe["iterations"]),
            int(recipe.get("val_every", 1000)),
            val[0],
            on_gpu=on_gpu,
            threads=threads,
            attempt=attempt,
        )
        return {"mem_mb": mem, "runtime": runtime}
    if rule == "score_loss":
        model = config["models"][scorer_model(config, w.task)]
        patch = int(w.patch)
        n = store_patches(input.store) or DEFAULT_PATCHES
        pixels = n * (patch // scale) ** 2
        biggest = 64 * (patch // scale) ** 2  # one batch of mse_loss
    else:  # evaluate, evaluate_published
        model = config["models"][published.get("model") or w.model]
        pixels, biggest = set_pixels(input.test, scale, DEFAULT_TEST_PIXELS)
    mem = max(inference_mem_mb(model, scale, biggest, on_gpu=g, attempt=attempt) for g in places)
    runtime = inference_runtime(
        model, scale, pixels, on_gpu=on_gpu, threads=threads, attempt=attempt
    )
    return {"mem_mb": mem, "runtime": runtime}


def _job(rule: str, config: dict, w, input, threads: int, attempt: int) -> dict:
    if rule in GPU_RULES:
        return _model_job(rule, config, w, input, threads, attempt)
    if hasattr(input, "store"):
        data = file_mb(input.store)
    else:  # what a table, figure or extraction reads
        data = sum(file_mb(f) for f in input)
    largest = _LARGEST_IMAGE.get(getattr(w, "dataset", ""), 0) if rule in IMAGE_RULES else 0
    mem = cpu_mem_mb(rule, threads, attempt, largest)
    if rule == "reference":  # the whole test set in memory, as evaluate holds it
        mem = max(mem, reference_mem_mb(Task.parse(w.task), input.test, attempt))
    return {"mem_mb": mem, "runtime": cpu_runtime(rule, data, attempt)}


def reference_mem_mb(task: Task, manifest, attempt: int = 1) -> int:
    """Memory of the reference job of a test set (its ingest ``manifest``): every image held as
    :func:`validation_mb` counts a validation set (for denoising with float32 noisy copies),
    and the reference output of one; the stand-in test set before the manifest exists."""
    scale = task.scale
    total, largest = set_pixels(manifest, scale, DEFAULT_TEST_PIXELS)
    held = validation_mb(total, scale, denoise=task.kind == "denoise")
    return _megabytes(held + 3 * largest * scale**2 / MB, attempt)


def max_runtime() -> int | None:
    """The cap on ``runtime`` from the environment, if set (minutes)."""
    value = os.environ.get(MAX_RUNTIME_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_RUNTIME_ENV} must be a whole number of minutes, got {value!r}")
    return int(value)


def job_mem_mb(rule: str, config: dict) -> Callable:
    """``mem_mb`` of rule ``rule``'s jobs, as Snakemake's resource callable."""

    def mem_mb(wildcards, input, threads, attempt):
        return _job(rule, config, wildcards, input, threads, attempt)["mem_mb"]

    return mem_mb


def job_runtime(rule: str, config: dict) -> Callable:
    """``runtime`` (minutes) of rule ``rule``'s jobs, as Snakemake's resource callable."""

    def runtime(wildcards, input, threads, attempt):
        minutes = _job(rule, config, wildcards, input, threads, attempt)["runtime"]
        cap = max_runtime()
        if cap is None:
            return minutes
        if attempt == 1:
            _warn_if_capped_too_often(rule, minutes, cap)
        return min(minutes, cap)

    return runtime


_WARNED: set[str] = set()
#: The running Snakemake workflow (see :func:`use_workflow`); None outside Snakemake.
_WORKFLOW = None


def use_workflow(workflow) -> None:
    """Let the runtime cap's warning read the attempts the running workflow gives each rule
    (rules/common.smk passes its ``workflow``)."""
    global _WORKFLOW
    _WORKFLOW = workflow


def allowed_attempts(rule: str) -> int:
    """Attempts Snakemake gives a job of ``rule``: 1 + its retries, i.e. the rule's own
    ``retries:`` or else ``--retries`` (a profile's ``retries:``), as Snakemake 9 resolves them
    (``Rule.restart_times``, falling back to ``workflow.execution_settings.retries``). Without a
    running workflow, :data:`PROFILE_ATTEMPTS`."""
    workflow = _WORKFLOW
    if workflow is None:
        return PROFILE_ATTEMPTS
    try:
        retries = workflow.get_rule(rule).restart_times
    except Exception:  # an unknown rule, or another Snakemake's internals
        settings = getattr(workflow, "execution_settings", None)
        retries = getattr(settings, "retries", None)
    return PROFILE_ATTEMPTS if retries is None else 1 + int(retries)


def _submitted_from_here(rule: str) -> bool:
    """Whether this Snakemake may submit ``rule``'s jobs to a cluster, where the cap applies:
    not a job's own Snakemake on a node (always ``--retries 0``: retries belong to the main
    process), and not a local rule (``localrule: True``, run on the login node without a time
    limit; Snakemake 9 records them in ``workflow._localrules``)."""
    workflow = _WORKFLOW
    if workflow is None:
        return True
    local = rule in getattr(workflow, "_localrules", ())
    return bool(getattr(workflow, "is_main_process", True)) and not local


def _warn_if_capped_too_often(rule: str, minutes: int, cap: int) -> None:
    """Say once per rule when the cap cuts a job off for good: a training run (each attempt
    resumes where the last one was cut off) that needs more attempts than Snakemake gives it,
    or any other job planned longer than the cap (each attempt starts again from zero)."""
    if minutes <= cap or rule in _WARNED or not _submitted_from_here(rule):
        return
    needed = math.ceil(minutes / cap)
    allowed = allowed_attempts(rule)
    if rule in RESUMING_RULES:
        if needed <= allowed:
            return
        _WARNED.add(rule)
        log.warning(
            "a %s job is planned at %d min but %s=%d: it needs %d attempts and Snakemake gives "
            "it %d (--retries %d); raise --retries to %d (a training run resumes from its "
            "checkpoint on each attempt)",
            rule,
            minutes,
            MAX_RUNTIME_ENV,
            cap,
            needed,
            allowed,
            allowed - 1,
            needed - 1,
        )
        return
    _WARNED.add(rule)
    log.warning(
        "a %s job is planned at %d min but %s=%d: it will be cut off on every attempt (%d), "
        "each restarting from zero (only train resumes), so more retries do not help; run it "
        "on a partition with a longer time limit (set-resources %s:slurm_partition=...) and "
        "raise %s to that limit",
        rule,
        minutes,
        MAX_RUNTIME_ENV,
        cap,
        allowed,
        rule,
        MAX_RUNTIME_ENV,
    )
