"""Rule train: one run of the recipe on one subset; resumes from results/state/ when killed."""

from pathlib import Path

from patchmine.evaluate import task_pairs
from patchmine.grid import Run
from patchmine.tasks import Task
from patchmine.train import Recipe, RunSpec, Runtime, load_subset, publish, run_summary, train
from patchmine.workflow import pick_device, start

start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
run = Run(**sm.params.run)
task = Task.parse(run.task)
device = pick_device(sm.params.device)  # first: a job waiting for a GPU holds no patches yet
indices, lr, hr, n_store = load_subset(sm.input.store, sm.input.subset, task)
spec = RunSpec(
    task=run.task,
    model=dict(sm.params.model),
    recipe=Recipe.from_config(sm.config["recipes"][sm.wildcards.recipe]),  # params: its identity
    augment=run.augment,
    seed=run.seed,
    indices=indices,
)
val_pairs = task_pairs(Path(sm.input.validation).parent, task)
runtime = Runtime.from_config(sm.config.get("runtime"))  # speed only: not a rerun trigger
state = train(spec, lr, hr, val_pairs, sm.params.state, device, runtime)
publish(state, sm.output.model, sm.output.log)
run_summary(sm.output.meta, run.as_dict(), spec, n_store, sm.output.log)
