"""One training run: the paper's recipe, iteration-based, resumable from its last checkpoint.

Every random choice of step ``i`` (which patches, which flips) comes from a generator seeded by
``(seed, i)``, so a run that is killed and resumed from a checkpoint draws exactly the batches an
uninterrupted run would have drawn, and ends with the same weights. The selected patches are
loaded once, kept on the training device as uint8, and batches are gathered, augmented and
converted there: no data-loader process or host-to-device copy sits in the step.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from patchmine.augment import apply_dihedral, random_dihedral
from patchmine.evaluate import evaluate_sr
from patchmine.models import build_model
from patchmine.store import open_store, read_rows

log = logging.getLogger(__name__)

LOG_FIELDS = ["iteration", "loss", "lr", "val_psnr", "seconds"]


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


@dataclass
class RunSpec:
    """Everything that defines a run; its fingerprint decides whether saved state can resume."""

    scale: int
    model: dict
    recipe: Recipe
    augment: bool
    seed: int
    indices: np.ndarray = field(repr=False)

    def fingerprint(self) -> str:
        """A digest of every setting and of the exact patch indices."""
        settings = asdict(self)
        settings["indices"] = hashlib.sha256(
            np.ascontiguousarray(self.indices, np.int64)
        ).hexdigest()
        blob = json.dumps(settings, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class PatchSampler:
    """Batches of (LR, HR) training pairs drawn from patches held on the device as uint8."""

    def __init__(
        self, lr: np.ndarray, hr: np.ndarray, batch_size: int, augment: bool, seed: int, device
    ):
        if len(hr) < batch_size:
            raise ValueError(f"{len(hr)} patches are fewer than one batch of {batch_size}")
        self.lr = torch.from_numpy(lr).to(device).permute(0, 3, 1, 2).contiguous()
        self.hr = torch.from_numpy(hr).to(device).permute(0, 3, 1, 2).contiguous()
        self.n, self.batch_size, self.augment, self.seed = len(hr), batch_size, augment, seed
        self.device = device
        self.per_epoch = self.n // batch_size  # the last incomplete batch is dropped
        self._epoch, self._perm = -1, None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(_mix(self.seed, epoch, 0x5EED))
            self._perm = torch.randperm(self.n, generator=g).to(self.device)
            self._epoch = epoch
        return self._perm

    def batch(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (lr, hr) float batch of step ``iteration``, a pure function of (seed, iteration)."""
        epoch, j = divmod(iteration, self.per_epoch)
        idx = self._permutation(epoch)[j * self.batch_size : (j + 1) * self.batch_size]
        lr, hr = self.lr[idx], self.hr[idx]
        if self.augment:
            g = torch.Generator().manual_seed(_mix(self.seed, iteration, 0xA06))
            codes = random_dihedral(g, len(idx), self.device)
            lr, hr = apply_dihedral(lr, codes), apply_dihedral(hr, codes)
        return lr.float(), hr.float()


def _mix(*values: int) -> int:
    """A 63-bit seed from several integers (stable across runs and platforms)."""
    digest = hashlib.blake2b(repr(values).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def load_subset(store_path, subset_path, scale: int):
    """(indices, LR, HR, patches in store): the selected patches as uint8, read once, in order."""
    indices = np.load(subset_path)
    if indices.ndim != 1 or (indices.size and np.any(np.diff(indices) <= 0)):
        raise ValueError(f"{subset_path}: patch indices must be a strictly increasing 1-D list")
    with open_store(store_path) as f:
        key = f"lr_x{scale}"
        if key not in f:
            raise KeyError(f"{store_path} has no LR patches for x{scale} (has {sorted(f)})")
        n_store = int(f["hr"].shape[0])
        if indices.size and (indices[0] < 0 or indices[-1] >= n_store):
            raise IndexError(f"{subset_path}: indices outside the store's {n_store} patches")
        return indices, read_rows(f[key], indices), read_rows(f["hr"], indices), n_store


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(
    spec: RunSpec,
    lr_patches: np.ndarray,
    hr_patches: np.ndarray,
    val_pairs: list,
    state_dir: str | os.PathLike,
    device: str = "cpu",
) -> Path:
    """Train (or resume) one run; return the folder holding ``best.pt``, ``last.pt``, ``log.csv``.

    ``state_dir`` must not be a declared Snakemake output: it survives a failed or killed job
    so the next attempt resumes from ``last.pt`` instead of iteration 0.
    """
    recipe = spec.recipe
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path, log_path = (state_dir / n for n in ("last.pt", "best.pt", "log.csv"))
    fingerprint = spec.fingerprint()

    torch.manual_seed(_mix(spec.seed, 0x1417))
    model = build_model(spec.model, scale=spec.scale, task="sr").to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=recipe.lr, betas=recipe.betas, eps=recipe.eps)
    start, best_psnr, seconds = 0, -math.inf, 0.0

    if last_path.exists():
        state = torch.load(last_path, map_location=device, weights_only=True)
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start, best_psnr, seconds = state["iteration"], state["best_psnr"], state["seconds"]
            log.info("resuming from %s at iteration %d", last_path, start)
        else:
            log.warning("%s belongs to other settings; starting from scratch", last_path)
            start = 0
    if start == 0:
        for path in (last_path, best_path, log_path):
            path.unlink(missing_ok=True)
    _truncate_log(log_path, start)

    sampler = PatchSampler(
        lr_patches, hr_patches, recipe.batch_size, spec.augment, spec.seed, device
    )
    checkpoint_every = recipe.checkpoint_every or recipe.val_every
    model.train()
    running, count, t0 = 0.0, 0, time.perf_counter()
    for it in range(start, recipe.iterations):
        for group in optimizer.param_groups:
            group["lr"] = recipe.lr_at(it)
        lr_batch, hr_batch = sampler.batch(it)
        loss = torch.nn.functional.l1_loss(model(lr_batch), hr_batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite loss ({loss.item()}) at iteration {it + 1}; the last good "
                f"checkpoint is kept in {last_path}"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.item()
        count += 1
        done = it + 1
        if done % recipe.val_every == 0 or done == recipe.iterations:
            psnr = float(
                evaluate_sr(model, val_pairs, spec.scale, device, with_ssim=False)["psnr"].mean()
            )
            elapsed = seconds + time.perf_counter() - t0
            _append_log(
                log_path, [done, running / count, recipe.lr_at(it), psnr, round(elapsed, 3)]
            )
            log.info(
                "iter %d/%d  loss %.4f  val %.3f dB  %.1f it/s",
                done,
                recipe.iterations,
                running / count,
                psnr,
                (done - start) / (elapsed - seconds),
            )
            running, count = 0.0, 0
            if psnr > best_psnr:
                best_psnr = psnr
                _atomic_save(
                    {
                        "model": model.state_dict(),
                        "iteration": done,
                        "val_psnr": psnr,
                        "fingerprint": fingerprint,
                    },
                    best_path,
                )
        if done % checkpoint_every == 0 or done == recipe.iterations:
            elapsed = seconds + time.perf_counter() - t0
            _atomic_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "iteration": done,
                    "best_psnr": best_psnr,
                    "seconds": elapsed,
                    "fingerprint": fingerprint,
                },
                last_path,
            )
    if not best_path.exists():  # resumed after the final checkpoint: nothing left to do
        raise RuntimeError(f"{state_dir}: finished state without a best checkpoint")
    return state_dir


def _truncate_log(path: Path, iteration: int) -> None:
    """Drop log rows written after the checkpoint we resume from (they will be redone)."""
    if not path.exists():
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerow(LOG_FIELDS)
        return
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if int(r["iteration"]) <= iteration]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _append_log(path: Path, row: list) -> None:
    with open(path, "a", newline="") as handle:
        csv.writer(handle).writerow(row)


def publish(state_dir: str | os.PathLike, model_out: str | os.PathLike, log_out: str | os.PathLike):
    """Copy the finished run's best weights and log to the workflow's declared outputs."""
    state_dir = Path(state_dir)
    best = torch.load(state_dir / "best.pt", map_location="cpu", weights_only=True)
    _atomic_save(best, Path(model_out))
    shutil.copyfile(state_dir / "log.csv", log_out)


def run_summary(path, run: dict, spec: RunSpec, n_store: int, log_csv) -> dict:
    """Write ``run.json``: the run's parameters, patch counts and its best validation point."""
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
        "fingerprint": spec.fingerprint(),
    }
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=2)
    return summary


def load_model(path, model_spec: dict, scale: int, device="cpu") -> torch.nn.Module:
    """A network built from ``model_spec`` holding the weights of a checkpoint from this module."""
    model = build_model(model_spec, scale=scale, task="sr")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"] if "model" in state else state, strict=True)
    return model.to(device).eval()
