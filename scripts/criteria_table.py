"""Rule criteria_table: every run of an experiment -> Table I-style table and Fig. 6-style plot."""

from patchmine.report import criteria_table, plot_psnr_vs_k, write_table
from patchmine.results import collect_results
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
results = collect_results(sm.input.meta, sm.input.evals)
results.to_csv(sm.output.results, index=False, float_format="%.6f")
test_set = sm.params.experiment["test"][0]
table = criteria_table(results, test_set=test_set)
write_table(table, sm.output.csv, sm.output.md)
plot_psnr_vs_k(
    results,
    sm.output.png,
    sm.output.pdf,
    test_set=test_set,
    title=f"{sm.wildcards.experiment}: PSNR vs number of patches ({test_set})",
)
log.info("table of %d runs written to %s", len(results), sm.output.md)
