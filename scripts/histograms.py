"""Rule histograms: Figs. 2-3-style histograms of every criterion over all patches."""

import numpy as np

from patchmine.figures import plot_histograms
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
scores = {criterion: np.load(path) for criterion, path in sm.input.items()}
drawn = plot_histograms(scores, sm.output.png, path_pdf=sm.output.pdf)
log.info("histograms of %s", ", ".join(drawn))
