"""Rule histograms: Figs. 2-3-style histograms of every criterion over all patches."""

from pathlib import Path

import numpy as np

from patchmine.figures import plot_histograms
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
scores = {Path(p).stem.split("_")[0]: np.load(p) for p in sm.input}
drawn = plot_histograms(scores, sm.output.png, path_pdf=sm.output.pdf)
log.info("histograms of %s", ", ".join(drawn))
