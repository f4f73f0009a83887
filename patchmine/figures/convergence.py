"""Fig. 4: validation PSNR vs iteration, one curve per number of patches, without (a) and with
(b) augmentation; read from the training logs rather than the evaluated results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from patchmine.figures.partial import _missing_note
from patchmine.figures.save import save_figure
from patchmine.figures.style import _legend, _mark_best, _note
from patchmine.labels import format_k, pick_convergence_criterion
from patchmine.tables import normalise

#: Line styles of Fig. 4's curves, one per setting beyond K (model, stride, ...) when runs differ.
CURVE_STYLES = ("-", "--", ":", "-.")


def convergence_figure(
    logs: Sequence[tuple[Mapping, pd.DataFrame]],
    criterion: str | None = None,
    expected: Sequence[Mapping] | None = None,
    val_set: str = "",
    title: str | None = None,
) -> tuple[Figure, pd.DataFrame]:
    """Validation PSNR vs iteration of ``criterion``'s runs (default :func:`pick_convergence_
    criterion`), one curve per K, coloured from green (few patches) to blue (many) as in the
    paper; panel (a) without augmentation, (b) with it. Runs that differ in more than K (model,
    stride, ...) get a line style per setting, so that two models' curves of one K never look
    alike. Seeds are averaged per iteration; each curve's best validation point gets a
    triangle.

    ``logs`` pairs each run's ``run.json`` content with its ``train_log.csv`` (iteration,
    val_psnr). ``expected`` lists the runs (``run.json``-like dicts) the figure should show; those
    without a log are named in a note. Returns the figure and (augment, k, iteration, val_psnr,
    n_seeds, is_best, color, label, linestyle).
    """
    criterion = criterion or pick_convergence_criterion([m["criterion"] for m, _ in logs])
    rows = []
    for meta, log in logs:
        if str(meta["criterion"]) != criterion:
            continue
        part = log[["iteration", "val_psnr"]].copy()
        part["augment"] = meta.get("aug") == "aug"
        part["k"] = int(meta["k_count"])
        part["k_label"] = str(meta["k"])
        part["seed"] = meta.get("seed", 0)
        for key in ("model", "stride", "dataset", "patch", "recipe"):
            part[key] = meta.get(key)
        rows.append(part)
    if not rows:
        raise ValueError(f"no training log of criterion {criterion!r}")
    curves = pd.concat(rows, ignore_index=True)
    extra = [
        k
        for k in ("model", "stride", "dataset", "patch", "recipe")
        if curves[k].astype(str).nunique() > 1
    ]
    grouped = curves.groupby(["augment", *extra, "k", "iteration"], sort=True)["val_psnr"]
    means = grouped.agg(["mean", "count"]).reset_index()
    means = means.rename(columns={"mean": "val_psnr", "count": "n_seeds"})
    augments = sorted(means["augment"].unique())
    ks = sorted(means["k"].unique())
    cmap = colormaps["winter"]
    color_of = {k: cmap(1.0 - (i / max(1, len(ks) - 1))) for i, k in enumerate(ks)}
    settings = dict.fromkeys(tuple(v) for v in means[extra].astype(str).itertuples(index=False))
    style_of = {v: CURVE_STYLES[i % len(CURVE_STYLES)] for i, v in enumerate(settings or [()])}

    fig = Figure(figsize=(6.2 * len(augments), 4.6))
    axes = fig.subplots(1, len(augments), squeeze=False, sharey=True).ravel()
    plotted = []
    for p, (ax, augment) in enumerate(zip(axes, augments, strict=True)):
        part = means[means["augment"] == augment]
        for values, curve in part.groupby([*extra, "k"], sort=True):
            values = values if isinstance(values, tuple) else (values,)
            k = int(values[-1])
            prefix = " / ".join(str(v) for v in values[:-1])
            label = (prefix + " / " if prefix else "") + f"K = {format_k(k)}"
            style = style_of[tuple(str(v) for v in values[:-1])]
            curve = curve.sort_values("iteration").copy()
            curve["is_best"] = curve["val_psnr"] == curve["val_psnr"].max()
            curve["color"], curve["label"] = [color_of[k]] * len(curve), label
            curve["linestyle"] = style
            ax.plot(
                curve["iteration"],
                curve["val_psnr"],
                color=color_of[k],
                linestyle=style,
                label=label,
                linewidth=1.2,
                gid=f"curve|{label}|{p}",
            )
            best = curve[curve["is_best"]].iloc[:1]
            _mark_best(ax, best["iteration"], best["val_psnr"], label, p, color_of[k])
            plotted.append(curve)
        name = "with augmentation" if augment else "without augmentation"
        ax.set_title(f"({'ab'[p]}) {name}" if len(augments) > 1 else name, fontsize="medium")
        ax.set_xlabel("Iteration")
        ax.grid(True, alpha=0.3)
    where = f" on {val_set}" if val_set else ""
    axes[0].set_ylabel(f"Validation PSNR{where} (dB)")
    if title:
        fig.suptitle(f"{title} (criterion: {criterion})")
    _legend(axes[-1], augment_varies=False)
    notes = []
    if expected:
        have = {
            (m.get("aug"), str(m["k"]), m.get("seed"), m.get("model"), m.get("stride"))
            for m, _ in logs
            if str(m["criterion"]) == criterion
        }
        absent = [
            e
            for e in expected
            if str(e["criterion"]) == criterion
            and (e.get("aug"), str(e["k"]), e.get("seed"), e.get("model"), e.get("stride"))
            not in have
        ]
        if absent:
            missing = normalise(
                pd.DataFrame(
                    [
                        {**a, "augment": a.get("aug") == "aug", "k_label": str(a["k"])}
                        for a in absent
                    ]
                )
            )
            counts = {lab: k for lab, k in zip(curves["k_label"], curves["k"], strict=True)}
            # a label that is a count is its own K; a fraction takes a drawn curve's count
            missing["k"] = [
                float(lab) if lab.isdigit() else counts.get(lab, np.nan)
                for lab in missing["k_label"]
            ]
            notes = _missing_note(missing, ["augment"])
    _note(fig, notes)
    data = pd.concat(plotted, ignore_index=True)
    data = data[
        [
            *("augment", *extra, "k", "iteration", "val_psnr", "n_seeds"),
            *("is_best", "color", "label", "linestyle"),
        ]
    ]
    data.attrs["missing"] = notes
    data.attrs["criterion"] = criterion
    return fig, data


def plot_convergence(logs, path_png, path_pdf=None, **kwargs) -> pd.DataFrame:
    """Fig. 4 saved as PNG (and PDF); see :func:`convergence_figure`."""
    fig, data = convergence_figure(logs, **kwargs)
    save_figure(fig, path_png, path_pdf)
    return data
