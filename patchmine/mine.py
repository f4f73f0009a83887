"""Mining your own images: the paper's recipe as a tool.

Cut non-overlapping patches, score each (by default the paper's winner, what it calls the mean
gradient magnitude: Eq. 5, the mean squared gradient), keep the best ``keep`` of them, and hand
them over in forms any training code reads: an HDF5 file in the patch store's layout, a CSV
saying where every patch comes from, and PNG folders in EDSR's layout. The 8 flips and rotations
are left to the training loop, as in the paper.

The workflow cuts and scores with its usual rules (``patch_store``, ``score_statistics``,
``score_rand``); this module turns the config's ``mine`` section into a :class:`MinePlan` and
writes the kept patches (:func:`export_mined`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from PIL import Image

from patchmine.atomic import atomic_path
from patchmine.catalog import archive_name
from patchmine.config import ConfigError, check_criteria_named, check_on_lr_grid
from patchmine.paths import ResultPaths
from patchmine.select import k_label, parse_k_label, top_k_of_store
from patchmine.store import CHUNK_PATCHES, open_store, patch_corners, read_rows, too_small

log = logging.getLogger(__name__)

#: The files of a mined folder, by role.
OUTPUT_FILES = {
    "patches": "patches.h5",
    "table": "patches.csv",
    "images": "images.csv",
    "summary": "summary.md",
    "histogram": "scores.png",
}
#: The folder of a mine's PNGs, beside its files (when ``png`` is on).
PNG_FOLDER = "png"
#: Patches read, written and encoded at a time.
BLOCK = 4096


#: How to name a folder that YAML reads otherwise (Snakemake strips a value's outer quotes).
_QUOTING = (
    "--config reads its value as YAML, where ' #' starts a comment: give a folder name holding "
    "' #', ': ', brackets or braces in quotes inside a section, "
    "--config mine='{images: \"photos #2\"}'"
)


def expand_shorthand(config: dict) -> None:
    """Make the config's ``mine`` a mapping, before schema validation: ``--config
    mine=/data/hr`` gives a folder path. A pairs dataset is mined at its own scale unless
    ``scales`` says otherwise (the schema's default, [2], would be refused for x3 pairs). (The
    text values of ``--config mine='{images: /data/hr, keep: 0.4}'`` are typed by
    :func:`patchmine.overrides.read_back_command_line`.)"""
    value = config.get("mine")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        config["mine"] = value = {"images": str(value)}  # `mine=2024`: YAML reads a number
    if isinstance(value, list) or (isinstance(value, dict) and "images" not in value):
        raise ConfigError(f"mine: {value!r} names no folder (mine.images); {_QUOTING}")
    if isinstance(value, dict) and "scales" not in value:
        source = (config.get("datasets") or {}).get(value.get("images"))
        if isinstance(source, dict) and source.get("source") == "pairs" and "scale" in source:
            value["scales"] = [source["scale"]]


def folder_dataset_name(folder: str) -> str:
    """The dataset name of a mined folder: its own name, made safe for file names, and a short
    hash of its absolute path, so two folders never share results (``…/train/HR`` and
    ``…/valid/HR``), and one folder keeps them however its path is written."""
    path = os.path.abspath(os.path.expanduser(folder))
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", os.path.basename(path)).strip("_") or "images"
    return f"{stem[:40]}_{hashlib.sha256(path.encode()).hexdigest()[:6]}"


def describe_source(config: dict, dataset: str) -> str:
    """Where a mined dataset's images come from, in words, for the summary and the HDF5 file."""
    spec = config["datasets"][dataset]
    if spec["source"] == "folder":
        pattern = spec.get("pattern", "*")
        return spec["path"] + ("" if pattern == "*" else f" ({pattern})")
    if spec["source"] == "pairs":
        # its PNGs still go to LR_bicubic/ (EDSR's layout, which training code reads)
        return f"{spec['hr']} (LR: the pairs' own files in {spec['lr']}, not bicubic)"
    return f"dataset {dataset} ({spec['source']})"


@dataclass(frozen=True)
class MinePlan:
    """What to mine: a dataset's patches of one geometry, ranked by one criterion."""

    dataset: str
    patch: int
    stride: int
    criterion: str
    keep: str  # a K label: a count or a fraction of the patches (patchmine.select)
    scales: tuple[int, ...]
    png: bool

    @property
    def scores_name(self) -> str:
        """The scores file's name: ``loss`` is scored per task (the first scale's SR scorer)."""
        if self.criterion == "loss":
            return f"loss_sr_x{self.scales[0]}"
        return self.criterion

    def folder(self, results: str) -> str:
        """Where the kept patches go, named by every setting that chose them."""
        return ResultPaths(results).mined(
            self.dataset, self.patch, self.stride, self.criterion, self.keep
        )

    def outputs(self, results: str) -> dict[str, str]:
        """The files the ``mine`` rule writes, by role (see :func:`export_mined`)."""
        folder = self.folder(results)
        return {role: f"{folder}/{name}" for role, name in OUTPUT_FILES.items()}

    def png_dir(self, results: str) -> str | None:
        """The folder of PNGs (``HR/``, ``LR_bicubic/X<s>/``), when ``png`` is on."""
        return f"{self.folder(results)}/{PNG_FOLDER}" if self.png else None


def describe_scorer(config: dict, task: str) -> str:
    """Which network ranks patches by loss, in words: mining by loss is only as good as its
    scorer, and the one-line form uses whichever config is read (the demo's is a small one)."""
    scorer = config["scorer"]
    published = (scorer.get("weights") or {}).get(task)
    if published:
        name = archive_name(published["url"])
        return f"patches are ranked by the {task} error of published weights {name}"
    model = config.get("models", {}).get(scorer["model"])  # undefined: check_config names it
    recipe = config.get("recipes", {}).get(scorer["recipe"])
    what = ", ".join(f"{key} {value}" for key, value in (model or {}).items())
    length = f" ({recipe['iterations']} iterations)" if recipe else ""
    return (
        f"patches are ranked by the {task} error of scorer {scorer['model']!r}"
        f"{f' ({what})' if what else ''}, trained by recipe {scorer['recipe']!r}{length} on every "
        "patch cut here"
    )


def describe_ranking(config: dict, scores_path: str | os.PathLike) -> str:
    """Who ranked the patches of a scores file, for the mined summary: a loss file's scorer
    (:func:`describe_scorer`); empty for a pixel statistic, which its name says in full."""
    stem = Path(scores_path).stem
    return describe_scorer(config, stem.removeprefix("loss_")) if stem.startswith("loss_") else ""


def _refuse_a_folder_of_the_same_name(name: str, spec: dict) -> None:
    """``mine.images`` names a dataset and, as a path, a folder that is not that dataset's: the
    user may well mean the folder (a dataset of the demo is called ``demo_val``)."""
    if not Path(name).is_dir():
        return
    own = spec.get("path") or spec.get("hr")
    if own and os.path.realpath(own) == os.path.realpath(name):
        return
    raise ConfigError(
        f"mine.images: {name!r} names both the dataset datasets.{name} ({spec['source']}) and "
        f"the folder {os.path.abspath(name)}; write mine=./{name} to mine the folder, or rename "
        "one of them"
    )


def add_mining(config: dict) -> MinePlan | None:
    """The config's ``mine`` section as a plan (None without one).

    A folder path in ``mine.images`` is added to ``config["datasets"]`` under a name of its
    own (:func:`folder_dataset_name`), so the usual rules cut and score it. Mistakes raise
    :class:`ConfigError` naming the key.
    """
    spec = config.get("mine")
    if not spec:
        return None
    datasets = config.setdefault("datasets", {})
    images = spec["images"]
    if images in datasets:
        dataset = images
        _refuse_a_folder_of_the_same_name(images, datasets[images])
    else:
        # one folder, one dataset, however it is spelled (~, relative, a trailing slash)
        images = os.path.abspath(os.path.expanduser(images))
        folder = {"source": "folder", "path": images, "pattern": spec["pattern"]}
        if not Path(images).is_dir():
            numeric = re.fullmatch(r"[-+0-9.e]+", str(spec["images"]))
            raise ConfigError(
                f"mine.images: {spec['images']!r} is neither a dataset (defined: "
                f"{sorted(datasets)}) nor a folder (looked in {images})"
                + (
                    "; --config reads a name like 007 or 1e3 as a number: write mine=./<folder>"
                    if numeric
                    else f"; {_QUOTING}"
                )
            )
        dataset = folder_dataset_name(images)
        if datasets.get(dataset, folder) != folder:
            raise ConfigError(
                f"mine.images: the folder becomes dataset {dataset!r}, which the config "
                "already defines otherwise; name that dataset in mine.images instead"
            )
        datasets[dataset] = folder
    patch = spec["patch_size"]
    stride = spec.get("stride", patch)
    scales = tuple(spec["scales"])
    check_on_lr_grid([("mine.patch_size", patch), ("mine.stride", stride)], scales)
    check_criteria_named([spec["criterion"]], "mine.criterion")
    if spec["criterion"] == "loss" and ("scorer" not in config or not scales):
        raise ConfigError(
            "mine.criterion: 'loss' ranks patches by a super-resolution scorer's error: it needs "
            "a `scorer` section and at least one of mine.scales"
        )
    if spec["criterion"] == "loss":
        scorer = describe_scorer(config, f"sr_x{scales[0]}")
        log.warning("mine: %s; a config's `scorer` section chooses another", scorer)
    source = datasets[dataset]
    if source["source"] == "pairs" and scales != (source["scale"],):
        raise ConfigError(
            f"mine.scales: {list(scales)} but dataset {dataset!r} holds real "
            f"x{source['scale']} pairs; use scales: [{source['scale']}]"
        )
    return MinePlan(
        dataset=dataset,
        patch=patch,
        stride=stride,
        criterion=spec["criterion"],
        keep=k_label(spec["keep"]),
        scales=scales,
        png=spec["png"],
    )


def check_keep_fits(plan: MinePlan, sizes, scales) -> None:
    """A count in ``mine.keep`` above the patches the images give is refused while planning,
    from the images' (height, width) ``sizes`` read from their headers (the store's own cut:
    :func:`patchmine.store.patch_corners` over the store's ``scales``), rather than once the
    store has been cut and scored."""
    keep = parse_k_label(plan.keep)
    if not isinstance(keep, int):
        return  # a fraction of the store always fits
    total = sum(len(patch_corners(h, w, plan.patch, plan.stride, scales)[0]) for h, w in sizes)
    if keep > total:
        raise ConfigError(
            f"mine.keep: {keep:,} patches, but the {len(sizes)} images of {plan.dataset!r} give "
            f"{total:,} patches of {plan.patch} px at stride {plan.stride}; keep at most "
            f"{total:,}, or give a fraction of them (e.g. keep=0.5)"
        )


def mine_scales(plan: MinePlan | None, dataset: str, patch: int, stride: int) -> set[int]:
    """LR scales the mining plan needs from this store (none when it mines another)."""
    if plan is None or (plan.dataset, plan.patch, plan.stride) != (dataset, patch, stride):
        return set()
    return set(plan.scales)


# ---------------------------------------------------------------------------------------------
# Writing the kept patches


def export_mined(
    store_path: str | os.PathLike,
    scores: np.ndarray,
    keep: str,
    criterion: str,
    outputs: dict[str, str | os.PathLike],
    png_dir: str | os.PathLike | None = None,
    workers: int = 1,
    source: str = "",
    ranking: str = "",
) -> dict:
    """Keep the patches of the store with the highest ``scores`` and write them out.

    ``keep`` is a K label (a count, or a fraction of the store). ``outputs`` names the files of
    :meth:`MinePlan.outputs`: ``patches`` (HDF5 in the store's layout plus ``score`` and
    ``store_index``), ``table`` (one CSV row per kept patch: its image, corner, score and rank),
    ``images`` (per image: patches cut and kept, and why an image gave none), ``summary``
    (Markdown) and ``histogram`` (the scores with the cut-off). ``png_dir`` gets ``HR/`` and
    ``LR_bicubic/X<s>/``, encoded by ``workers`` threads (Pillow's encoder releases the GIL).
    ``source`` says where the images come from (:func:`describe_source`); it goes into the
    summary and the HDF5 attributes, as does ``ranking``, who scored the patches where their
    criterion does not say it (:func:`describe_ranking`). The HDF5 file, the PNG folder and the
    tables are written under temporary names and renamed when complete; without ``png_dir``,
    PNGs an earlier run left beside the files are removed (they would show another selection).
    Returns the summary's numbers.
    """
    from patchmine.figures import plot_mined_scores

    if png_dir is None:
        stale = Path(outputs["patches"]).parent / PNG_FOLDER
        if stale.is_dir():
            log.info("removing %s: PNGs of an earlier selection (png is off now)", stale)
            shutil.rmtree(stale)

    scores = np.asarray(scores, dtype=np.float64)
    with open_store(store_path) as store:
        n = int(store.attrs["n_patches"])
        if scores.shape != (n,):
            raise ValueError(
                f"{len(scores)} {criterion} scores for the {n} patches of {store_path}"
            )
        kept = top_k_of_store(scores, keep, n, store_path, "mine.keep")
        names = store["images"].asstr()[:]
        image_id = store["image_id"][:]
        rank = np.empty(len(kept), np.int64)
        rank[np.argsort(-scores[kept], kind="stable")] = np.arange(1, len(kept) + 1)
        table = pd.DataFrame(
            {
                "index": np.arange(len(kept)),
                "store_index": kept,
                "image": names[image_id[kept]],
                "y": store["y"][:][kept],
                "x": store["x"][:][kept],
                criterion: scores[kept],
                "rank": rank,
            }
        )
        scales = [int(s) for s in store.attrs["scales"]]
        patch_size = int(store.attrs["patch_size"])
        dataset = str(store.attrs.get("dataset", ""))
        threshold = float(scores[kept].min())
        attrs = dict(
            store.attrs,
            n_patches=len(kept),
            n_store=n,
            criterion=criterion,
            keep=keep,
            threshold=threshold,
            source=source,
            ranking=ranking,
        )
        stems = [f"{i}_y{y}_x{x}" for i, y, x in zip(table.image, table.y, table.x, strict=True)]
        columns = {
            "image_id": image_id[kept],
            "y": table.y.to_numpy(),
            "x": table.x.to_numpy(),
            "store_index": kept,
            "score": scores[kept],
        }
        _write_kept(store, kept, columns, attrs, outputs["patches"], png_dir, stems, workers)
    summary = {
        "dataset": dataset,
        "source": source,
        "ranking": ranking,
        "criterion": criterion,
        "keep": keep,
        "n_store": n,
        "n_kept": int(len(kept)),
        "threshold": threshold,
        "tied_out": int((scores == threshold).sum() - (scores[kept] == threshold).sum()),
        "mean_kept": float(scores[kept].mean()),
        "mean_all": float(scores.mean()),
    }
    _atomic_csv(table, outputs["table"])
    _atomic_csv(_per_image(names, image_id, kept, patch_size), outputs["images"])
    _write_summary(summary, store_path, scales, png_dir, outputs)
    plot_mined_scores(scores, threshold, criterion, len(kept), outputs["histogram"])
    log.info("kept %d of %d patches (%s >= %.4g)", len(kept), n, criterion, threshold)
    if summary["tied_out"]:  # flat images: many patches share the cut-off's score
        log.warning(
            "%d more patches score exactly %.6g, the cut-off, and were left out (ties keep the "
            "earlier patches in store order); summary.md says so too",
            summary["tied_out"],
            threshold,
        )
    return summary


def _write_kept(store, kept, columns, attrs, path, png_dir, stems, workers) -> None:
    """The kept patches, with ``columns`` (per-patch arrays already read) beside them, as a
    store of their own (``path``) and, with ``png_dir``, as PNGs named
    ``HR/<stem>.png`` and ``LR_bicubic/X<s>/<stem>x<s>.png``: one pass over the store in blocks
    (never the whole subset in memory), PNGs encoded by ``workers`` threads. Both are written
    under temporary names and renamed when complete."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    keys = ["hr"] + sorted(key for key in store if key.startswith("lr_x"))
    folders = {}
    if png_dir is not None:
        png_dir = Path(png_dir)
        png_tmp = png_dir.with_name(png_dir.name + ".tmp")
        shutil.rmtree(png_tmp, ignore_errors=True)
        folders = {key: png_tmp / "LR_bicubic" / f"X{key[4:]}" for key in keys[1:]}
        folders["hr"] = png_tmp / "HR"
        for folder in folders.values():
            folder.mkdir(parents=True)

    def save_png(file: Path, patch: np.ndarray) -> None:
        Image.fromarray(patch).save(file, format="PNG", compress_level=1)

    opened = False  # a file another process holds open (a job left running) is not ours to delete
    try:
        with h5py.File(tmp, "w") as out, ThreadPoolExecutor(max(1, workers)) as pool:
            opened = True
            for key in keys:
                shape = store[key].shape[1:]
                chunks = (max(1, min(CHUNK_PATCHES, len(kept))), *shape)
                out.create_dataset(key, (len(kept), *shape), np.uint8, chunks=chunks)
            for start in range(0, len(kept), BLOCK):
                rows = kept[start : start + BLOCK]
                for key in keys:
                    patches = read_rows(store[key], rows)
                    out[key][start : start + len(rows)] = patches
                    if key in folders:
                        suffix = "" if key == "hr" else key[3:]  # "x2"
                        names = stems[start : start + len(rows)]
                        files = [folders[key] / f"{stem}{suffix}.png" for stem in names]
                        list(pool.map(save_png, files, patches, chunksize=64))
            for key, values in columns.items():
                out.create_dataset(key, data=values)
            out.create_dataset("images", data=store["images"][:])
            out.attrs.update(attrs)
    except BaseException:
        if opened:
            tmp.unlink(missing_ok=True)
        if folders:
            shutil.rmtree(png_tmp, ignore_errors=True)
        raise
    os.replace(tmp, path)
    if folders:
        shutil.rmtree(png_dir, ignore_errors=True)
        os.replace(png_tmp, png_dir)


def _per_image(names, image_id, kept, patch_size: int) -> pd.DataFrame:
    """Per image of the store: patches cut and kept; an image that gave none is listed too, with
    why (the only reason a store has: it is smaller than one patch)."""
    cut = np.bincount(image_id, minlength=len(names))
    chosen = np.bincount(image_id[kept], minlength=len(names))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(cut > 0, chosen / np.maximum(cut, 1), np.nan)
    skipped = np.where(cut > 0, "", too_small(patch_size))
    return pd.DataFrame(
        {"image": names, "patches": cut, "kept": chosen, "kept_share": share, "skipped": skipped}
    )


def _atomic_csv(frame: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _write_summary(summary: dict, store_path, scales, png_dir, outputs) -> None:
    s = summary
    cut = f"{s['criterion']} >= {s['threshold']:.6g}"
    if s.get("tied_out"):  # flat patches often share one score: say which of them were kept
        cut += (
            f"; {s['tied_out']:,} more patches score exactly {s['threshold']:.6g} and were left "
            "out (ties keep the earlier patches in store order)"
        )
    lines = [
        f"# Mined patches of `{s['dataset']}`",
        "",
        *([f"Images: `{s['source']}`", ""] if s.get("source") else []),
        f"Kept **{s['n_kept']:,} of {s['n_store']:,}** patches of `{store_path}`: the highest "
        f"{s['criterion']} (keep = {s['keep']}), i.e. {cut}.",
        f"Mean {s['criterion']}: {s['mean_kept']:.6g} kept, {s['mean_all']:.6g} over all patches.",
        *([f"Ranking: {s['ranking']}."] if s.get("ranking") else []),
        "",
        "| file | what |",
        "|---|---|",
        f"| `{Path(outputs['patches']).name}` | `hr` (N, P, P, 3) uint8"
        + "".join(f", `lr_x{x}`" for x in scales)
        + "; `image_id`, `y`, `x` (top-left corner in the HR image), `images` (names),"
        " `score`, `store_index` |",
        f"| `{Path(outputs['table']).name}` | one row per kept patch: image, corner, score, rank |",
        f"| `{Path(outputs['images']).name}` | per image: patches cut and kept, and why an image "
        "gave none |",
        f"| `{Path(outputs['histogram']).name}` | the scores of all patches and the cut-off |",
    ]
    if png_dir is not None:
        lines.append(
            f"| `{Path(png_dir).name}/HR/`, `{Path(png_dir).name}/LR_bicubic/X<s>/` | every kept "
            "patch as PNG, named `<image>_y<y>_x<x>.png` (LR: `...x<s>.png`) |"
        )
    lines += [
        "",
        "Train on these with the 8 flips and rotations as augmentation (the paper's recipe).",
        "",
    ]
    with atomic_path(outputs["summary"]) as tmp:
        tmp.write_text("\n".join(lines))
