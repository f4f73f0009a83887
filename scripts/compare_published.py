"""Rules compare_published and compare_all: runs (of one experiment, or of every one) and the
published models evaluated beside them, next to the paper's published numbers, with numbers
made by other rules (`extra`: Fig. 7's correlations)."""

import pandas as pd

from patchmine.published import compare, summary_line, write_comparison
from patchmine.report import add_model_columns, expected_points, expected_runs, read_runs
from patchmine.workflow import input_files, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821


def stacked(files: list, key: list[str]) -> pd.DataFrame:
    """The tables in ``files`` one under the other; a row that two experiments share once."""
    frames = [frame for frame in map(read_runs, files) if len(frame)]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates(subset=[k for k in key if k in table.columns] or None)


runs = stacked(input_files(sm, "runs"), ["fingerprint", "test_set"])
published = stacked(input_files(sm, "published"), ["published", "test_set"])
results = pd.concat([runs, published], ignore_index=True)  # published: Table IV's "Baseline"
extra = stacked(input_files(sm, "extra"), ["table", "row", "column"])
planned = [
    expected_points(expected_runs(sm.config, name), sm.config["experiments"][name]["test"])
    for name in sm.params.experiments
]
planned = (
    add_model_columns(pd.concat(planned, ignore_index=True), sm.config["models"])
    if planned
    else None
)
comparison = compare(results, extra=extra if len(extra) else None, expected=planned)
scope = getattr(sm.wildcards, "experiment", "every experiment")
title = f"{scope} vs the paper (Soh & Cho, arXiv 2207.01075)"
write_comparison(comparison, sm.output.csv, sm.output.md, sm.output.html, title=title)
log.info(summary_line(comparison))
