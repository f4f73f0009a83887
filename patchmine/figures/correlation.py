"""Fig. 7: the per-patch losses of two tasks against each other, with Pearson's rho printed on
the plot (and returned, for the comparison with the paper's 0.9876 and 0.9368).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from patchmine.figures.save import save_figure


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
