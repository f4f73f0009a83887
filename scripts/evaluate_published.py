"""Rule evaluate_published: a published network on every image of a test set, by the protocol of
its task (from its config entry). A script of its own, so that rule evaluate's stays unchanged:
Snakemake re-runs every job whose script changes."""

from pathlib import Path

from patchmine.evaluate import evaluate, task_pairs
from patchmine.tasks import Task
from patchmine.train import load_model
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
task = Task.parse(sm.params.task)
device = pick_device(sm.params.device)
model = load_model(sm.input.model, sm.params.model, task, device)
table = evaluate(
    model, task, task_pairs(Path(sm.input.test).parent, task, grey=sm.params.grey), device
)
log.info(
    "%s on %s: mean PSNR %.3f dB, SSIM %.4f over %d images",
    sm.wildcards.published,
    sm.wildcards.testset,
    table.psnr.mean(),
    table.ssim.mean(),
    len(table),
)
table.to_csv(sm.output[0], index=False, float_format="%.6f")
