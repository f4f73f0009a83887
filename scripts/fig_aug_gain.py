"""Rule aug_gain: an experiment's runs -> Fig. 5: PSNR gain of augmentation vs number of patches,
a panel per test set."""

from patchmine.figures import placeholder_figure, plot_aug_gain, save_figure
from patchmine.report import experiment_results
from patchmine.tables import missing_points
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
tests, results, expected = experiment_results(sm.config, sm.wildcards.experiment, sm.input.runs)
title = f"{sm.wildcards.experiment}: PSNR gain of augmentation ({', '.join(tests)})"
try:
    data = plot_aug_gain(
        results,
        sm.output.png,
        sm.output.pdf,
        test_set=tests if len(tests) > 1 else tests[0],
        expected=expected,
        title=title,
    )
    log.info("%d gains plotted; %s", len(data), data.attrs["missing"] or "nothing missing")
except ValueError as err:
    if missing_points(results, expected).empty:
        raise  # every run has finished: a real error
    fig = placeholder_figure(title, [f"Nothing to draw yet (report: allow_partial): {err}."])
    save_figure(fig, sm.output.png, sm.output.pdf)
