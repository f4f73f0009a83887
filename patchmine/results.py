"""Gathering finished runs into one long table: one row per (run, test set)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


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
