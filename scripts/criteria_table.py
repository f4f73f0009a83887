"""Rule criteria_table: an experiment's runs -> Table I (criterion x number of patches)."""

from pathlib import Path

from patchmine.render import tables_page, write_tables
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
for test, table in tables.items():
    table.attrs["references"] = [notes[test]]
exp = sm.config["experiments"][sm.wildcards.experiment]
title = (
    f"{sm.wildcards.experiment}: PSNR (dB) per criterion and number of patches "
    f"({Task.from_experiment(exp).protocol}; Table I's layout)"
)
write_tables(tables, sm.output.csv, sm.output.md, title)
sections = [(f"Test set {t}", table) for t, table in tables.items()]
Path(sm.output.html).write_text(tables_page(title, sections), encoding="utf-8")
log.info("Table I (%d test sets) written to %s", len(tables), sm.output.md)
