"""Rule histograms: Figs. 2-3-style histograms of every criterion over all patches."""

import numpy as np

from patchmine.figures import plot_histograms
from patchmine.grid import first_store
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
scores = {criterion: np.load(path) for criterion, path in sm.input.items()}
dataset, patch, stride = first_store(sm.config["experiments"][sm.wildcards.experiment])
n = len(next(iter(scores.values())))
title = (
    f"{sm.wildcards.experiment}: every criterion over the {n:,} patches of {dataset} "
    f"({patch} px, stride {stride})"
)
drawn = plot_histograms(scores, sm.output.png, path_pdf=sm.output.pdf, title=title)
log.info("histograms of %s", ", ".join(drawn))
