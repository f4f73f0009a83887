"""Rule psnr_vs_k: an experiment's runs -> Fig. 6 (8, 9): PSNR vs number of patches, a row of
panels per test set, with the zoomed panel when at least two K reach `report: zoom_k_min`."""

from pathlib import Path

from patchmine.figures import placeholder_figure, plot_psnr_vs_k, save_figure
from patchmine.report import experiment_results, reference_scores
from patchmine.tasks import Task
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
tests, results, expected = experiment_results(sm.config, sm.wildcards.experiment, sm.input.runs)
task = Task.from_experiment(sm.config["experiments"][sm.wildcards.experiment])
title = (
    f"{sm.wildcards.experiment}: PSNR vs number of patches ({', '.join(tests)}; {task.protocol})"
)
if results.empty:
    fig = placeholder_figure(title, ["No run of this experiment has finished yet."])
    save_figure(fig, sm.output.png, sm.output.pdf)
else:
    zoom = sm.params.zoom_k_min
    big = results.loc[results["k"] >= zoom, "k"].nunique() if "k" in results else 0
    data = plot_psnr_vs_k(
        results,
        sm.output.png,
        sm.output.pdf,
        test_set=tests if len(tests) > 1 else tests[0],
        expected=expected,
        zoom_k_min=zoom if big >= 2 else None,
        title=title,
        # those made so far, when drawn from what has finished
        reference={
            Path(path).stem: (task.reference, reference_scores(path)[0])
            for path in sm.input.references
        },
    )
    log.info("%d points plotted; %s", len(data), data.attrs["missing"] or "nothing missing")
