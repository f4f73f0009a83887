"""Rule run_results: every finished run of an experiment -> the long results table and its page."""

from pathlib import Path

from patchmine.render import runs_html
from patchmine.report import expected_runs
from patchmine.results import add_model_columns, collect_results
from patchmine.tables import expected_points, missing_points
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
name = sm.wildcards.experiment
tests = sm.config["experiments"][name]["test"]
results = collect_results(list(sm.input.meta), list(sm.input.evals))
results = add_model_columns(results, sm.config["models"])
results.to_csv(sm.output.csv, index=False, float_format="%.17g")
missing = missing_points(results, expected_points(expected_runs(sm.config, name), tests, results))
note = (
    f"Partial data: {len(missing)} of the configured (run, test set) pairs have not finished and "
    "are not listed."
    if len(missing)
    else ""
)
title = f"{sm.wildcards.experiment}: every run (PSNR/SSIM means over each test set's images)"
Path(sm.output.html).write_text(runs_html(results, title, note), encoding="utf-8")
log.info("%d (run, test set) rows, %d missing: %s", len(results), len(missing), sm.output.csv)
