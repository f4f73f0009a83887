"""Rule compare_published: an experiment's runs beside the paper's published numbers (and, given
as input `extra`, numbers made by other rules such as Fig. 7's correlations)."""

import pandas as pd

from patchmine.published import compare, summary_line, write_comparison
from patchmine.report import read_runs
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
extra_files = list(getattr(sm.input, "extra", []))
extra = pd.concat([pd.read_csv(f) for f in extra_files]) if extra_files else None
runs = read_runs(sm.input.runs)
if sm.input.published:  # evaluated published weights: the paper's Table IV "Baseline" row
    runs = pd.concat([runs, read_runs(sm.input.published[0])], ignore_index=True)
comparison = compare(runs, extra=extra)
title = f"{sm.wildcards.experiment} vs the paper (Soh & Cho, arXiv 2207.01075)"
write_comparison(comparison, sm.output.csv, sm.output.md, sm.output.html, title=title)
log.info(summary_line(comparison))
