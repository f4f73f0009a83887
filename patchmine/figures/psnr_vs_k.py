"""Figs. 6, 8 and 9: PSNR (or SSIM) vs number of patches, one curve per criterion, model or
stride, each curve's best point marked, optionally with the paper's zoomed panel (b) and the
reference (bicubic upscaling, the noisy input) every network is read against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from patchmine.figures.rows import (
    _letter,
    _several,
    _stack_rows,
    _test_set_rows,
    _title_rows,
)
from patchmine.figures.save import save_figure
from patchmine.figures.series import (
    _AUGMENTED_FIRST,
    _Colors,
    _distinct,
    _Markers,
    _series_keys,
)
from patchmine.figures.style import _k_axis, _legend, _mark_best, _note
from patchmine.labels import CRITERIA_ORDER, format_k, series_label
from patchmine.results import params_by_model
from patchmine.tables import missing_points, sort_settings

_METRIC_AXIS = {"psnr": "PSNR (dB)", "ssim": "SSIM"}


def psnr_vs_k_figure(
    results: pd.DataFrame,
    test_set: str | Sequence[str] | None = None,
    metric: str = "psnr",
    series: Sequence[str] | None = None,
    expected: pd.DataFrame | None = None,
    zoom_k_min: int | None = None,
    k_min: int | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    order: Sequence[str] = CRITERIA_ORDER,
    reference: tuple[str, float] | Mapping[str, tuple[str, float]] | None = None,
) -> tuple[Figure, pd.DataFrame]:
    """Mean ``metric`` vs number of patches, one curve per setting (criterion and augmentation by
    default; any other parameter that varies, e.g. the model for Fig. 8, adds curves).

    Colour = criterion (fixed across figures), else model or stride; solid = with augmentation,
    dashed = without; each curve's best point gets a triangle. ``zoom_k_min`` adds the paper's
    panel (b) showing K >= zoom_k_min (Fig. 6b: 60K); ``k_min`` drops smaller K altogether.
    ``test_set`` is one test set, or several: a row of panels each, in the order given, with the
    same colours throughout. ``reference`` (what, value), or a mapping of test sets to them: what
    every network is read against on that set (bicubic upscaling, the noisy input), a dotted line
    where it falls within a panel's range, else a legend entry saying it lies below (or above)
    the axis, so it never squeezes the curves.
    Returns the figure and what was plotted (test_set, the series columns, k, the metric,
    n_seeds, is_best, color, linestyle, marker, label); ``data.attrs["missing"]`` lists unfinished
    points (each prefixed by its test set when there are several).
    """
    several = _several(test_set)
    rows = _test_set_rows(results, test_set, metric, expected, k_min)
    if not any(len(sub) for _, sub, _ in rows):
        raise ValueError("nothing to plot: no results left after filtering")
    subs = [sub for _, sub, _ in rows if len(sub)]
    exps = [exp for _, _, exp in rows if exp is not None]
    keys = list(series) if series else _series_keys([*subs, *exps], ("criterion", "augment"))
    all_means = pd.concat([_means(sub, keys, metric) for sub in subs], ignore_index=True)

    panels = [None]
    if zoom_k_min is not None and (all_means["k"] >= zoom_k_min).sum() > 0:
        panels.append(zoom_k_min)
    fig = Figure(figsize=(7.0 * len(panels), 4.8 * len(rows)))
    grid = fig.subplots(len(rows), len(panels), squeeze=False)
    if several:
        _stack_rows(fig)
    palette = _Colors(keys, all_means)
    markers = _Markers(keys, all_means, palette)
    sizes = params_by_model(pd.concat(subs), pd.concat(exps) if exps else None)
    groups = sort_settings(_distinct(all_means, keys), keys, order, sizes, _AUGMENTED_FIRST)
    references = reference if isinstance(reference, Mapping) else {rows[0][0]: reference}
    plotted, notes = [], []
    for r, ((name, sub, exp), axes) in enumerate(zip(rows, grid, strict=True)):
        first = r * len(panels)  # the row's first panel: gids and letters count on across rows
        if sub.empty:  # titled like the others, so that the letters read (a), (b), (c)...
            for p, ax in enumerate(axes, start=first):
                ax.text(0.5, 0.5, f"No run has finished on {name} yet.", ha="center", gid="note")
                ax.set_axis_off()
                ax.set_title(f"({_letter(p)}) {name}", fontsize="medium")
            continue
        means = _means(sub, keys, metric)
        for values in groups:
            named = dict(zip(keys, values, strict=True))
            mask = np.logical_and.reduce([means[k] == v for k, v in named.items()])
            if not mask.any():
                continue
            curve = means[mask].sort_values("k").copy()
            curve.insert(0, "test_set", name)
            plotted.append(curve)
            _draw_curve(axes, panels, first, curve, named, exp, metric, palette, markers)
        missing = missing_points(sub, exp, metric) if exp is not None else None
        if missing is not None and len(missing):
            missing, partial = _partial_points(missing, means, keys)
            row_notes = _missing_note(missing, keys) + partial
            notes += [f"{name}: {n}" for n in row_notes] if several else row_notes
            _mark_missing(axes, panels, missing, keys, palette)
        for p, (ax, lo) in enumerate(zip(axes, panels, strict=True), start=first):
            shown = [k for k in means["k"] if lo is None or k >= lo]
            _k_axis(ax, shown)
            ax.set_ylabel(ylabel or _METRIC_AXIS[metric])
            if not shown:  # another set reaches the zoom's K, this one not yet
                ax.set_ylim(axes[0].get_ylim())
                ax.text(
                    0.5,
                    0.5,
                    f"No run with K ≥ {format_k(lo)} has finished on {name} yet.",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    gid="note",
                )
            what = "all numbers of patches" if lo is None else f"zoomed: K ≥ {format_k(lo)}"
            named_set = f"{name}, " if several else ""
            if len(panels) > 1:
                ax.set_title(f"({_letter(p)}) {named_set}{what}", fontsize="medium")
            elif several:
                ax.set_title(f"({_letter(p)}) {name}", fontsize="medium")
        if references.get(name) is not None:
            _reference_line(axes, *references[name], first=first)
        _legend(axes[-1], augment_varies="augment" in keys, curves_from=axes[0])
    if title:
        if several:
            _title_rows(fig, title)
        else:
            fig.suptitle(title)
    _note(fig, notes)
    data = pd.concat(plotted, ignore_index=True)
    cols = ["test_set", *keys, "k", metric, "n_seeds", "is_best", "color", "linestyle"]
    data = data[cols + ["marker", "label"]]
    data.attrs["missing"] = notes
    return fig, data


def _means(sub: pd.DataFrame, keys: Sequence[str], metric: str) -> pd.DataFrame:
    """Mean ``metric`` over seeds per setting and K, with how many seeds it averages."""
    means = sub.groupby(list(keys) + ["k"], sort=False)[metric].agg(["mean", "count"])
    return means.reset_index().rename(columns={"mean": metric, "count": "n_seeds"})


def _draw_curve(axes, panels, first, curve, named, exp, metric, palette, markers) -> None:
    """One setting's curve on each panel of a row (the zoomed one: its K >= the panel's least),
    its best point marked with a triangle; ``curve`` gains the columns that say how."""
    curve["is_best"] = curve[metric] == curve[metric].max()
    color = palette(named)
    style = "--" if ("augment" in named and not named["augment"]) else "-"
    label = series_label(named)
    marker = markers(named)
    curve["color"], curve["linestyle"], curve["label"] = color, style, label
    curve["marker"] = marker
    for p, (ax, lo) in enumerate(zip(axes, panels, strict=True), start=first):
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
        _mark_best(ax, best["k"], best[metric], label, p, color, hollow=style == "--")


def _reference_line(axes, what: str, value: float, first: int = 0) -> None:
    """A dotted line at ``value`` on each panel whose range (with a tenth of it to spare) holds
    it; on the others only a legend entry, so that a far-away reference (bicubic on Urban100 is
    5 dB below the networks) never squeezes the curves into a band. ``first``: the figure's
    number of the row's first panel."""
    for p, ax in enumerate(axes, start=first):
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
