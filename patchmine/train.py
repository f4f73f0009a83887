"""One training run: the paper's recipe, iteration-based, resumable from its last checkpoint.

Every random choice of step ``i`` (which patches, which flips) is a pure function of
``(seed, i)``, and the learning rate is a function of ``i``, so a run that is killed (even with
SIGKILL) and resumed from ``last.pt`` draws exactly the batches an uninterrupted run would have
drawn and ends with the same weights. ``last.pt`` is the single source of truth: it also holds the
best weights so far, the log rows and the RNG states, and ``best.pt`` and ``log.csv`` are rewritten
from it on resume, so nothing written after the checkpoint survives into the resumed run.

Speed: the selected patches are loaded once and kept on the training device as uint8; batches are
gathered, augmented and converted there, with no data-loader process or host-to-device copy in
the step. A step never waits for the device: losses stay on it until a log or checkpoint point,
where they are read back once (and checked for NaN/inf, naming the first bad iteration).

Stopping: SIGTERM (what SLURM sends at preemption or at the time limit, some 30 s before its
SIGKILL) or SIGINT (Ctrl-C) makes the run finish its current step, save ``last.pt`` there and
exit with :class:`TrainingStopped`, so a rerun resumes from that very iteration, not from the
last periodic checkpoint. A second Ctrl-C stops at once; a second SIGTERM (SLURM sends two at
the time limit) does not. Every attempt's start, resume point and end are appended to the run's
``history.log``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import math
import os
import shutil
import signal
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from patchmine.augment import dihedral_index, random_dihedral
from patchmine.config import OPERATIONAL_RECIPE_KEYS
from patchmine.evaluate import evaluate
from patchmine.models import build_model
from patchmine.store import open_store, read_rows
from patchmine.tasks import Task

log = logging.getLogger(__name__)

#: ``trained_on``: the device and precision of the attempt that logged the row ("cuda bf16",
#: "cpu fp32"), since they change the last bits of the weights but not the run's identity.
LOG_FIELDS = ["iteration", "loss", "lr", "val_psnr", "trained_on", "seconds"]

#: States of a run's other settings kept in ``<state>/superseded/`` (newest first), so that an
#: edit of a shared recipe or model that is then reverted resumes them instead of starting over.
KEEP_SUPERSEDED = 3


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


class PatchSampler:
    """Batches of (LR, HR) training pairs drawn from patches held on the device as uint8.

    An epoch's order and flips are drawn on the host in one go and moved to the device once, so
    a step itself launches only device work and never syncs: per tensor, one ``index_select``
    that fetches the batch's pixels already flipped/rotated, and one conversion to float.
    """

    def __init__(
        self,
        lr: np.ndarray | None,
        hr: np.ndarray,
        batch_size: int,
        augment: bool,
        seed: int,
        device,
        memory_format: torch.memory_format = torch.contiguous_format,
        sigma: float = 0.0,
    ):
        if len(hr) < batch_size:
            raise ValueError(
                f"{len(hr)} patches are fewer than one batch of {batch_size}: give the recipe a "
                "smaller batch_size, or train on more images (smaller patches, stride)"
            )
        if (lr is None) == (sigma <= 0):
            raise ValueError("give LR patches (super-resolution) or a noise sigma (denoising)")
        # kept as stored, (N, H, W, C): a batch gathered from it is already channels-last
        self.hr = torch.from_numpy(np.ascontiguousarray(hr)).to(device)
        self.lr = None if lr is None else torch.from_numpy(np.ascontiguousarray(lr)).to(device)
        self.sigma = sigma
        if augment:
            self._maps = [_dihedral_maps(p, device) for p in (self.lr, self.hr) if p is not None]
        self.n, self.batch_size, self.augment, self.seed = len(hr), batch_size, augment, seed
        self.device, self.memory_format = device, memory_format
        self.per_epoch = self.n // batch_size  # the last incomplete batch is dropped
        self._epoch, self._perm, self._codes = -1, None, None

    def _draw_epoch(self, epoch: int) -> None:
        """Patch order and flip codes of one epoch, a pure function of (seed, epoch)."""
        if epoch == self._epoch:
            return
        g = torch.Generator().manual_seed(_mix(self.seed, epoch, 0x5EED))
        self._perm = torch.randperm(self.n, generator=g).to(self.device)
        if self.augment:
            g = torch.Generator().manual_seed(_mix(self.seed, epoch, 0xA06))
            self._codes = random_dihedral(g, self.per_epoch * self.batch_size, self.device)
        self._epoch = epoch

    def batch(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (lr, hr) float batch of step ``iteration``, a pure function of (seed, iteration)."""
        epoch, j = divmod(iteration, self.per_epoch)
        self._draw_epoch(epoch)
        rows = slice(j * self.batch_size, (j + 1) * self.batch_size)
        idx = self._perm[rows]
        patches = [p for p in (self.lr, self.hr) if p is not None]
        if self.augment:
            codes = self._codes[rows]
            picked = [
                _gather_transformed(p, idx, maps.index_select(0, codes))
                for p, maps in zip(patches, self._maps, strict=True)
            ]
        else:
            picked = [p.index_select(0, idx) for p in patches]
        hr = self._to_float(picked[-1])
        if self.lr is not None:
            return self._to_float(picked[0]), hr
        return hr + self._noise(iteration, hr), hr

    def _noise(self, iteration: int, like: torch.Tensor) -> torch.Tensor:
        """Gaussian noise of step ``iteration``, drawn on the device from (seed, iteration)."""
        g = torch.Generator(device=like.device).manual_seed(_mix(self.seed, iteration, 0x2015E))
        return torch.randn(like.shape, generator=g, device=like.device) * self.sigma

    def _to_float(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) uint8 -> (B, C, H, W) float32 in the sampler's memory format."""
        nchw = patches.permute(0, 3, 1, 2)
        return nchw.to(torch.float32, memory_format=self.memory_format)


def _dihedral_maps(patches: torch.Tensor, device) -> torch.Tensor:
    _, h, w, _ = patches.shape
    if h != w:
        raise ValueError(f"dihedral augmentation needs square patches, got {h}x{w}")
    return dihedral_index(h, device)


def _gather_transformed(patches: torch.Tensor, idx: torch.Tensor, maps: torch.Tensor):
    """``patches[idx]`` (N, H, W, C), each transformed by its row of gather positions ``maps``."""
    n, h, w, c = patches.shape
    flat = (idx * (h * w)).unsqueeze(1) + maps  # (B, H*W) positions among all pixels
    pixels = patches.view(n * h * w, c).index_select(0, flat.view(-1))
    return pixels.view(len(idx), h, w, c)


def _mix(*values: int) -> int:
    """A 63-bit seed from several integers (stable across runs and platforms)."""
    digest = hashlib.blake2b(repr(values).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def load_subset(store_path, subset_path, task: Task):
    """(indices, LR, HR, patches in store): the selected patches as uint8, read once, in order.

    LR is None for denoising: its noisy inputs are drawn during training.
    """
    indices = np.load(subset_path)
    if indices.ndim != 1 or (indices.size and np.any(np.diff(indices) <= 0)):
        raise ValueError(f"{subset_path}: patch indices must be a strictly increasing 1-D list")
    with open_store(store_path) as f:
        key = f"lr_x{task.scale}" if task.kind == "sr" else None
        if key is not None and key not in f:
            raise KeyError(f"{store_path} has no LR patches for x{task.scale} (has {sorted(f)})")
        n_store = int(f["hr"].shape[0])
        if indices.size and (indices[0] < 0 or indices[-1] >= n_store):
            raise IndexError(f"{subset_path}: indices outside the store's {n_store} patches")
        lr = read_rows(f[key], indices) if key else None
        return indices, lr, read_rows(f["hr"], indices), n_store


# ---------------------------------------------------------------------------------------------
# The step


def prepare(model: torch.nn.Module, runtime: Runtime, device) -> torch.nn.Module:
    """Move ``model`` to ``device`` in the runtime's layout; return the module to train through
    (compiled when asked; it shares ``model``'s parameters)."""
    model.to(device=device, memory_format=runtime.memory_format)
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed patch size: autotune each conv once
    return torch.compile(model) if runtime.compile else model


def make_optimizer(model: torch.nn.Module, recipe: Recipe, device) -> torch.optim.Adam:
    """Adam over the trainable parameters; the fused kernel on CUDA (one launch per step)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    fused = True if torch.device(device).type == "cuda" else None
    return torch.optim.Adam(
        trainable, lr=recipe.lr, betas=recipe.betas, eps=recipe.eps, fused=fused
    )


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


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _atomic_save(obj, path: Path) -> None:
    """Write to ``<name>.tmp``, flush it to disk, then rename: ``path`` is never half-written."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _snapshot(model: torch.nn.Module) -> dict:
    """A copy of the weights that later steps will not change (stays on the device)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _rng_state(device) -> dict:
    """Global RNG states. Nothing in a step draws from them today (batches have their own
    generators), but a model with dropout would, so a resumed run restores them too."""
    legacy = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    state = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(legacy[1].astype(np.int64)),
        "numpy_rest": [int(legacy[2]), int(legacy[3]), float(legacy[4])],
    }
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    pos, has_gauss, gauss = state["numpy_rest"]
    keys = state["numpy_keys"].cpu().numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, pos, has_gauss, gauss))  # noqa: NPY002
    if "cuda" in state and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _load_resumable(last_path: Path, spec: RunSpec, device) -> dict | None:
    """The saved state to resume from, or None (with the reason logged) to start afresh.

    A state of this run trained towards another number of iterations goes on
    (:func:`_other_length_of`), a copy of it kept. A ``last.pt`` of other settings is set aside
    in ``superseded/``, and one of these settings set aside earlier is brought back, so that
    reverting an edit loses nothing. The newest :data:`KEEP_SUPERSEDED` set aside are kept."""
    fingerprint = spec.fingerprint()
    state = _read_state(last_path, device) if last_path.exists() else None
    if state is not None and _same_run(spec, state, last_path):
        return state
    folder = _superseded(last_path)
    if state is not None and _other_length_of(spec, state):
        log.info(
            "%s is this run trained to %d of %d iterations: going on to %d",
            last_path,
            state["iteration"],
            state.get("iterations", state["iteration"]),
            spec.recipe.iterations,
        )
        _set_aside(last_path, state["fingerprint"], keep_original=True)
        _prune(folder)
        return state
    kept = folder / f"{fingerprint}.pt"
    found = _read_state(kept, device) if kept.exists() else None
    if state is not None:
        log.warning(
            "%s was saved under other settings or pixels (fingerprint %s, now %s)",
            last_path,
            state.get("fingerprint"),
            fingerprint,
        )
        if "log" in state and state.get("fingerprint"):
            _set_aside(last_path, state["fingerprint"])
        else:  # a format older than any resumable one
            last_path.unlink()
    if found is not None:
        os.replace(kept, last_path)
        log.info("brought back this run's state set aside at iteration %d", found["iteration"])
    elif state is not None:
        log.warning("starting afresh")
    _prune(folder)
    return found


def _same_run(spec: RunSpec, state: dict, last_path: Path) -> bool:
    """Whether ``state`` is this run's. A state saved before pixels were part of the
    fingerprint (it has no ``iterations`` key) is matched on the settings alone, with a
    warning: its pixels cannot be checked, and starting it over would lose its work."""
    if "log" not in state:
        return False
    if state.get("fingerprint") == spec.fingerprint():
        return True
    if "iterations" not in state and state.get("fingerprint") == spec.fingerprint(pixels=False):
        log.warning(
            "%s was saved before a run's pixels were part of its fingerprint: resuming it "
            "without checking that its training and validation images are unchanged (if they "
            "changed, delete %s)",
            last_path,
            last_path.parent,
        )
        return True
    return False


def _other_length_of(spec: RunSpec, state: dict) -> bool:
    """Whether ``state`` is this run with only ``iterations`` different, and not yet at the new
    end, so that going on from it ends where an uninterrupted run of ``spec`` would: batches and
    the learning rate are functions of the iteration alone. Not when the state's run finished
    with a validation off the ``val_every`` cadence: ``spec``'s run has no such row in its log
    or choice of best."""
    other = state.get("iterations", state["iteration"])  # finished states before the key
    recipe = spec.recipe
    if (
        "log" not in state
        or not state["iteration"] < recipe.iterations
        or other == recipe.iterations
    ):
        return False
    if state["iteration"] == other and other % recipe.val_every:
        return False
    cut = replace(spec, recipe=replace(recipe, iterations=other))
    return cut.fingerprint(pixels="iterations" in state) == state.get("fingerprint")


def _read_state(path: Path, device) -> dict | None:
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # only reachable if the disk itself lost data
        log.warning("%s is unreadable (%s); starting from scratch", path, error)
        path.unlink(missing_ok=True)
        return None


def _superseded(last_path: Path) -> Path:
    return last_path.parent / "superseded"


def _set_aside(last_path: Path, fingerprint: str, keep_original: bool = False) -> None:
    """Move ``last.pt`` to ``superseded/<fingerprint>.pt`` (with ``keep_original``, link or copy
    it there: the next save replaces ``last.pt`` by a rename, so the kept file stays whole)."""
    folder = _superseded(last_path)
    folder.mkdir(exist_ok=True)
    target = folder / f"{fingerprint}.pt"
    if not keep_original:
        os.replace(last_path, target)
    else:
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(last_path, tmp)
        except OSError:  # a file system without hard links
            shutil.copyfile(last_path, tmp)
        os.replace(tmp, target)
    os.utime(target)  # newest first, whenever it was saved
    log.info("%s %s to %s", "copied" if keep_original else "moved", last_path.name, target)


def _prune(folder: Path) -> None:
    """Keep the newest :data:`KEEP_SUPERSEDED` states set aside (after any was brought back)."""
    if folder.is_dir():
        kept = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEEP_SUPERSEDED]:
            old.unlink()


def _write_log(path: Path, rows: list) -> None:
    """Rewrite ``log.csv`` from the checkpoint's rows (atomically, like every state file)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LOG_FIELDS)
        writer.writerows(rows)
    os.replace(tmp, path)


def _append_log(path: Path, row: list) -> None:
    with open(path, "a", newline="") as handle:
        csv.writer(handle).writerow(row)


def _sync_files(state_dir: Path, best: dict | None, rows: list) -> None:
    """Make ``best.pt`` and ``log.csv`` agree with the state we start from, dropping leftovers
    (``*.tmp`` of a save that was killed, a best or log rows newer than the checkpoint)."""
    for tmp in state_dir.glob("*.tmp"):
        tmp.unlink()
    best_path = state_dir / "best.pt"
    if best is None:
        best_path.unlink(missing_ok=True)
    else:
        _atomic_save(best, best_path)
    _write_log(state_dir / "log.csv", rows)


# ---------------------------------------------------------------------------------------------
# The run


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
    (the newest :data:`KEEP_SUPERSEDED` are kept) and resumed from there if they come back.
    """
    runtime = (runtime or Runtime()).resolve(device)
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    spec.data_digest = data_digest(lr_patches, hr_patches, val_pairs)
    with _history(state_dir / "history.log"):
        log.info(
            "attempt on %s (%s), %d patches, pixels %s, fingerprint %s",
            device,
            runtime,
            len(hr_patches),
            spec.data_digest,
            spec.fingerprint(),
        )
        try:
            _run(spec, lr_patches, hr_patches, val_pairs, state_dir, device, runtime)
        except BaseException as error:
            log.warning("attempt ended: %s: %s", type(error).__name__, error)
            raise
        log.info("finished")
    return state_dir


@contextlib.contextmanager
def _history(path: Path):
    """Append this module's log records to ``path`` while the block runs."""
    handler = logging.FileHandler(path, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.INFO)
    previous_level = log.level
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous_level)
        handler.close()


def _run(spec, lr_patches, hr_patches, val_pairs, state_dir: Path, device, runtime) -> None:
    """The body of :func:`train`: resume, then step until done or asked to stop."""
    recipe = spec.recipe
    last_path = state_dir / "last.pt"

    torch.manual_seed(_mix(spec.seed, 0x1417))
    task = spec.parsed_task
    model = build_model(spec.model, scale=task.scale, task=task.model_task)
    net = prepare(model, runtime, device)
    optimizer = make_optimizer(model, recipe, device)
    checkpoint_every = recipe.checkpoint_every or recipe.val_every
    meter = LossMeter(min(recipe.val_every, checkpoint_every, recipe.iterations), device)
    progress = _resume(spec, last_path, model, optimizer, meter, runtime, device)
    progress.trained_on = runtime.label(device)
    _sync_files(state_dir, progress.best, progress.rows)

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
            stopping = stop.signal is not None and done < recipe.iterations
            if not (is_val or is_checkpoint or stopping):
                continue
            meter.flush(where)  # the only sync of the loop, before anything is written
            if not _finite_weights(model):  # a finite loss, then an update to inf/NaN
                raise FloatingPointError(f"non-finite weights after iteration {done}{where}")
            if is_val:
                _validate(spec, model, val_pairs, device, meter, progress, done, state_dir)
            if is_checkpoint or stopping:
                parts = (model, optimizer, meter, progress, runtime)
                _save_last(last_path, spec, parts, done, device)
            if stopping:
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
        "rng": _rng_state(device),
    }
    _atomic_save(state, last_path)


class TrainingStopped(RuntimeError):
    """The run was asked to stop (SIGTERM, SIGINT) and saved ``last.pt`` first."""


class _StopFlag:
    signal: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""


@contextlib.contextmanager
def stop_signals(signals=(signal.SIGTERM, signal.SIGINT)):
    """Turn the first SIGTERM/SIGINT into a flag the loop checks between steps (a step or a save
    is never cut in half). A second SIGINT gets the handler that was there before, so a user who
    presses Ctrl-C twice is not kept waiting; a second SIGTERM is only logged, because SLURM's
    time limit sends one to the job step and one through ``srun`` in the same millisecond, and
    its own escalation is SIGKILL after ``KillWait``. A signal the process was started ignoring
    (SIGINT in a job that a shell put in the background) stays ignored. Outside the main thread
    nothing is installed."""
    flag = _StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {}

    def handler(signum, frame):
        name = signal.Signals(signum).name
        if flag.signal is None:
            flag.signal = signum
            log.warning("%s received: stopping after this step", name)
            return
        if signum == signal.SIGTERM:
            log.warning("%s received again: still stopping after this step", name)
            return
        signal.signal(signum, previous[signum])
        signal.raise_signal(signum)

    for signum in signals:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield flag
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _resume(spec, last_path, model, optimizer, meter, runtime, device) -> _Progress:
    """Load ``last.pt`` into the model, optimizer, loss meter and RNGs when it is this run's."""
    state = _load_resumable(last_path, spec, device)
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
    optimizer.load_state_dict(state["optimizer"])
    _set_rng_state(state["rng"], device)
    meter.total, meter.count = state["running"]
    if state["runtime"] != asdict(runtime):
        log.warning("resuming a run started with %s under %s", state["runtime"], runtime)
    if state["iteration"] >= spec.recipe.iterations:
        log.warning(
            "%s holds this run finished (iteration %d): publishing its weights again without "
            "training; delete %s to train it from scratch",
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
    _append_log(state_dir / "log.csv", progress.rows[-1])
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
            "model": _snapshot(model),
            "iteration": done,
            "val_psnr": psnr,
            "fingerprint": spec.fingerprint(),
        }
        _atomic_save(progress.best, state_dir / "best.pt")


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
    _atomic_save(best, Path(model_out))
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
