"""Tables and figures from finished results: Table I-style tables, Fig. 6-style curves, Figs. 2-3
histograms.

Figures are drawn on ``matplotlib.figure.Figure`` objects and never through ``pyplot``, so nothing
here needs a display or changes matplotlib's global backend (saving picks Agg for PNG by itself),
and workflow jobs running side by side in one process cannot tread on each other's figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

#: The criteria in the order the tables and legends list them by default.
CRITERIA_ORDER: tuple[str, ...] = ("grad", "std", "freq", "loss", "rand")

#: One fixed colour per criterion, so a criterion looks the same in every figure.
CRITERION_COLORS: dict[str, str] = {
    "grad": "tab:red",
    "std": "tab:green",
    "freq": "tab:purple",
    "loss": "tab:blue",
    "rand": "tab:gray",
}
_SPARE_COLORS = ("tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")

#: Panel order of Figs. 2-3 (statistics first, then the loss and its square root).
HISTOGRAM_ORDER: tuple[str, ...] = ("grad", "std", "freq", "loss", "sqrt(loss)")

METRICS = ("psnr", "ssim")
_METRIC_AXIS = {"psnr": "PSNR (dB)", "ssim": "SSIM"}
_REQUIRED = ("criterion", "augment", "k", "seed", "test_set")


def format_k(k: int) -> str:
    """Readable, exact label for a patch count (10000 -> "10K", 151300 -> "151.3K", 250 -> "250").

    Exact rather than rounded so that two different K never share a column label.
    """
    k = int(k)
    sign, n = ("-", -k) if k < 0 else ("", k)
    if n < 1000:
        return f"{sign}{n}"
    if n < 1_000_000:
        scaled, unit = f"{n / 1000:.3f}", "K"
    else:
        scaled, unit = f"{n / 1_000_000:.6f}", "M"
    return sign + scaled.rstrip("0").rstrip(".") + unit


def row_label(criterion: str, augment: bool) -> str:
    """The paper's row name: capitalised criterion, '+' when trained with augmentation."""
    return str(criterion).capitalize() + ("+" if augment else "")


def criterion_color(criterion: str) -> str:
    """Colour of a criterion's curves; unknown criteria get a stable spare colour."""
    if criterion in CRITERION_COLORS:
        return CRITERION_COLORS[criterion]
    return _SPARE_COLORS[sum(map(ord, criterion)) % len(_SPARE_COLORS)]


def _ordered_criteria(present: Sequence[str], order: Sequence[str]) -> list[str]:
    """Criteria in ``order`` first, then any others found in the data (sorted), so none vanish."""
    present_set = set(present)
    head = [c for c in order if c in present_set]
    return head + sorted(present_set - set(head))


def _select(results: pd.DataFrame, test_set: str | None, metric: str) -> pd.DataFrame:
    """Check the columns and keep one test set's finite rows; fail loudly on a wrong request."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    missing = [c for c in (*_REQUIRED, metric) if c not in results.columns]
    if missing:
        raise ValueError(f"results lack column(s) {missing}")
    sets = sorted(results["test_set"].astype(str).unique())
    if test_set is None:
        if len(sets) != 1:
            raise ValueError(f"results hold test sets {sets}: say which one with test_set=")
        test_set = sets[0]
    if test_set not in sets:
        raise ValueError(f"no results for test set {test_set!r}; found {sets}")
    sub = results[results["test_set"].astype(str) == test_set].copy()
    sub["criterion"] = sub["criterion"].astype(str)
    sub["augment"] = sub["augment"].astype(bool)
    sub["k"] = sub["k"].astype(int)
    sub[metric] = sub[metric].astype(float)
    return sub[np.isfinite(sub[metric])]


def _means(results: pd.DataFrame, test_set: str | None, metric: str) -> pd.DataFrame:
    """Mean and seed count of ``metric`` per (criterion, augment, k): what tables and plots show."""
    sub = _select(results, test_set, metric)
    grouped = sub.groupby(["criterion", "augment", "k"], sort=True)[metric]
    out = grouped.agg(["mean", "count"]).reset_index()
    return out.rename(columns={"mean": metric, "count": "n_seeds"})


def criteria_table(
    results: pd.DataFrame,
    test_set: str | None = None,
    metric: str = "psnr",
    order: Sequence[str] = CRITERIA_ORDER,
) -> pd.DataFrame:
    """Table I layout: rows "Grad", ..., then "Grad+", ...; one column per K; mean over seeds.

    ``results`` has one row per (training run, test set). ``test_set`` may be left out when the
    results hold only one. Rows come in ``order`` (criteria absent from it follow, sorted), all
    rows without augmentation before those with it; columns are sorted by the actual patch count
    and labelled with :func:`format_k`. A missing (criterion, K) cell is NaN. The patch counts of
    the columns are kept in ``table.attrs["k"]``.
    """
    means = _means(results, test_set, metric)
    ks = sorted(means["k"].unique())
    criteria = _ordered_criteria(list(means["criterion"].unique()), order)
    rows, labels = [], []
    for augment in (False, True):
        for crit in criteria:
            part = means[(means["criterion"] == crit) & (means["augment"] == augment)]
            if part.empty:
                continue
            rows.append(part.set_index("k")[metric].reindex(ks).to_numpy())
            labels.append(row_label(crit, augment))
    table = pd.DataFrame(
        np.array(rows, dtype=float).reshape(len(rows), len(ks)),
        index=pd.Index(labels, name="Criteria"),
        columns=[format_k(k) for k in ks],
    )
    table.attrs["k"] = [int(k) for k in ks]
    table.attrs["metric"] = metric
    return table


def best_mask(table: pd.DataFrame, decimals: int = 2) -> pd.DataFrame:
    """True where a cell is its column's best (highest) value as displayed with ``decimals``.

    Ties are judged on the rounded values a reader sees, so equal-looking numbers are all bold.
    """
    rounded = table.astype(float).round(decimals)
    return rounded.eq(rounded.max(axis=0), axis=1) & rounded.notna()


def table_markdown(table: pd.DataFrame, decimals: int = 2) -> str:
    """Markdown table like the paper's Table I, each column's best value in **bold**.

    Missing cells show as "–".
    """
    bold = best_mask(table, decimals)
    head = [str(table.index.name or "")] + [str(c) for c in table.columns]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---"] + ["---:"] * len(table.columns)) + "|",
    ]
    for label, values in table.iterrows():
        cells = [str(label)]
        for col, value in values.items():
            if pd.isna(value):
                cells.append("–")
                continue
            text = f"{float(value):.{decimals}f}"
            cells.append(f"**{text}**" if bold.at[label, col] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(
    table: pd.DataFrame, csv_path: str | Path, md_path: str | Path, decimals: int = 2
) -> None:
    """Write a table as CSV (full precision, for reuse) and Markdown (rounded, for reading)."""
    csv_path, md_path = Path(csv_path), Path(md_path)
    for path in (csv_path, md_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv_path, float_format="%.17g")
    md_path.write_text(table_markdown(table, decimals), encoding="utf-8")


def _save(fig: Figure, path_png: str | Path, path_pdf: str | Path | None) -> None:
    """Save PNG (and optionally PDF), creating folders, since workflow outputs may be nested."""
    for path in (path_png, path_pdf):
        if path is None:
            continue
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150, bbox_inches="tight")


def plot_psnr_vs_k(
    results: pd.DataFrame,
    path_png: str | Path,
    path_pdf: str | Path | None = None,
    test_set: str | None = None,
    title: str | None = None,
    metric: str = "psnr",
    order: Sequence[str] = CRITERIA_ORDER,
    k_min: int | None = None,
) -> pd.DataFrame:
    """Fig. 6: mean PSNR vs number of patches, one curve per criterion and augmentation setting.

    Colour = criterion (fixed across figures); solid = with augmentation, dashed = without; each
    curve's best point gets a triangle marker, as in the paper. ``k_min`` keeps only K >= k_min
    (the paper's zoomed panel 6b). Returns what was plotted (criterion, augment, k, the metric,
    n_seeds, is_best, color, linestyle), so callers and tests can check the figure without reading
    pixels.
    """
    means = _means(results, test_set, metric)
    if k_min is not None:
        means = means[means["k"] >= k_min]
    if means.empty:
        raise ValueError("nothing to plot: no results left after filtering")
    criteria = _ordered_criteria(list(means["criterion"].unique()), order)

    fig = Figure(figsize=(7.0, 4.8))
    ax = fig.add_subplot()
    plotted = []
    for augment in (True, False):
        for crit in criteria:
            curve = means[(means["criterion"] == crit) & (means["augment"] == augment)]
            if curve.empty:
                continue
            curve = curve.sort_values("k").copy()
            curve["is_best"] = curve[metric] == curve[metric].max()
            color = criterion_color(crit)
            curve["color"], curve["linestyle"] = color, "-" if augment else "--"
            ax.plot(
                curve["k"],
                curve[metric],
                color=color,
                linestyle=curve["linestyle"].iloc[0],
                marker="o",
                markersize=3,
                label=row_label(crit, augment),
            )
            best = curve[curve["is_best"]]
            ax.plot(
                best["k"],
                best[metric],
                linestyle="none",
                marker="^",
                markersize=10,
                color=color,
                markeredgecolor="black",
                zorder=3,
            )
            plotted.append(curve)

    ax.set_xlabel("Number of patches")
    ax.set_ylabel(_METRIC_AXIS[metric])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_k(round(x))))
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    style_key = [
        Line2D([], [], color="black", linestyle="-", label="with augmentation (+)"),
        Line2D([], [], color="black", linestyle="--", label="without augmentation"),
        Line2D([], [], color="black", linestyle="none", marker="^", label="best of each curve"),
    ]
    ax.legend(
        handles + style_key,
        labels + [h.get_label() for h in style_key],
        fontsize="small",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
    )
    _save(fig, path_png, path_pdf)

    data = pd.concat(plotted, ignore_index=True)
    return data[["criterion", "augment", "k", metric, "n_seeds", "is_best", "color", "linestyle"]]


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


def plot_histograms(
    scores: Mapping[str, np.ndarray],
    path_png: str | Path,
    bins: int = 50,
    path_pdf: str | Path | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Figs. 2-3: one histogram per criterion score over all patches, the same ``bins`` for each.

    A "sqrt(loss)" panel is added when "loss" is given. Non-finite scores are left out and the
    number left out is shown in the panel title. Returns name -> (counts, bin_edges) as drawn.
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
        ax.stairs(counts, edges, fill=True, color=criterion_color(base))
        ax.set_xlabel(name)
        ax.set_ylabel("Number of patches")
        dropped = values.size - finite.size
        note = f", {dropped} non-finite left out" if dropped else ""
        ax.set_title(f"{name} (N={finite.size}{note})", fontsize="small")
        drawn[name] = (counts, edges)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    _save(fig, path_png, path_pdf)
    return drawn
