"""Rule psnr_vs_k: an experiment's runs -> Fig. 6 (8, 9): PSNR vs number of patches, with the
zoomed panel (b) when at least two K reach `report: zoom_k_min`."""

from patchmine.figures import placeholder_figure, plot_psnr_vs_k, save_figure
from patchmine.report import experiment_results, reference_scores
from patchmine.tasks import Task
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
tests, results, expected = experiment_results(sm.config, sm.wildcards.experiment, sm.input.runs)
test_set = tests[0]
task = Task.from_experiment(sm.config["experiments"][sm.wildcards.experiment])
title = f"{sm.wildcards.experiment}: PSNR vs number of patches ({test_set}; {task.protocol})"
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
        test_set=test_set,
        expected=expected,
        zoom_k_min=zoom if big >= 2 else None,
        title=title,
        reference=(
            (task.reference, reference_scores(sm.input.references[0])[0])
            if sm.input.references  # not yet made, when drawn from what has finished
            else None
        ),
    )
    log.info("%d points plotted; %s", len(data), data.attrs["missing"] or "nothing missing")
