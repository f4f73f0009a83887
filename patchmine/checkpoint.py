"""A run's state folder (``results/state/<run>/``): ``last.pt``, ``best.pt``, ``log.csv`` and
the states of its other settings set aside in ``superseded/``.

``last.pt`` is the single source of truth: it holds the weights, the optimizer, the best weights
so far, the log rows and the RNG states, and ``best.pt`` and ``log.csv`` are rewritten from it on
resume, so nothing written after the checkpoint survives into the resumed run. Every file is
written whole or not at all (a temporary file, fsync, rename). Which saved state a run may go on
from is decided by its fingerprint (:meth:`patchmine.train.RunSpec.fingerprint`).
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from patchmine.train import RunSpec

log = logging.getLogger(__name__)

#: ``trained_on``: the device and precision of the attempt that logged the row ("cuda bf16",
#: "cpu fp32"), since they change the last bits of the weights but not the run's identity.
LOG_FIELDS = ["iteration", "loss", "lr", "val_psnr", "trained_on", "seconds"]

#: States of a run's other settings kept in ``<state>/superseded/`` (newest first), so that an
#: edit of a shared recipe or model that is then reverted resumes them instead of starting over.
KEEP_SUPERSEDED = 3


def atomic_save(obj, path: Path) -> None:
    """Write to ``<name>.tmp``, flush it to disk, then rename: ``path`` is never half-written."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def snapshot(model: torch.nn.Module) -> dict:
    """A copy of the weights that later steps will not change (stays on the device)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def rng_state(device) -> dict:
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


def set_rng_state(state: dict, device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    pos, has_gauss, gauss = state["numpy_rest"]
    keys = state["numpy_keys"].cpu().numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, pos, has_gauss, gauss))  # noqa: NPY002
    if "cuda" in state and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def load_resumable(last_path: Path, spec: RunSpec, device) -> dict | None:
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


def append_log(path: Path, row: list) -> None:
    with open(path, "a", newline="") as handle:
        csv.writer(handle).writerow(row)


def sync_files(state_dir: Path, best: dict | None, rows: list) -> None:
    """Make ``best.pt`` and ``log.csv`` agree with the state we start from, dropping leftovers
    (``*.tmp`` of a save that was killed, a best or log rows newer than the checkpoint)."""
    for tmp in state_dir.glob("*.tmp"):
        tmp.unlink()
    best_path = state_dir / "best.pt"
    if best is None:
        best_path.unlink(missing_ok=True)
    else:
        atomic_save(best, best_path)
    _write_log(state_dir / "log.csv", rows)
