"""Gathering finished runs, and published models evaluated here, into long tables: one row per
(run or published model, test set), with each row's network described (architecture, size,
parameter count)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from patchmine.tasks import Task


def collect_results(meta_paths: list, eval_paths: list) -> pd.DataFrame:
    """Join each run's ``run.json`` with the mean metrics of its ``eval/<test set>.csv`` files.

    An evaluation file belongs to the run folder two levels above it; its stem names the test set.
    """
    metas = {}
    for path in meta_paths:
        with open(path) as handle:
            metas[Path(path).parent.resolve()] = json.load(handle)
    rows = []
    for path in eval_paths:
        path = Path(path)
        run_dir = path.parent.parent.resolve()
        if run_dir not in metas:
            raise KeyError(f"{path}: no run.json for its run folder {run_dir}")
        meta = metas[run_dir]
        per_image = pd.read_csv(path)
        rows.append(
            {
                **{k: v for k, v in meta.items() if k != "k"},
                "k_label": meta["k"],
                "k": meta["k_count"],
                "augment": meta["aug"] == "aug",
                "test_set": path.stem,
                "images": len(per_image),
                "psnr": per_image["psnr"].mean(),
                "ssim": per_image["ssim"].mean(),
            }
        )
    return pd.DataFrame(rows)


def collect_published(eval_paths: list, entries: dict) -> pd.DataFrame:
    """One row per (published model, test set) from ``published/<name>/eval/<test set>.csv``
    files: the config entry's name, model, task and url, ``weights == "published"`` (what the
    paper comparison's Table IV "Baseline" row looks for) and the mean metrics."""
    rows = []
    for path in eval_paths:
        path = Path(path)
        name = path.parent.parent.name
        if name not in entries:
            raise KeyError(f"{path}: {name!r} is not among the published models {sorted(entries)}")
        spec = entries[name]
        per_image = pd.read_csv(path)
        rows.append(
            {
                "published": name,
                "model": spec["model"],
                "task": spec["task"],
                "weights": "published",
                "url": spec["url"],
                "test_set": path.stem,
                "images": len(per_image),
                "psnr": per_image["psnr"].mean(),
                "ssim": per_image["ssim"].mean(),
            }
        )
    return pd.DataFrame(rows)


def model_info(models: Mapping[str, Mapping], task: str = "sr_x2") -> dict[str, dict]:
    """Architecture, depth, width and parameter count of each config model (built on the CPU)."""
    from patchmine.models import build_model, count_parameters

    parsed = Task.parse(task)
    info = {}
    for name, spec in models.items():
        try:
            params = count_parameters(build_model(dict(spec), parsed.scale, parsed.model_task))
        except (ValueError, TypeError):
            params = math.nan
        info[name] = {
            "arch": spec.get("arch"),
            "blocks": spec.get("blocks", spec.get("layers")),
            "channels": spec.get("channels"),
            "params": params,
        }
    return info


def add_model_columns(results: pd.DataFrame, models: Mapping[str, Mapping]) -> pd.DataFrame:
    """``results`` with arch, blocks, channels and params of each row's model (per task)."""
    out = results.copy()
    if out.empty or "model" not in out.columns:
        return out
    cache: dict = {}
    cols: dict[str, list] = {"arch": [], "blocks": [], "channels": [], "params": []}
    for model, task in zip(out["model"], out.get("task", ["sr_x2"] * len(out)), strict=True):
        key = (str(model), str(task))
        if key not in cache:
            spec = models.get(str(model))
            cache[key] = model_info({model: spec}, str(task))[model] if spec else {}
        for col in cols:
            cols[col].append(cache[key].get(col))
    for col, values in cols.items():
        out[col] = values
    return out


def params_by_model(*frames: pd.DataFrame | None) -> dict[str, float]:
    """Each model's parameter count, from the ``params`` column of any of ``frames`` that have
    one (see :func:`add_model_columns`): tables and figures list models by size."""
    out = {}
    for frame in frames:
        if frame is not None and len(frame) and {"model", "params"} <= set(frame.columns):
            for model, n in zip(frame["model"], frame["params"], strict=True):
                if pd.notna(n):
                    out[str(model)] = float(n)
    return out
