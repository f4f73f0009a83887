"""The paper's figures from finished results, drawn as the paper draws them.

* :func:`psnr_vs_k_figure` -- Figs. 6, 8 and 9: PSNR vs number of patches, one curve per
  criterion (Fig. 6, 9), model (Fig. 8) or stride, best point of each curve marked with a
  triangle, optionally with the paper's zoomed panel (b) above some K;
* :func:`aug_gain_figure` -- Fig. 5: PSNR gain of augmentation vs number of patches;
* :func:`convergence_figure` -- Fig. 4: validation PSNR vs iteration, one curve per K, without
  (a) and with (b) augmentation;
* :func:`correlation_figure` -- Fig. 7: per-patch losses of two tasks against each other, with
  Pearson's rho printed; a 2-D histogram with a log colour scale when there are many patches;
* :func:`histograms_figure` -- Figs. 2-3: histograms of every criterion's score.

Each ``*_figure`` function returns the ``matplotlib.figure.Figure`` and a table of what it drew
(the same numbers as the tables), so tests can check a figure's content, not only its existence;
each ``plot_*`` function saves PNG (and PDF) and returns the table. Lines and markers carry a
``gid`` ("curve|<label>|<panel>", "best|<label>|<panel>") to find them again.

Partial data: pass ``expected`` (:func:`patchmine.tables.expected_points`) and the points the
configuration asks for that have not finished are named in a note on the figure and marked with
an "x" on the K axis; without ``expected`` a figure shows what it is given.

Figures are drawn on ``Figure`` objects and never through ``pyplot``, so nothing here needs a
display or changes matplotlib's global backend, and jobs running side by side in one process
cannot tread on each other's figures.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from patchmine.criterion_names import STATISTICS
from patchmine.labels import (
    CRITERIA_ORDER,
    HISTOGRAM_ORDER,
    criterion_color,
    format_k,
    pick_convergence_criterion,
    series_label,
    spare_color,
)
from patchmine.results import params_by_model
from patchmine.tables import (
    describe_missing,
    missing_points,
    normalise,
    select_test_set,
    sort_settings,
)

_METRIC_AXIS = {"psnr": "PSNR (dB)", "ssim": "SSIM"}
#: Parameters that may tell curves apart, in legend order.
SERIES_KEYS = ("task", "dataset", "patch", "recipe", "model", "stride", "criterion", "augment")
#: Markers: every point, the best point of a curve (the paper's triangle), a missing point.
BEST_MARKER = "^"
MISSING_MARKER = "x"


#: Widest PNG written (pixels): wider figures are saved at a lower resolution, so that they fit
#: the content pane of Snakemake's HTML report (which cuts off what overflows on the left) and a
#: laptop screen; the PDF keeps every detail.
MAX_PNG_WIDTH = 1100
PNG_DPI = 150


def save_figure(fig: Figure, path_png: str | Path, path_pdf: str | Path | None = None) -> None:
    """Save PNG (at most :data:`MAX_PNG_WIDTH` pixels wide) and optionally PDF, creating
    folders, since workflow outputs may be nested."""
    from io import BytesIO

    from PIL import Image

    for path in (path_png, path_pdf):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    dpi = PNG_DPI
    for _ in range(4):  # the tight box does not scale exactly with the resolution
        buffer = BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        width = Image.open(BytesIO(buffer.getvalue())).width
        if width <= MAX_PNG_WIDTH:
            break
        dpi *= 0.995 * MAX_PNG_WIDTH / width
    Path(path_png).write_bytes(buffer.getvalue())
    if path_pdf is not None:
        fig.savefig(path_pdf, bbox_inches="tight")


#: Up to this many numbers of patches, each gets a tick of its own (the paper's 10K...150K).
K_TICKS_MAX = 16


def _k_axis(ax, ks: Sequence[int] = ()) -> None:
    """The number-of-patches axis: ticks at the K values drawn (so that 636 reads 636, not a
    point between 600 and 800), or round values where there are too many."""
    ax.set_xlabel("Number of patches")
    ks = sorted({int(k) for k in ks})
    if 0 < len(ks) <= K_TICKS_MAX:
        ax.set_xticks(ks)
        if len(ks) > 8:
            ax.tick_params(axis="x", labelrotation=45)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_k(round(x))))
    ax.grid(True, alpha=0.3)


def _note(fig: Figure, lines: Sequence[str], width: int = 110) -> str:
    """Print a note under the axes (what is missing); returns the text drawn."""
    if not lines:
        return ""
    text = "\n".join(textwrap.fill(line, width) for line in lines)
    fig.text(0.01, -0.02, text, ha="left", va="top", fontsize="small", color="darkred", gid="note")
    return text


def _missing_note(missing: pd.DataFrame, series: Sequence[str]) -> list[str]:
    described = describe_missing(missing, series)
    if not described:
        return []
    items = "; ".join(f"{label}: K = {ks}" for label, ks in described.items())
    return [f"Partial data - not finished yet, left out: {items}."]


def _series_keys(frames: Sequence[pd.DataFrame], default: Sequence[str]) -> list[str]:
    """Keys that vary across ``frames``, plus ``default`` ones, in :data:`SERIES_KEYS` order."""
    both = pd.concat([f for f in frames if f is not None and len(f)], ignore_index=True)
    keys = [
        k
        for k in SERIES_KEYS
        if k in both.columns and (k in default or both[k].astype(str).nunique() > 1)
    ]
    return keys


def _varying(keys: Sequence[str], frame: pd.DataFrame) -> list[str]:
    """The ``keys`` that take more than one value in ``frame``."""
    return [k for k in keys if k in frame.columns and frame[k].astype(str).nunique() > 1]


class _Cycle:
    """The next of ``styles`` for each new name, in order of appearance (repeating when used up)."""

    def __init__(self, styles: Sequence[str]):
        self.styles = tuple(styles)
        self.assigned: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.assigned:
            self.assigned[name] = self.styles[len(self.assigned) % len(self.styles)]
        return self.assigned[name]


class _Colors:
    """Colour of a curve: by criterion (fixed colours) when criteria vary, else by model or stride
    (a cycle, in order of appearance)."""

    CYCLE = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")

    def __init__(self, keys: Sequence[str], frame: pd.DataFrame):
        vary = _varying(keys, frame)
        candidates = ("criterion", "model", "stride")
        self.key = next((k for k in candidates if k in vary), None) or next(
            (k for k in candidates if k in keys), None
        )
        self.cycle = _Cycle(self.CYCLE)

    def __call__(self, values: Mapping) -> str:
        if self.key is None or self.key not in values:
            return spare_color(series_label(values))
        name = str(values[self.key])
        return criterion_color(name) if self.key == "criterion" else self.cycle(name)


class _Markers:
    """Point marker of a curve: one per value of the first setting other than the colour's that
    varies (a model, a stride), so two models' curves of one criterion stay apart; else dots.
    The best point's triangle and the missing point's cross are never used."""

    CYCLE = ("o", "s", "D", "v", "P", "*")

    def __init__(self, keys: Sequence[str], frame: pd.DataFrame, colors: _Colors):
        vary = _varying(keys, frame)
        candidates = ("model", "stride", "patch", "dataset", "recipe", "task")
        self.key = next((k for k in candidates if k in vary and k != colors.key), None)
        self.cycle = _Cycle(self.CYCLE)

    def __call__(self, values: Mapping) -> str:
        if self.key is None or self.key not in values:
            return "o"
        return self.cycle(str(values[self.key]))


def _distinct(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple]:
    """The distinct combinations of ``keys`` in ``frame``, as tuples, in order of appearance."""
    return list(frame[list(keys)].drop_duplicates().itertuples(index=False, name=None))


#: Curves with augmentation come first in a legend, as the paper draws them.
_AUGMENTED_FIRST = {"augment": lambda augment: (-int(bool(augment)), ())}


def placeholder_figure(title: str, lines: Sequence[str]) -> Figure:
    """A figure that says why there is nothing to draw yet (no run of it has finished)."""
    fig = Figure(figsize=(7.0, 3.0))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    text = "\n".join(textwrap.fill(line, 80) for line in lines)
    ax.text(0.5, 0.5, text, ha="center", va="center", color="darkred", gid="note")
    return fig


# --- Figs. 6, 8, 9 --------------------------------------------------------------------------


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


def _partial_points(
    missing: pd.DataFrame, means: pd.DataFrame, keys: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Split the ``missing`` (run, test set) points into the runs of points not drawn at all
    (returned) and those of points drawn from fewer seeds than configured, named in a note line:
    "Grad: K = 32 (1 of 2 seeds)", as Table I marks such a cell."""

    def point(row: Mapping) -> tuple:
        k = row["k"]
        return (*(str(row[key]) for key in keys), int(k) if pd.notna(k) else None)

    drawn = {point(r): (int(r["n_seeds"]), r) for r in means.to_dict("records")}
    rows = missing.to_dict("records")
    partial = [point(r) in drawn for r in rows]
    lacking: dict[tuple, int] = {}
    for r, is_partial in zip(rows, partial, strict=True):
        if is_partial:
            lacking[point(r)] = lacking.get(point(r), 0) + 1
    items = []
    for key, lack in lacking.items():
        n, row = drawn[key]
        label = series_label({k: row[k] for k in keys})
        items.append(f"{label}: K = {format_k(int(row['k']))} ({n} of {n + lack} seeds)")
    lines = [f"Partial data - mean over the seeds finished so far: {'; '.join(items)}."]
    return missing[[not p for p in partial]], lines if items else []


def _mark_missing(axes, panels, missing, keys, palette) -> None:
    """An "x" at each missing K on the K axis, in the curve's colour."""
    for values, part in missing.groupby([k for k in keys if k in missing.columns], sort=False):
        values = values if isinstance(values, tuple) else (values,)
        named = dict(zip([k for k in keys if k in missing.columns], values, strict=True))
        color = palette(named)
        ks = part["k"].dropna().unique()
        for ax, lo in zip(axes, panels, strict=True):
            shown = [k for k in ks if lo is None or k >= lo]
            if not shown:
                continue
            trans = blended_transform_factory(ax.transData, ax.transAxes)
            ax.plot(
                shown,
                [0.02] * len(shown),
                linestyle="none",
                marker=MISSING_MARKER,
                color=color,
                transform=trans,
                clip_on=False,
                gid=f"missing|{series_label(named)}",
            )


def _expected_ks(exp: pd.DataFrame | None, named: Mapping) -> list[float]:
    """The patch counts the configuration asks of one curve (those with a known count)."""
    if exp is None or exp.empty or any(k not in exp.columns for k in named):
        return []
    mask = np.logical_and.reduce([exp[k] == v for k, v in named.items()]) if named else None
    part = exp if mask is None else exp[mask]
    return sorted(part["k"].dropna().unique())


def _with_gaps(xs, ys, expected_ks: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The curve with NaN at expected K that have no value, so the line breaks there instead of
    bridging a missing point."""
    have = dict(zip(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), strict=True))
    grid = sorted(set(have) | {float(k) for k in expected_ks})
    return np.array(grid), np.array([have.get(k, np.nan) for k in grid])


def _best_marker(color, hollow: bool = False) -> dict:
    """The best point's triangle: filled for a curve with augmentation, a larger outline for one
    without, so that two curves' bests at one K both stay visible."""
    if hollow:
        return {
            "marker": BEST_MARKER,
            "markersize": 14,
            "markerfacecolor": "none",
            "markeredgecolor": color,
            "markeredgewidth": 1.8,
            "zorder": 4,
        }
    return {
        "marker": BEST_MARKER,
        "markersize": 10,
        "color": color,
        "markeredgecolor": "black",
        "zorder": 3,
    }


def _legend(ax, augment_varies: bool = True, best: bool = True) -> None:
    handles, labels = ax.get_legend_handles_labels()
    keep = [(h, lab) for h, lab in zip(handles, labels, strict=True) if not lab.startswith("_")]
    style_key = []
    if augment_varies:
        style_key += [
            Line2D([], [], color="black", linestyle="-", label="with augmentation (+)"),
            Line2D([], [], color="black", linestyle="--", label="without augmentation"),
        ]
    if best:
        style_key.append(
            Line2D(
                [],
                [],
                color="black",
                linestyle="none",
                marker=BEST_MARKER,
                label="best of each curve" + (" (outline: without)" if augment_varies else ""),
            )
        )
    ax.legend(
        [h for h, _ in keep] + style_key,
        [lab for _, lab in keep] + [h.get_label() for h in style_key],
        fontsize="small",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
    )


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


# --- Fig. 5 ---------------------------------------------------------------------------------


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
    groups = sort_settings(_distinct(wide, keys), keys, order, sizes, _AUGMENTED_FIRST)
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


# --- Fig. 4 ---------------------------------------------------------------------------------

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
            ax.plot(
                best["iteration"],
                best["val_psnr"],
                linestyle="none",
                gid=f"best|{label}|{p}",
                **_best_marker(color_of[k]),
            )
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
            missing["k"] = [counts.get(lab, np.nan) for lab in missing["k_label"]]
            if "k" in missing.columns:
                missing["k"] = [
                    float(lab) if lab.isdigit() else v
                    for lab, v in zip(missing["k_label"], missing["k"], strict=True)
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


# --- Fig. 7 ---------------------------------------------------------------------------------


def pearson(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Pearson's correlation of the pairs where both values are finite, and how many there are."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"the two score arrays differ in length: {a.size} and {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        raise ValueError("fewer than two patches with finite scores in both arrays")
    return float(np.corrcoef(a[keep], b[keep])[0, 1]), int(keep.sum())


def correlation_figure(
    a: np.ndarray,
    b: np.ndarray,
    xlabel: str = "Per-patch loss, task A (MSE)",
    ylabel: str = "Per-patch loss, task B (MSE)",
    title: str | None = None,
    max_markers: int = 5000,
    gridsize: int = 120,
) -> tuple[Figure, dict]:
    """Fig. 7: per-patch losses of two tasks against each other and Pearson's rho, printed on
    the plot ("ρ = 0.9876"). Up to ``max_markers`` patches are drawn as markers; more (the
    paper has 151,300) as a hexagonal 2-D histogram whose colour is the number of patches per
    bin on a log scale. Returns the figure and {rho, n, mode, text}."""
    rho, n = pearson(a, b)
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    fig = Figure(figsize=(5.6, 5.0))
    ax = fig.add_subplot()
    if n > max_markers:
        mode = "hexbin"
        art = ax.hexbin(
            a,
            b,
            gridsize=gridsize,
            norm=LogNorm(),
            mincnt=1,
            cmap="viridis",
            linewidths=0.0,
            gid="density",
        )
        fig.colorbar(art, ax=ax, label="Patches per bin (log scale)")
    else:
        mode = "scatter"
        ax.scatter(a, b, s=6, alpha=0.5, color="tab:blue", linewidths=0, gid="points")
    text = f"ρ = {rho:.4f}"
    ax.text(
        0.04,
        0.95,
        f"{text}\n{n:,} patches",
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize="large",
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
        gid="rho",
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    return fig, {"rho": rho, "n": n, "mode": mode, "text": text}


def plot_correlation(a, b, path_png, path_pdf=None, **kwargs) -> dict:
    """Fig. 7 saved as PNG (and PDF); see :func:`correlation_figure`."""
    fig, info = correlation_figure(a, b, **kwargs)
    save_figure(fig, path_png, path_pdf)
    return info


# --- Figs. 2-3 ------------------------------------------------------------------------------


def _histogram_panels(scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Panels in Figs. 2-3 order, adding sqrt(loss) beside loss (it spreads the crowded low end)."""
    panels = {name: np.asarray(values, dtype=float).ravel() for name, values in scores.items()}
    if "loss" in panels and "sqrt(loss)" not in panels:
        with np.errstate(invalid="ignore"):
            panels["sqrt(loss)"] = np.sqrt(panels["loss"])
    names = [n for n in HISTOGRAM_ORDER if n in panels] + [
        n for n in panels if n not in HISTOGRAM_ORDER
    ]
    return {name: panels[name] for name in names}


def histograms_figure(
    scores: Mapping[str, np.ndarray], bins: int = 50, title: str = ""
) -> tuple[Figure, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Figs. 2-3: one histogram per criterion score over all patches, ``bins`` bins for each.

    A "sqrt(loss)" panel is added when "loss" is given. Non-finite scores are left out and the
    number left out is shown in the panel title. Returns the figure and name -> (counts,
    bin_edges) as drawn.
    """
    if not scores:
        raise ValueError("no scores to plot")
    panels = _histogram_panels(scores)
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(4.0 * ncols, 3.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    drawn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for ax, (name, values) in zip(axes, panels.items(), strict=False):
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            raise ValueError(f"scores for {name!r} hold no finite value")
        counts, edges = np.histogram(finite, bins=bins)
        base = "loss" if name == "sqrt(loss)" else name
        ax.stairs(counts, edges, fill=True, color=criterion_color(base), gid=f"hist|{name}")
        on_pixels = name in (*STATISTICS, "loss")  # the paper's, on [0, 1]; an added one's own
        ax.set_xlabel(f"{name} (on [0, 1] pixel values)" if on_pixels else name)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # a loss's 0.0025 steps collided
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 4), useMathText=True)
        ax.set_ylabel("Number of patches")
        dropped = values.size - finite.size
        note = f", {dropped} non-finite left out" if dropped else ""
        ax.set_title(f"{name} (N={finite.size:,}{note})", fontsize="small")
        drawn[name] = (counts, edges)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig, drawn


def plot_histograms(
    scores: Mapping[str, np.ndarray],
    path_png: str | Path,
    bins: int = 50,
    path_pdf: str | Path | None = None,
    title: str = "",
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Figs. 2-3 saved as PNG (and PDF); see :func:`histograms_figure`."""
    fig, drawn = histograms_figure(scores, bins, title)
    save_figure(fig, path_png, path_pdf)
    return drawn


def plot_mined_scores(
    scores: np.ndarray, threshold: float, criterion: str, kept: int, path_png: str | Path
) -> None:
    """The histogram of one criterion over all patches, with the cut-off of a mined subset."""
    fig, _ = histograms_figure({criterion: scores})
    ax = fig.axes[0]
    xlim = ax.get_xlim()
    ax.axvline(threshold, color="black", linestyle="--", gid="cutoff")
    ax.axvspan(threshold, xlim[1], color="black", alpha=0.08)
    ax.set_xlim(xlim)
    ax.text(
        threshold,
        ax.get_ylim()[1] * 0.95,
        f" kept: {kept:,} patches\n {criterion} >= {threshold:.4g}",
        va="top",
        fontsize="small",
    )
    save_figure(fig, path_png)
