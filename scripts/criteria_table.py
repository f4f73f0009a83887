"""Rule criteria_table: an experiment's runs -> Table I (criterion x number of patches)."""

from patchmine.render import write_experiment_tables
from patchmine.report import experiment_results, reference_notes
from patchmine.tables import criteria_table
from patchmine.tasks import Task
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
tests, results, expected = experiment_results(sm.config, sm.wildcards.experiment, sm.input.runs)
order = sm.config["experiments"][sm.wildcards.experiment]["criteria"]  # the config's row order
tables = {t: criteria_table(results, test_set=t, order=order, expected=expected) for t in tests}
notes = reference_notes(sm.config, sm.wildcards.experiment, sm.input.references)
exp = sm.config["experiments"][sm.wildcards.experiment]
title = (
    f"{sm.wildcards.experiment}: PSNR (dB) per criterion and number of patches "
    f"({Task.from_experiment(exp).protocol}; Table I's layout)"
)
write_experiment_tables(tables, notes, sm.output, title)
log.info("Table I (%d test sets) written to %s", len(tables), sm.output.md)
