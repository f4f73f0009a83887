"""Rule histograms: Figs. 2-3-style histograms of every criterion over all patches."""

from pathlib import Path

import numpy as np

from patchmine.report import plot_histograms
from patchmine.workflow import start

start(snakemake)  # noqa: F821
scores = {Path(p).stem.split("_")[0]: np.load(p) for p in snakemake.input}  # noqa: F821
plot_histograms(scores, snakemake.output.png)  # noqa: F821
