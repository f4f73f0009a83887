"""Fig. 5: the PSNR gain of augmentation (with minus without) vs number of patches, one curve
per criterion, a point where both runs of a K have finished.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from patchmine.figures.partial import _expected_ks, _mark_missing, _missing_note, _with_gaps
from patchmine.figures.save import save_figure
from patchmine.figures.series import (
    _Colors,
    _distinct,
    _Markers,
    _series_keys,
)
from patchmine.figures.style import _best_marker, _k_axis, _legend, _note
from patchmine.labels import CRITERIA_ORDER, series_label
from patchmine.results import params_by_model
from patchmine.tables import missing_points, normalise, select_test_set, sort_settings


def aug_gain_figure(
    results: pd.DataFrame,
    test_set: str | None = None,
    metric: str = "psnr",
    expected: pd.DataFrame | None = None,
    title: str | None = None,
    order: Sequence[str] = CRITERIA_ORDER,
) -> tuple[Figure, pd.DataFrame]:
    """PSNR with augmentation minus PSNR without, vs number of patches, one curve per criterion
    (and any other parameter that varies). A point needs both runs; the best (largest) gain of
    each curve gets a triangle. Returns the figure and (series, k, with, without, gain,
    is_best, color, label)."""
    sub = select_test_set(results, test_set, metric)
    test_set = test_set or str(sub["test_set"].iloc[0])
    exp = None
    if expected is not None and len(expected):
        exp = normalise(expected)
        exp = exp[exp["test_set"] == test_set]
    keys = [k for k in _series_keys([sub, exp], ("criterion",)) if k != "augment"]
    means = sub.groupby(keys + ["augment", "k"], sort=False)[metric].mean().reset_index()
    wide = means.pivot_table(index=keys + ["k"], columns="augment", values=metric).reset_index()
    if True not in wide.columns or False not in wide.columns:
        raise ValueError("the augmentation gain needs runs both with and without augmentation")
    wide = wide.rename(columns={True: "with", False: "without"}).dropna(subset=["with", "without"])
    wide.columns.name = None
    if wide.empty:
        raise ValueError("no K has runs both with and without augmentation")
    wide["gain"] = wide["with"] - wide["without"]

    fig = Figure(figsize=(7.0, 4.6))
    ax = fig.add_subplot()
    ax.axhline(0.0, color="black", linewidth=0.8)
    palette = _Colors(keys, wide)
    markers = _Markers(keys, wide, palette)
    plotted = []
    sizes = params_by_model(sub, exp)
    groups = sort_settings(_distinct(wide, keys), keys, order, sizes)
    for values in groups:
        named = dict(zip(keys, values, strict=True))
        mask = np.logical_and.reduce([wide[k] == v for k, v in named.items()])
        curve = wide[mask].sort_values("k").copy()
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
            gid=f"curve|{label}|0",
        )
        best = curve[curve["is_best"]]
        ax.plot(
            best["k"],
            best["gain"],
            linestyle="none",
            gid=f"best|{label}|0",
            **_best_marker(color),
        )
        plotted.append(curve)
    notes = []
    if exp is not None:
        missing = missing_points(sub, exp, metric)
        if len(missing):
            notes = _missing_note(missing, keys + ["augment"])
            notes = [n.replace("left out", "gain not shown for") for n in notes]
            _mark_missing([ax], [None], missing, keys, palette)
    _k_axis(ax, [k for curve in plotted for k in curve["k"]])
    unit = " (dB)" if metric == "psnr" else ""
    ax.set_ylabel(f"{metric.upper()} gain from augmentation{unit}")
    if title:
        ax.set_title(title)
    _legend(ax, augment_varies=False)
    _note(fig, notes)
    data = pd.concat(plotted, ignore_index=True)
    data = data[keys + ["k", "with", "without", "gain", "is_best", "color", "label"]]
    data.attrs["missing"] = notes
    return fig, data


def plot_aug_gain(results, path_png, path_pdf=None, **kwargs) -> pd.DataFrame:
    """Fig. 5 saved as PNG (and PDF); see :func:`aug_gain_figure`."""
    fig, data = aug_gain_figure(results, **kwargs)
    save_figure(fig, path_png, path_pdf)
    return data
