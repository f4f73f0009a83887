"""Fig. 5: the PSNR gain of augmentation (with minus without) vs number of patches, one curve
per criterion, a point where both runs of a K have finished.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from patchmine.figures.partial import _expected_ks, _mark_missing, _missing_note, _with_gaps
from patchmine.figures.rows import (
    _letter,
    _several,
    _stack_rows,
    _test_set_rows,
    _title_rows,
)
from patchmine.figures.save import save_figure
from patchmine.figures.series import (
    _Colors,
    _distinct,
    _Markers,
    _series_keys,
)
from patchmine.figures.style import _k_axis, _legend, _mark_best, _note
from patchmine.labels import CRITERIA_ORDER, series_label
from patchmine.results import params_by_model
from patchmine.tables import missing_points, sort_settings


def aug_gain_figure(
    results: pd.DataFrame,
    test_set: str | Sequence[str] | None = None,
    metric: str = "psnr",
    expected: pd.DataFrame | None = None,
    title: str | None = None,
    order: Sequence[str] = CRITERIA_ORDER,
) -> tuple[Figure, pd.DataFrame]:
    """PSNR with augmentation minus PSNR without, vs number of patches, one curve per criterion
    (and any other parameter that varies). A point needs both runs; the best (largest) gain of
    each curve gets a triangle. ``test_set`` is one test set, or several: a panel each, one
    under the other, in the same colours. Returns the figure and (test_set, series, k, with,
    without, gain, is_best, color, label); ``data.attrs["missing"]`` lists unfinished points
    (each prefixed by its test set when there are several)."""
    several = _several(test_set)
    rows = _test_set_rows(results, test_set, metric, expected)
    subs = [sub for _, sub, _ in rows if len(sub)]
    exps = [exp for _, _, exp in rows if exp is not None]
    if not subs:
        raise ValueError("no K has runs both with and without augmentation")
    keys = [k for k in _series_keys([*subs, *exps], ("criterion",)) if k != "augment"]
    rows = [
        (name, sub, exp, _gains(sub, keys, metric, not several) if len(sub) else None)
        for name, sub, exp in rows
    ]
    drawn = [wide for *_, wide in rows if wide is not None]
    if not drawn:
        raise ValueError("no K has runs both with and without augmentation")
    every = pd.concat(drawn, ignore_index=True)

    fig = Figure(figsize=(7.0, 4.6 * len(rows)))
    axes = fig.subplots(len(rows), 1, squeeze=False).ravel()
    if several:
        _stack_rows(fig)
    palette = _Colors(keys, every)
    markers = _Markers(keys, every, palette)
    sizes = params_by_model(pd.concat(subs), pd.concat(exps) if exps else None)
    groups = sort_settings(_distinct(every, keys), keys, order, sizes)
    plotted, notes = [], []
    for r, ((name, sub, exp, wide), ax) in enumerate(zip(rows, axes, strict=True)):
        if several:
            ax.set_title(f"({_letter(r)}) {name}", fontsize="medium")
        if wide is None:
            ax.text(
                0.5,
                0.5,
                f"No K has runs both with and without augmentation on {name} yet.",
                ha="center",
                va="center",
                transform=ax.transAxes,
                gid="note",
            )
            ax.set_axis_off()
            continue
        ax.axhline(0.0, color="black", linewidth=0.8)
        row = []
        for values in groups:
            named = dict(zip(keys, values, strict=True))
            mask = np.logical_and.reduce([wide[k] == v for k, v in named.items()])
            if not mask.any():
                continue
            curve = wide[mask].sort_values("k").copy()
            curve.insert(0, "test_set", name)
            curve["is_best"] = curve["gain"] == curve["gain"].max()
            color = palette(named)
            label = series_label(named)
            curve["color"], curve["label"] = color, label
            xs, ys = _with_gaps(curve["k"], curve["gain"], _expected_ks(exp, named))
            ax.plot(
                xs,
                ys,
                color=color,
                marker=markers(named),
                markersize=3 if markers.key is None else 4,
                label=label,
                gid=f"curve|{label}|{r}",
            )
            best = curve[curve["is_best"]]
            _mark_best(ax, best["k"], best["gain"], label, r, color)
            row.append(curve)
        if exp is not None:
            missing = missing_points(sub, exp, metric)
            if len(missing):
                row_notes = _missing_note(missing, keys + ["augment"])
                row_notes = [n.replace("left out", "gain not shown for") for n in row_notes]
                notes += [f"{name}: {n}" for n in row_notes] if several else row_notes
                _mark_missing([ax], [None], missing, keys, palette)
        _k_axis(ax, [k for curve in row for k in curve["k"]])
        unit = " (dB)" if metric == "psnr" else ""
        ax.set_ylabel(f"{metric.upper()} gain from augmentation{unit}")
        _legend(ax, augment_varies=False)
        plotted += row
    if title:
        if several:
            _title_rows(fig, title)
        else:
            axes[0].set_title(title)
    _note(fig, notes)
    data = pd.concat(plotted, ignore_index=True)
    data = data[["test_set", *keys, "k", "with", "without", "gain", "is_best", "color", "label"]]
    data.attrs["missing"] = notes
    return fig, data


def _gains(sub: pd.DataFrame, keys: list[str], metric: str, required: bool) -> pd.DataFrame | None:
    """Per setting and K, the mean ``metric`` with and without augmentation and their
    difference, where both have finished; None where no K has both yet, or an error instead when
    ``required`` (a figure of one test set)."""
    means = sub.groupby(keys + ["augment", "k"], sort=False)[metric].mean().reset_index()
    wide = means.pivot_table(index=keys + ["k"], columns="augment", values=metric).reset_index()
    if True not in wide.columns or False not in wide.columns:
        if required:
            raise ValueError("the augmentation gain needs runs both with and without augmentation")
        return None
    wide = wide.rename(columns={True: "with", False: "without"}).dropna(subset=["with", "without"])
    wide.columns.name = None
    if wide.empty:
        if required:
            raise ValueError("no K has runs both with and without augmentation")
        return None
    wide["gain"] = wide["with"] - wide["without"]
    return wide


def plot_aug_gain(results, path_png, path_pdf=None, **kwargs) -> pd.DataFrame:
    """Fig. 5 saved as PNG (and PDF); see :func:`aug_gain_figure`."""
    fig, data = aug_gain_figure(results, **kwargs)
    save_figure(fig, path_png, path_pdf)
    return data
