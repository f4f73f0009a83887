"""One training run: the paper's recipe, iteration-based, resumable from its last checkpoint.

Batches (:mod:`patchmine.sampler`) and the learning rate are functions of the iteration, so a
run that is killed (even with SIGKILL) and resumed from ``last.pt`` (:mod:`patchmine.checkpoint`)
draws exactly the batches an uninterrupted run would have drawn and ends with the same weights:
bit for bit on the CPU, and on CUDA with ``Runtime.deterministic`` (cuDNN's autotuned algorithms
otherwise differ in the last bits from one process to the next).

Speed: the patches stay on the training device as uint8 (:class:`~patchmine.sampler.PatchSampler`),
and a step never waits for the device: losses stay on it until a log or checkpoint point, where
they are read back once (and checked for NaN/inf, naming the first bad iteration).

Stopping: on SIGTERM or SIGINT (:mod:`patchmine.stopping`) the run finishes its current step,
saves ``last.pt`` there and exits with :class:`~patchmine.stopping.TrainingStopped`, so a rerun
resumes from that very iteration, not from the last periodic checkpoint. Every attempt's start,
resume point and end are appended to the run's ``history.log``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import math
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from patchmine import checkpoint, stopping
from patchmine.checkpoint import (
    LOG_FIELDS,
    append_log,
    atomic_save,
    load_resumable,
    rng_state,
    set_rng_state,
    snapshot,
    sync_files,
)
from patchmine.config import OPERATIONAL_RECIPE_KEYS
from patchmine.evaluate import evaluate
from patchmine.models import build_model
from patchmine.sampler import PatchSampler, load_subset, mix_seed
from patchmine.stopping import TrainingStopped, stop_signals
from patchmine.tasks import Task

#: The interface the rule scripts use (scripts/train.py reads ``load_subset`` from here too).
__all__ = [
    "Recipe",
    "RunSpec",
    "Runtime",
    "data_digest",
    "load_model",
    "load_optimizer_state",
    "load_subset",
    "make_optimizer",
    "prepare",
    "progress_bar",
    "publish",
    "run_summary",
    "train",
    "train_step",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """Optimisation settings; defaults are the paper's (EDSR's) recipe."""

    iterations: int
    validation: str = ""  # dataset that picks the best checkpoint (its images come separately)
    batch_size: int = 16
    lr: float = 1e-4
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.5
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    val_every: int = 1000
    checkpoint_every: int | None = None  # defaults to val_every

    @classmethod
    def from_config(cls, spec: dict) -> Recipe:
        spec = dict(spec)
        for key in ("lr_milestones", "betas"):
            if key in spec:
                spec[key] = tuple(spec[key])
        return cls(**spec)

    def lr_at(self, iteration: int) -> float:
        """Learning rate for step ``iteration`` (0-based): halved at every milestone passed."""
        passed = sum(iteration >= m for m in self.lr_milestones)
        return self.lr * self.lr_gamma**passed


@dataclass(frozen=True)
class Runtime:
    """How a run uses the hardware. Not part of a run's identity (its fingerprint): these change
    speed and the last bits of the weights, not the experiment (under bf16 the network's ends stay
    in fp32, see ``models.precision``). ``None`` means "on for CUDA, off
    elsewhere", so CPU runs stay bit-for-bit deterministic."""

    amp: bool | None = None  # bf16 autocast of forward and loss (no loss scaling needed)
    channels_last: bool | None = None  # NHWC activations: the fast layout of tensor-core convs
    compile: bool = False  # torch.compile the training forward (validation runs eagerly)
    #: CUDA: cuDNN's deterministic algorithms instead of the fastest it times, so that a resumed
    #: run ends bit for bit where an uninterrupted one does (the CPU always is deterministic)
    deterministic: bool = False

    @classmethod
    def from_config(cls, spec: dict | None) -> Runtime:
        """From the config's ``runtime`` block, where ``"auto"`` stands for ``None``."""
        spec = {k: (None if v == "auto" else v) for k, v in (spec or {}).items()}
        return cls(**spec)

    def resolve(self, device) -> Runtime:
        """Concrete settings for ``device``: every ``None`` decided by whether it is CUDA."""
        cuda = torch.device(device).type == "cuda"
        return replace(
            self,
            amp=cuda if self.amp is None else bool(self.amp),
            channels_last=cuda if self.channels_last is None else bool(self.channels_last),
        )

    def label(self, device) -> str:
        """What trained the weights, for the log: ``"cuda bf16"``, ``"cpu fp32"``."""
        return f"{torch.device(device).type} {'bf16' if self.amp else 'fp32'}"

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format


@dataclass
class RunSpec:
    """Everything that defines a run; its fingerprint decides whether saved state can resume."""

    task: str  # "sr_x2", "dn_s25", … (patchmine.tasks)
    model: dict
    recipe: Recipe
    augment: bool
    seed: int
    indices: np.ndarray = field(repr=False)
    #: :func:`data_digest` of the patches and validation images; :func:`train` sets it.
    data_digest: str = ""

    @property
    def parsed_task(self) -> Task:
        return Task.parse(self.task)

    @property
    def scale(self) -> int:
        return self.parsed_task.scale

    def fingerprint(self, *, pixels: bool = True) -> str:
        """A digest of every setting, of the exact patch indices and of the pixels (without
        them, ``pixels=False``: the fingerprint of states saved before they were part of it)."""
        settings = asdict(self)
        if not pixels:
            del settings["data_digest"]
        settings["recipe"].update(dict.fromkeys(OPERATIONAL_RECIPE_KEYS))  # as if unset
        settings["indices"] = hashlib.sha256(
            np.ascontiguousarray(self.indices, np.int64)
        ).hexdigest()
        blob = json.dumps(settings, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare(model: torch.nn.Module, runtime: Runtime, device) -> torch.nn.Module:
    """Move ``model`` to ``device`` in the runtime's layout; return the module to train through
    (compiled when asked; it shares ``model``'s parameters)."""
    model.to(device=device, memory_format=runtime.memory_format)
    if torch.device(device).type == "cuda":
        # fixed patch size: autotune each conv once, unless the weights must repeat exactly
        torch.backends.cudnn.benchmark = not runtime.deterministic
        torch.backends.cudnn.deterministic = runtime.deterministic
    return torch.compile(model) if runtime.compile else model


def make_optimizer(model: torch.nn.Module, recipe: Recipe, device) -> torch.optim.Adam:
    """Adam over the trainable parameters; the fused kernel on CUDA (one launch per step)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    fused = True if torch.device(device).type == "cuda" else None
    return torch.optim.Adam(
        trainable, lr=recipe.lr, betas=recipe.betas, eps=recipe.eps, fused=fused
    )


#: Adam's settings that choose a kernel, not the arithmetic: the device resuming decides them.
_KERNEL_SETTINGS = ("fused", "foreach", "capturable")


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Load ``saved`` into ``optimizer`` as this device and memory layout run it.

    ``load_state_dict`` takes the saved groups' kernel settings and keeps each moment's saved
    strides. A state saved on CUDA (fused Adam, channels-last moments) and resumed on the CPU
    would then run the CPU's fused kernel on moments laid out unlike their parameters, which it
    reads as if they matched: wrong updates, silently. The other way round, a CPU state would
    cost CUDA its fused kernel, and a step count on the device a host sync per step. So the
    kernel settings ``optimizer`` was made with stay, each moment takes its parameter's device
    and strides, and the step count goes where that kernel reads it (the device for fused or
    capturable Adam, else the CPU)."""
    made = [
        {k: group[k] for k in _KERNEL_SETTINGS if k in group} for group in optimizer.param_groups
    ]
    optimizer.load_state_dict(saved)
    for group, settings in zip(optimizer.param_groups, made, strict=True):
        group.update(settings)
        on_device = bool(group.get("fused") or group.get("capturable"))
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            for key, value in state.items():
                if not torch.is_tensor(value):
                    continue
                if key == "step":
                    state[key] = value.to(param.device if on_device else "cpu", torch.float32)
                elif value.shape == param.shape:
                    state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def train_step(net, optimizer, lr_batch, hr_batch, runtime: Runtime) -> torch.Tensor:
    """One L1 step; returns the loss as a detached device tensor (reading it would sync)."""
    with _autocast(lr_batch.device, runtime.amp):
        loss = torch.nn.functional.l1_loss(net(lr_batch), hr_batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def _autocast(device: torch.device, amp: bool):
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


class LossMeter:
    """Per-step losses held on the device until :meth:`flush`, which reads them back in one sync.

    The running sum since the last log row lives on the host in float64 and is saved with the
    checkpoint, so a resumed run logs the same mean loss as an uninterrupted one.
    """

    def __init__(self, capacity: int, device):
        self.pending = torch.empty(capacity, dtype=torch.float32, device=device)
        self.n, self.first = 0, 0
        self.total, self.count = 0.0, 0

    def add(self, loss: torch.Tensor, iteration: int) -> None:
        if self.n == len(self.pending):
            self.flush()
        if self.n == 0:
            self.first = iteration
        self.pending[self.n] = loss
        self.n += 1

    def flush(self, where: str = "") -> None:
        """Fold pending losses into the running sum; raise at the first non-finite one."""
        values = self.pending[: self.n].tolist()
        for k, value in enumerate(values):
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"non-finite loss ({value}) at iteration {self.first + k + 1}{where}"
                )
            self.total += value
            self.count += 1
        self.n = 0

    def take_mean(self) -> float:
        mean = self.total / max(self.count, 1)
        self.total, self.count = 0.0, 0
        return mean


@dataclass
class _Progress:
    """What a checkpoint carries besides the model and optimizer, and the wall clock."""

    start: int = 0  # iteration this attempt starts from
    seconds: float = 0.0  # training time of earlier attempts
    best: dict | None = None  # best.pt's content: weights, iteration, val_psnr
    rows: list = field(default_factory=list)  # log.csv's rows
    t0: float = field(default_factory=time.perf_counter)
    trained_on: str = ""  # this attempt's Runtime.label

    def elapsed(self) -> float:
        return self.seconds + time.perf_counter() - self.t0


def data_digest(lr_patches, hr_patches, val_pairs) -> str:
    """A digest of the pixels a run sees: its training patches and its validation images.

    Part of a run's fingerprint. A store rebuilt from changed images can keep its patch count,
    and then a subset keeps its indices (``rand``, every patch, or top-K by chance); a validation
    set keeps its name. Without the pixels, such a run would resume, or publish again, weights
    trained on the old images. Hashing 150 K patches (5 GB) takes seconds, once per attempt.
    """
    digest = hashlib.sha256()

    def add(item) -> None:
        if isinstance(item, str):
            digest.update(item.encode() + b"\0")
            return
        array = np.ascontiguousarray(item.cpu() if isinstance(item, torch.Tensor) else item)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.reshape(-1).view(np.uint8))

    for item in (hr_patches, lr_patches if lr_patches is not None else "no LR"):
        add(item)
    for pair in val_pairs:
        for item in pair:
            add(item)
    return digest.hexdigest()[:16]


def train(
    spec: RunSpec,
    lr_patches: np.ndarray,
    hr_patches: np.ndarray,
    val_pairs: list,
    state_dir: str | os.PathLike,
    device: str = "cpu",
    runtime: Runtime | None = None,
) -> Path:
    """Train (or resume) one run; return the folder holding ``best.pt``, ``last.pt``, ``log.csv``.

    ``state_dir`` must not be a declared Snakemake output: it survives a failed or killed job
    so the next attempt resumes from ``last.pt`` instead of iteration 0. ``runtime`` (default:
    bf16 and channels_last on CUDA, plain fp32 on CPU) changes speed, not the run's identity.
    Each attempt's start, resume point and end are appended to ``history.log`` there, since
    Snakemake deletes a rule's ``log:`` before each attempt of its job.

    Sets ``spec.data_digest`` (:func:`data_digest`), so the spec's fingerprint afterwards is the
    one the state holds. A ``last.pt`` of other settings or pixels is moved to ``superseded/``
    (the newest :data:`~patchmine.checkpoint.KEEP_SUPERSEDED` are kept) and resumed from there
    if they come back.
    """
    runtime = (runtime or Runtime()).resolve(device)
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    spec.data_digest = data_digest(lr_patches, hr_patches, val_pairs)
    history = state_dir / "history.log"
    vanished = _last_attempt_vanished(history)
    with _history(history):
        if vanished:
            log.warning(
                "the attempt before ended without a word: killed outright (SIGKILL, out of "
                "memory, a lost node); this one goes on from its last saved state, if any"
            )
        log.info(
            _STARTED + " %s (%s), %d patches, pixels %s, fingerprint %s",
            device,
            runtime,
            len(hr_patches),
            spec.data_digest,
            spec.fingerprint(),
        )
        try:
            _run(spec, lr_patches, hr_patches, val_pairs, state_dir, device, runtime)
        except BaseException as error:
            log.warning(_ENDED + ": %s: %s", type(error).__name__, error)
            raise
        log.info(_FINISHED)
    return state_dir


#: How history.log marks an attempt's start and its two ends; what tells a vanished one.
_STARTED, _FINISHED, _ENDED = "attempt on", "finished", "attempt ended"
#: A record of history.log (as _history formats it): time, level and message (a message may run
#: over more lines).
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ (.*)$", re.M)


def _last_attempt_vanished(path: Path) -> bool:
    """Whether the last attempt in ``path`` has a start but no end ("finished" or "attempt
    ended"): a process killed outright writes nothing on its way out."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return False
    messages = _RECORD.findall(text)
    starts = [i for i, m in enumerate(messages) if m.startswith(_STARTED + " ")]
    ends = [i for i, m in enumerate(messages) if m == _FINISHED or m.startswith(_ENDED)]
    return bool(starts) and (not ends or ends[-1] < starts[-1])


@contextlib.contextmanager
def _history(path: Path):
    """Append the run's log records (this module's, its checkpoints' and its stop signals') to
    ``path`` while the block runs."""
    handler = logging.FileHandler(path, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.INFO)
    loggers = [log, checkpoint.log, stopping.log]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
        handler.close()


def _run(spec, lr_patches, hr_patches, val_pairs, state_dir: Path, device, runtime) -> None:
    """The body of :func:`train`: resume, then step until done or asked to stop."""
    recipe = spec.recipe
    last_path = state_dir / "last.pt"

    torch.manual_seed(mix_seed(spec.seed, 0x1417))
    task = spec.parsed_task
    model = build_model(spec.model, scale=task.scale, task=task.model_task)
    net = prepare(model, runtime, device)
    optimizer = make_optimizer(model, recipe, device)
    checkpoint_every = recipe.checkpoint_every or recipe.val_every
    meter = LossMeter(min(recipe.val_every, checkpoint_every, recipe.iterations), device)
    progress = _resume(spec, last_path, model, optimizer, meter, runtime, device)
    progress.trained_on = runtime.label(device)
    sync_files(state_dir, progress.best, progress.rows)

    sampler = PatchSampler(
        lr_patches,
        hr_patches,
        recipe.batch_size,
        spec.augment,
        spec.seed,
        device,
        runtime.memory_format,
        sigma=task.sigma,
    )
    where = f"; the last good checkpoint is kept in {last_path}"
    model.train()
    with stop_signals() as stop:
        for it in range(progress.start, recipe.iterations):
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr_at(it)
            lr_batch, hr_batch = sampler.batch(it)
            meter.add(train_step(net, optimizer, lr_batch, hr_batch, runtime), it)
            done = it + 1
            is_val = done % recipe.val_every == 0 or done == recipe.iterations
            is_checkpoint = done % checkpoint_every == 0 or done == recipe.iterations
            asked_to_stop = stop.signal is not None and done < recipe.iterations
            if not (is_val or is_checkpoint or asked_to_stop):
                continue
            meter.flush(where)  # the only sync of the loop, before anything is written
            if not _finite_weights(model):  # a finite loss, then an update to inf/NaN
                raise FloatingPointError(f"non-finite weights after iteration {done}{where}")
            if is_val:
                _validate(spec, model, val_pairs, device, meter, progress, done, state_dir)
            if is_checkpoint or asked_to_stop:
                parts = (model, optimizer, meter, progress, runtime)
                _save_last(last_path, spec, parts, done, device)
            if asked_to_stop:
                raise TrainingStopped(
                    f"{stop.name} received: stopped after iteration {done} of {recipe.iterations}"
                    f" and saved {last_path}; run the job again to resume from there"
                )
    if progress.best is None:
        raise RuntimeError(f"{state_dir}: finished state without a best checkpoint")


def _finite_weights(model: torch.nn.Module) -> bool:
    """Whether every parameter is finite (one device sync): a checkpoint of NaN weights would
    make every resume fail the same way."""
    return bool(torch.stack([p.detach().isfinite().all() for p in model.parameters()]).all())


def _save_last(last_path, spec: RunSpec, parts, done, device) -> None:
    """Write ``last.pt``: everything a resumed run needs to continue as if never stopped."""
    model, optimizer, meter, progress, runtime = parts
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "iteration": done,
        "iterations": spec.recipe.iterations,  # of its recipe: a longer one may go on from here
        "seconds": progress.elapsed(),
        "fingerprint": spec.fingerprint(),
        "runtime": asdict(runtime),
        "best": progress.best,
        "log": progress.rows,
        "running": [meter.total, meter.count],
        "rng": rng_state(device),
    }
    atomic_save(state, last_path)


def _resume(spec, last_path, model, optimizer, meter, runtime, device) -> _Progress:
    """Load ``last.pt`` into the model, optimizer, loss meter and RNGs when it is this run's."""
    state = load_resumable(last_path, spec, device)
    if state is None:
        return _Progress()
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:  # same settings, but the network's code changed since
        raise RuntimeError(
            f"{last_path} (iteration {state['iteration']}) holds weights that do not fit the "
            f"network the current code builds for {spec.model}: {error}\nIf the network's code "
            f"was changed on purpose, delete {last_path.parent} to train this run afresh; "
            "otherwise restore the code to resume it"
        ) from None
    load_optimizer_state(optimizer, state["optimizer"])
    set_rng_state(state["rng"], device)
    meter.total, meter.count = state["running"]
    saved = {**asdict(Runtime()), **state["runtime"]}  # a setting added since: its default
    if saved != asdict(runtime):
        log.warning("resuming a run started with %s under %s", state["runtime"], runtime)
    if state["iteration"] >= spec.recipe.iterations:
        log.info(  # a job stopped after training, before Snakemake recorded its outputs
            "%s holds this run finished (iteration %d): publishing its weights again without "
            "training (delete %s to train it from scratch)",
            last_path,
            state["iteration"],
            last_path.parent,
        )
    else:
        log.info("resuming from %s at iteration %d", last_path, state["iteration"])
    rows = [
        row if len(row) == len(LOG_FIELDS) else [*row[:-1], "", row[-1]] for row in state["log"]
    ]
    return _Progress(state["iteration"], state["seconds"], state["best"], rows)


def _validate(spec, model, val_pairs, device, meter, progress, done, state_dir) -> None:
    """Score the validation images, append the log row, and keep the weights if they are best."""
    recipe = spec.recipe
    scores = evaluate(model, spec.parsed_task, val_pairs, device, with_ssim=False)
    psnr = float(scores["psnr"].mean())
    loss, elapsed = meter.take_mean(), progress.elapsed()
    row = [done, loss, recipe.lr_at(done - 1), psnr, progress.trained_on, round(elapsed, 3)]
    progress.rows.append(row)
    append_log(state_dir / "log.csv", progress.rows[-1])
    rate = (done - progress.start) / max(elapsed - progress.seconds, 1e-9)
    log.info(
        "%s  loss %.4f  val %.3f dB  %.1f it/s",
        progress_bar(done, recipe.iterations, rate),
        loss,
        psnr,
        rate,
    )
    if progress.best is None or psnr > progress.best["val_psnr"]:
        progress.best = {
            "model": snapshot(model),
            "iteration": done,
            "val_psnr": psnr,
            "fingerprint": spec.fingerprint(),
        }
        atomic_save(progress.best, state_dir / "best.pt")


def progress_bar(done: int, total: int, rate: float, width: int = 20) -> str:
    """``[#####...............]  25%  250/1000  ETA 1 min 15 s``: the head of a log line, so a
    rule's log reads as a progress bar; the ETA assumes ``rate`` iterations per second."""
    filled = min(width, round(width * done / total))
    left = (total - done) / rate if rate > 0 else math.inf
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {100 * done / total:3.0f}%  "
        f"{done}/{total}  ETA {_duration(left)}"
    )


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def publish(state_dir: str | os.PathLike, model_out: str | os.PathLike, log_out: str | os.PathLike):
    """Copy the finished run's best weights and log to the workflow's declared outputs."""
    state_dir = Path(state_dir)
    best = torch.load(state_dir / "best.pt", map_location="cpu", weights_only=True)
    atomic_save(best, Path(model_out))
    shutil.copyfile(state_dir / "log.csv", log_out)


def run_summary(path, run: dict, spec: RunSpec, n_store: int, log_csv) -> dict:
    """Write ``run.json``: the run's parameters, patch counts, its best validation point and
    what trained it (``trained_on``: each device and precision its log rows name)."""
    with open(log_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    best = max(rows, key=lambda r: float(r["val_psnr"]))
    summary = {
        **run,
        "k_count": int(len(spec.indices)),
        "n_store": n_store,
        "best_iteration": int(best["iteration"]),
        "best_val_psnr": float(best["val_psnr"]),
        "seconds": float(rows[-1]["seconds"]),
        "trained_on": ", ".join(sorted({r.get("trained_on") or "" for r in rows} - {""})),
        "fingerprint": spec.fingerprint(),
    }
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=2)
    return summary


def load_model(path, model_spec: dict, task: Task, device="cpu") -> torch.nn.Module:
    """A network built from ``model_spec`` holding the weights of a checkpoint from this module."""
    model = build_model(model_spec, scale=task.scale, task=task.model_task)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"] if "model" in state else state, strict=True)
    return model.to(device).eval()
