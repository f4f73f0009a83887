"""The look every figure shares: the number-of-patches axis, the best point's triangle, the
legend with its line-style key, the red note naming what is missing, and the placeholder drawn
before any run has finished.

Kept in one place so that the curve figures (Figs. 4-6, 8 and 9) mark their best points, key
their legends and print their notes alike.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from patchmine.labels import format_k

#: Markers: every point, the best point of a curve (the paper's triangle), a missing point.
BEST_MARKER = "^"
MISSING_MARKER = "x"


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


def placeholder_figure(title: str, lines: Sequence[str]) -> Figure:
    """A figure that says why there is nothing to draw yet (no run of it has finished)."""
    fig = Figure(figsize=(7.0, 3.0))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    text = "\n".join(textwrap.fill(line, 80) for line in lines)
    ax.text(0.5, 0.5, text, ha="center", va="center", color="darkred", gid="note")
    return fig


def _mark_best(ax, x, y, label: str, panel: int, color, hollow: bool = False) -> None:
    """A curve's best point(s) on ``ax``, as a triangle (:func:`_best_marker`) whose gid
    ``best|<label>|<panel>`` tells it from the curve ``curve|<label>|<panel>``."""
    ax.plot(x, y, linestyle="none", gid=f"best|{label}|{panel}", **_best_marker(color, hollow))


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


def _legend(ax, augment_varies: bool = True, best: bool = True, curves_from=None) -> None:
    """The legend right of ``ax``: its labelled lines, the curves taken from ``curves_from``
    when given (a row's full panel: its zoomed one lacks curves that stop below the zoom)."""
    handles, labels = ax.get_legend_handles_labels()
    if curves_from is not None and curves_from is not ax:
        curve = lambda h: (h.get_gid() or "").startswith("curve|")  # noqa: E731
        own = [(h, lab) for h, lab in zip(handles, labels, strict=True) if not curve(h)]
        pairs = list(zip(*curves_from.get_legend_handles_labels(), strict=True))
        pairs = [(h, lab) for h, lab in pairs if curve(h)] + own
        handles, labels = [h for h, _ in pairs], [lab for _, lab in pairs]
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
