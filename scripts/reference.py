"""Rule reference: what every network is read against on a test set (bicubic upscaling for SR,
the noisy input for denoising), scored by the task's protocol."""

from pathlib import Path

from patchmine.evaluate import evaluate_reference, task_pairs
from patchmine.tasks import Task
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
task = Task.parse(sm.wildcards.task)
pairs = task_pairs(Path(sm.input.test).parent, task, grey=sm.params.grey)
table = evaluate_reference(task, pairs)
log.info(
    "%s, %s: mean PSNR %.3f dB, SSIM %.4f over %d images",
    sm.wildcards.testset,
    task.reference,
    table.psnr.mean(),
    table.ssim.mean(),
    len(table),
)
table.to_csv(sm.output[0], index=False, float_format="%.6f")
