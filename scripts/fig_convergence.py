"""Rule convergence: training logs of an experiment's runs -> Fig. 4: validation PSNR vs
iteration, one curve per number of patches, without (a) and with (b) augmentation."""

import json

import pandas as pd

from patchmine.figures import placeholder_figure, plot_convergence, save_figure
from patchmine.report import expected_runs, validation_set
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
logs = []
for meta_path, log_path in zip(sm.input.meta, sm.input.logs, strict=True):
    with open(meta_path) as handle:
        logs.append((json.load(handle), pd.read_csv(log_path)))
title = f"{sm.wildcards.experiment}: convergence"
if not logs:
    fig = placeholder_figure(title, ["No run of this experiment has finished yet."])
    save_figure(fig, sm.output.png, sm.output.pdf)
else:
    data = plot_convergence(
        logs,
        sm.output.png,
        sm.output.pdf,
        expected=expected_runs(sm.config, sm.wildcards.experiment),
        val_set=validation_set(sm.config, sm.wildcards.experiment),
        title=title,
    )
    log.info("criterion %s: %d curves", data.attrs["criterion"], data["label"].nunique())
