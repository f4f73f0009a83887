"""The paper's figures from finished results, drawn as the paper draws them; a module per
figure, beside the helpers they share.

* :mod:`.psnr_vs_k` -- Figs. 6, 8 and 9: PSNR vs number of patches, one curve per criterion
  (Fig. 6, 9), model (Fig. 8) or stride, best point of each curve marked with a triangle,
  optionally with the paper's zoomed panel (b) above some K;
* :mod:`.aug_gain` -- Fig. 5: PSNR gain of augmentation vs number of patches;
* :mod:`.convergence` -- Fig. 4: validation PSNR vs iteration, one curve per K, without (a) and
  with (b) augmentation;
* :mod:`.correlation` -- Fig. 7: per-patch losses of two tasks against each other, with
  Pearson's rho printed; a 2-D histogram with a log colour scale when there are many patches;
* :mod:`.histograms` -- Figs. 2-3: histograms of every criterion's score, and a mine's score
  plot (one criterion's histogram with the cut-off of the kept patches).

What they share: :mod:`.save` (the PNG that fits the report's pane, and the PDF),
:mod:`.style` (the K axis, the best point's triangle, the legend, the note, the placeholder),
:mod:`.series` (which settings tell curves apart; a curve's colour and marker) and
:mod:`.partial` (points configured but not finished: the note, an "x" on the K axis, a gap).

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

The names below are imported from here (``from patchmine.figures import plot_psnr_vs_k``) by
the rule scripts, the mine and the tests, so they stay here whichever module draws them.
"""

from patchmine.figures.aug_gain import aug_gain_figure, plot_aug_gain
from patchmine.figures.convergence import CURVE_STYLES, convergence_figure, plot_convergence
from patchmine.figures.correlation import correlation_figure, pearson, plot_correlation
from patchmine.figures.histograms import histograms_figure, plot_histograms, plot_mined_scores
from patchmine.figures.psnr_vs_k import plot_psnr_vs_k, psnr_vs_k_figure
from patchmine.figures.save import MAX_PNG_WIDTH, PNG_DPI, save_figure
from patchmine.figures.series import SERIES_KEYS
from patchmine.figures.style import BEST_MARKER, K_TICKS_MAX, MISSING_MARKER, placeholder_figure

__all__ = [
    "BEST_MARKER",
    "CURVE_STYLES",
    "K_TICKS_MAX",
    "MAX_PNG_WIDTH",
    "MISSING_MARKER",
    "PNG_DPI",
    "SERIES_KEYS",
    "aug_gain_figure",
    "convergence_figure",
    "correlation_figure",
    "histograms_figure",
    "pearson",
    "placeholder_figure",
    "plot_aug_gain",
    "plot_convergence",
    "plot_correlation",
    "plot_histograms",
    "plot_mined_scores",
    "plot_psnr_vs_k",
    "psnr_vs_k_figure",
    "save_figure",
]
