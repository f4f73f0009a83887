"""Rules compare_published and compare_all: runs (of one experiment, or of every one) and the
published models evaluated beside them, next to the paper's published numbers, with numbers
made by other rules (`extra`: Fig. 7's correlations)."""

import pandas as pd

from patchmine.published import (
    compare,
    paper_training_sets,
    summary_line,
    unpublished_note,
    write_comparison,
)
from patchmine.report import configured_points, stack_tables
from patchmine.workflow import input_files, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
runs = stack_tables(input_files(sm, "runs"), ["fingerprint", "test_set"])
published = stack_tables(input_files(sm, "published"), ["published", "test_set"])
results = pd.concat([runs, published], ignore_index=True)  # published: Table IV's "Baseline"
extra = stack_tables(input_files(sm, "extra"), ["table", "row", "column"])
comparison = compare(
    results,
    extra=extra if len(extra) else None,
    expected=configured_points(sm.config, sm.params.experiments),
    train_sets=paper_training_sets(sm.config),
)
scope = getattr(sm.wildcards, "experiment", "every experiment")
title = f"{scope} vs the paper (Soh & Cho, arXiv 2207.01075)"
note = unpublished_note(sm.config, sm.params.experiments)
write_comparison(comparison, sm.output.csv, sm.output.md, sm.output.html, title=title, note=note)
log.info(summary_line(comparison))
