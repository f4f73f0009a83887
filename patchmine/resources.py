"""What each job asks a cluster for: the callables the rules' ``resources:`` name.

The names are those of Snakemake's SLURM executor plugin: ``gpu`` (becomes ``--gpus``),
``cpus_per_task``, ``mem_mb`` and ``runtime`` (minutes). Only the rules that run a network
(``train``, ``score_loss``, ``evaluate``, ``evaluate_published``) ask for a GPU, and only when the
config's ``device`` is not ``cpu``; partition, account and GPU model belong to the profile, never
to a rule.

This module turns a job's wildcards, input files, threads and attempt into numbers; what a
network costs is :mod:`patchmine.costs`, what its data weighs :mod:`patchmine.input_sizes`, how
an attempt grows and what the cluster's time limit caps :mod:`patchmine.attempts`. Only the rules
without a network are costed here, by the figures of :data:`CPU_RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from patchmine.attempts import capped_runtime, grow, grow_memory
from patchmine.config import ConfigError
from patchmine.costs import (
    BASE_MB,
    MB,
    SAFETY,
    STARTUP,
    inference_mem_mb,
    inference_runtime,
    mem_mb_for,
    train_mem_mb,
    train_runtime,
    validation_mb,
)
from patchmine.grid import scorer_model
from patchmine.input_sizes import (
    DEFAULT_PATCHES,
    DEFAULT_TEST_PIXELS,
    DEFAULT_VAL_PIXELS,
    file_mb,
    k_patches,
    largest_image,
    set_pixels,
    store_patches,
)
from patchmine.tasks import Task

GPU_RULES = ("train", "score_loss", "evaluate", "evaluate_published")


def gpus(device: str) -> int:
    """GPUs a network job asks for: none when the config runs everything on the CPU."""
    return 0 if device == "cpu" else 1


def check_gpu_model(
    device: str, set_resources: Mapping | None, default_resources: Mapping | None
) -> None:
    """Refuse a ``gpu_model`` the SLURM plugin would turn into the wrong request, at plan time
    and naming where it is set, before any job waits in a queue. The plugin asks for
    ``--gpus=<model>:<gpu>``, with one GPU where a job names none: in ``default-resources`` it
    would give every job a GPU (downloads and ingestion too); with ``device: cpu`` a network
    rule's would be ``--gpus=<model>:0``."""
    if "gpu_model" in _resource_names(default_resources):
        raise ConfigError(
            "gpu_model is set in default-resources: the SLURM plugin would then ask a GPU for "
            "every job, downloads and ingestion too. Set it in set-resources for the rules "
            f"that run a network: {', '.join(GPU_RULES)}."
        )
    rules = [
        rule
        for rule, given in (set_resources or {}).items()
        if "gpu_model" in _resource_names(given)
    ]
    other = [rule for rule in rules if rule not in GPU_RULES]
    if other:
        raise ConfigError(
            f"set-resources gives {', '.join(other)} a gpu_model, but no network runs there: the "
            "SLURM plugin would ask a GPU for each of its jobs (--gpus=<model>:1). Set gpu_model "
            f"only for the rules that run a network: {', '.join(GPU_RULES)}."
        )
    if gpus(device):
        return
    if rules:
        raise ConfigError(
            f"device is 'cpu', but set-resources gives {', '.join(rules)} a gpu_model: the "
            "SLURM plugin would submit --gpus=<model>:0. Set device: cuda (or auto) to run the "
            "networks on GPUs, or remove gpu_model."
        )


def _resource_names(resources) -> set[str]:
    """The names a resource setting gives: a mapping from Snakemake 9.16.3 on, before that a
    ``DefaultResources`` (neither iterable nor a mapping) whose ``parsed`` dict holds them."""
    if resources is None:
        return set()
    if isinstance(resources, Mapping):
        return set(resources)
    return set(getattr(resources, "parsed", None) or ())


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
    """Minutes of a rule without a network: its start-up and CPU_RULES' minutes per GB of the
    ``data_mb`` it reads, at least its floor."""
    _, per_gb, floor = CPU_RULES.get(rule, LIGHT)
    return grow(max(floor, STARTUP + SAFETY * per_gb * data_mb / 1024), attempt)


def cpu_mem_mb(rule: str, threads: int, attempt: int = 1, largest_pixels: float = 0) -> int:
    """Memory of a rule without a network: the base, and per thread its CPU_RULES figure, or for
    an image rule what its ``largest_pixels`` image takes, if more."""
    per_thread, _, _ = CPU_RULES.get(rule, LIGHT)
    if rule in IMAGE_RULES:
        per_thread = max(per_thread, IMAGE_WORKER_BYTES_PER_PIXEL * largest_pixels / MB)
    return grow_memory(BASE_MB + per_thread * max(1, threads), attempt)


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
    largest = largest_image(getattr(w, "dataset", "")) if rule in IMAGE_RULES else 0
    mem = cpu_mem_mb(rule, threads, attempt, largest)
    if rule == "reference":  # the whole test set in memory, as evaluate holds it
        mem = max(mem, reference_mem_mb(Task.parse(w.task), input.test, attempt))
    return {"mem_mb": mem, "runtime": cpu_runtime(rule, data, attempt)}


def reference_mem_mb(task: Task, manifest, attempt: int = 1) -> int:
    """Memory of the reference job of a test set (its ingest ``manifest``): every image held as
    :func:`patchmine.costs.validation_mb` counts a validation set (for denoising with float32
    noisy copies), and the reference output of one; the stand-in test set before the manifest
    exists."""
    scale = task.scale
    total, largest = set_pixels(manifest, scale, DEFAULT_TEST_PIXELS)
    held = validation_mb(total, scale, denoise=task.kind == "denoise")
    return mem_mb_for(held + 3 * largest * scale**2 / MB, attempt)


def job_mem_mb(rule: str, config: dict) -> Callable:
    """``mem_mb`` of rule ``rule``'s jobs, as Snakemake's resource callable."""

    def mem_mb(wildcards, input, threads, attempt):
        return _job(rule, config, wildcards, input, threads, attempt)["mem_mb"]

    return mem_mb


def job_runtime(rule: str, config: dict) -> Callable:
    """``runtime`` (minutes) of rule ``rule``'s jobs, as Snakemake's resource callable."""

    def runtime(wildcards, input, threads, attempt):
        minutes = _job(rule, config, wildcards, input, threads, attempt)["runtime"]
        return capped_runtime(rule, minutes, attempt)

    return runtime
