"""Rule published_results: an experiment's published models, evaluated on its test sets -> one
table (a row per model and test set) that Table IV and the paper comparison read."""

from patchmine.results import add_model_columns, collect_published
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
table = collect_published(list(sm.input.evals), dict(sm.params.entries))
table = add_model_columns(table, sm.config["models"])
table.to_csv(sm.output.csv, index=False, float_format="%.17g")
for row in table.itertuples():
    log.info("%s on %s: %.3f dB / %.4f", row.published, row.test_set, row.psnr, row.ssim)
