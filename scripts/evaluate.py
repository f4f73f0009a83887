"""Rule evaluate: a trained network on every image of a test set, by the task's protocol."""

from pathlib import Path

from patchmine.evaluate import evaluate, task_pairs
from patchmine.tasks import Task
from patchmine.train import load_model
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
task = Task.parse(sm.wildcards.task)
device = pick_device(sm.params.device)
model = load_model(sm.input.model, sm.params.model, task, device)
pairs = task_pairs(Path(sm.input.test).parent, task, grey=sm.params.grey)
table = evaluate(model, task, pairs, device)
log.info(
    "%s: mean PSNR %.3f dB, SSIM %.4f over %d images",
    sm.wildcards.testset,
    table.psnr.mean(),
    table.ssim.mean(),
    len(table),
)
table.to_csv(sm.output[0], index=False, float_format="%.6f")
