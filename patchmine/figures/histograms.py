"""Figs. 2-3: a histogram of every criterion's score over all patches; and one criterion's
histogram with the cut-off of a mined subset (the mine's score plot).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from patchmine.criterion_names import STATISTICS
from patchmine.figures.save import save_figure
from patchmine.labels import HISTOGRAM_ORDER, criterion_color


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
