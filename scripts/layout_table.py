"""Rule layout_table: an experiment's runs -> Table II (strides), III (model size) or IV
(benchmarks, with the published models it lists), as the `layout` wildcard says."""

from patchmine.render import write_experiment_tables
from patchmine.report import experiment_results, read_runs, reference_notes
from patchmine.tables import benchmark_table, params_table, stride_table
from patchmine.tasks import Task
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
layout, experiment = sm.wildcards.layout, sm.wildcards.experiment
tests, results, expected = experiment_results(sm.config, sm.wildcards.experiment, sm.input.runs)
published = read_runs(sm.input.published[0]) if sm.input.published else None
if layout == "benchmarks":
    tables = {"all test sets": benchmark_table(results, expected, tests, published)}
    what = "PSNR (dB) / SSIM per model and test set (Table IV)"
else:
    build = {"strides": stride_table, "params": params_table}[layout]
    tables = {t: build(results, test_set=t, expected=expected) for t in tests}
    what = {"strides": "per stride (Table II)", "params": "per model size (Table III)"}[layout]
    what = f"PSNR (dB) {what} and number of patches"
# the protocol in the title: tables of two tasks (x2 and x4, or SR and sigma 25) must not look alike
what += f" ({Task.from_experiment(sm.config['experiments'][experiment]).protocol})"
notes = reference_notes(sm.config, experiment, sm.input.references)
heading = "Test set {}" if layout != "benchmarks" else None
write_experiment_tables(tables, notes, sm.output, f"{experiment}: {what}", heading)
log.info("%s table written to %s", layout, sm.output.md)
