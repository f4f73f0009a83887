"""Figs. 6, 8 and 9: PSNR (or SSIM) vs number of patches, one curve per criterion, model or
stride, each curve's best point marked, optionally with the paper's zoomed panel (b) and the
reference (bicubic upscaling, the noisy input) every network is read against.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from patchmine.figures.partial import (
    _expected_ks,
    _mark_missing,
    _missing_note,
    _partial_points,
    _with_gaps,
)
from patchmine.figures.save import save_figure
from patchmine.figures.series import (
    _AUGMENTED_FIRST,
    _Colors,
    _distinct,
    _Markers,
    _series_keys,
)
from patchmine.figures.style import _best_marker, _k_axis, _legend, _note
from patchmine.labels import CRITERIA_ORDER, format_k, series_label
from patchmine.results import params_by_model
from patchmine.tables import missing_points, normalise, select_test_set, sort_settings

_METRIC_AXIS = {"psnr": "PSNR (dB)", "ssim": "SSIM"}


def psnr_vs_k_figure(
    results: pd.DataFrame,
    test_set: str | None = None,
    metric: str = "psnr",
    series: Sequence[str] | None = None,
    expected: pd.DataFrame | None = None,
    zoom_k_min: int | None = None,
    k_min: int | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    order: Sequence[str] = CRITERIA_ORDER,
    reference: tuple[str, float] | None = None,
) -> tuple[Figure, pd.DataFrame]:
    """Mean ``metric`` vs number of patches, one curve per setting (criterion and augmentation by
    default; any other parameter that varies, e.g. the model for Fig. 8, adds curves).

    Colour = criterion (fixed across figures), else model or stride; solid = with augmentation,
    dashed = without; each curve's best point gets a triangle. ``zoom_k_min`` adds the paper's
    panel (b) showing K >= zoom_k_min (Fig. 6b: 60K); ``k_min`` drops smaller K altogether.
    ``reference`` (what, value): what every network is read against on this test set (bicubic
    upscaling, the noisy input), a dotted line where it falls within a panel's range, else a
    legend entry saying it lies below (or above) the axis, so it never squeezes the curves.
    Returns the figure and what was plotted (the series columns, k, the metric, n_seeds,
    is_best, color, linestyle, marker, label); ``data.attrs["missing"]`` lists unfinished points.
    """
    sub = select_test_set(results, test_set, metric) if len(results) else None
    if test_set is None and sub is not None:
        test_set = str(sub["test_set"].iloc[0]) if len(sub) else None
    exp = None
    if expected is not None and len(expected):
        exp = normalise(expected)
        test_set = test_set or sorted(exp["test_set"].unique())[0]
        exp = exp[exp["test_set"] == test_set]
    if k_min is not None:
        sub = sub[sub["k"] >= k_min] if sub is not None else None
        exp = exp[~(exp["k"] < k_min)] if exp is not None else None
    if sub is None or sub.empty:
        raise ValueError("nothing to plot: no results left after filtering")
    keys = list(series) if series else _series_keys([sub, exp], ("criterion", "augment"))
    means = sub.groupby(keys + ["k"], sort=False)[metric].agg(["mean", "count"]).reset_index()
    means = means.rename(columns={"mean": metric, "count": "n_seeds"})
    missing = missing_points(sub, exp, metric) if exp is not None else None

    panels = [None]
    if zoom_k_min is not None and (means["k"] >= zoom_k_min).sum() > 0:
        panels.append(zoom_k_min)
    fig = Figure(figsize=(7.0 * len(panels), 4.8))
    axes = fig.subplots(1, len(panels), squeeze=False).ravel()
    palette = _Colors(keys, means)
    markers = _Markers(keys, means, palette)
    sizes = params_by_model(sub, exp)
    groups = sort_settings(_distinct(means, keys), keys, order, sizes, _AUGMENTED_FIRST)
    plotted = []
    for values in groups:
        named = dict(zip(keys, values, strict=True))
        mask = np.logical_and.reduce([means[k] == v for k, v in named.items()])
        curve = means[mask].sort_values("k").copy()
        curve["is_best"] = curve[metric] == curve[metric].max()
        color = palette(named)
        style = "--" if ("augment" in named and not named["augment"]) else "-"
        label = series_label(named)
        marker = markers(named)
        curve["color"], curve["linestyle"], curve["label"] = color, style, label
        curve["marker"] = marker
        plotted.append(curve)
        for p, (ax, lo) in enumerate(zip(axes, panels, strict=True)):
            part = curve if lo is None else curve[curve["k"] >= lo]
            if part.empty:
                continue
            ks = [k for k in _expected_ks(exp, named) if lo is None or k >= lo]
            xs, ys = _with_gaps(part["k"], part[metric], ks)
            ax.plot(
                xs,
                ys,
                color=color,
                linestyle=style,
                marker=marker,
                markersize=3 if markers.key is None else 4,
                label=label,
                gid=f"curve|{label}|{p}",
            )
            best = part[part["is_best"]]
            if best.empty:  # the curve's best lies outside this (zoomed) panel
                continue
            ax.plot(
                best["k"],
                best[metric],
                linestyle="none",
                gid=f"best|{label}|{p}",
                **_best_marker(color, hollow=style == "--"),
            )
    notes = []
    if missing is not None and len(missing):
        missing, partial = _partial_points(missing, means, keys)
        notes = _missing_note(missing, keys) + partial
        _mark_missing(axes, panels, missing, keys, palette)
    for p, (ax, lo) in enumerate(zip(axes, panels, strict=True)):
        _k_axis(ax, [k for k in means["k"] if lo is None or k >= lo])
        ax.set_ylabel(ylabel or _METRIC_AXIS[metric])
        if len(panels) > 1:
            what = "all numbers of patches" if lo is None else f"zoomed: K ≥ {format_k(lo)}"
            ax.set_title(f"({'ab'[p]}) {what}", fontsize="medium")
    if title:
        fig.suptitle(title)
    if reference is not None:
        _reference_line(axes, *reference)
    _legend(axes[-1], augment_varies="augment" in keys)
    _note(fig, notes)
    data = pd.concat(plotted, ignore_index=True)
    cols = keys + ["k", metric, "n_seeds", "is_best", "color", "linestyle", "marker", "label"]
    data = data[cols]
    data.attrs["missing"] = notes
    return fig, data


def _reference_line(axes, what: str, value: float) -> None:
    """A dotted line at ``value`` on each panel whose range (with a tenth of it to spare) holds
    it; on the others only a legend entry, so that a far-away reference (bicubic on Urban100 is
    5 dB below the networks) never squeezes the curves into a band."""
    for p, ax in enumerate(axes):
        lo, hi = ax.get_ylim()
        spare = 0.1 * (hi - lo)
        label = f"{what}: {value:.2f} dB"
        if lo - spare <= value <= hi + spare:
            ax.axhline(value, color="0.4", linestyle=":", linewidth=1.2, label=label)
        else:
            where = "below" if value < lo else "above"
            ax.plot([], [], color="0.4", linestyle=":", label=f"{label} ({where} the axis)")
        ax.lines[-1].set_gid(f"reference|{p}")


def plot_psnr_vs_k(
    results: pd.DataFrame,
    path_png: str | Path,
    path_pdf: str | Path | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Fig. 6 (and 8, 9) saved as PNG (and PDF); see :func:`psnr_vs_k_figure` for the options."""
    fig, data = psnr_vs_k_figure(results, **kwargs)
    save_figure(fig, path_png, path_pdf)
    return data
