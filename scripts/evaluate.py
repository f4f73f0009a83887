"""Rule evaluate: a trained network on every image of a test set (Y PSNR/SSIM, border shaved)."""

from pathlib import Path

from patchmine.datasets import load_pairs
from patchmine.evaluate import evaluate_sr
from patchmine.grid import task_scale
from patchmine.train import load_model
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
scale = task_scale(sm.wildcards.task)
device = pick_device(sm.params.device)
model = load_model(sm.input.model, sm.params.model, scale, device)
table = evaluate_sr(model, load_pairs(Path(sm.input.test).parent, scale), scale, device)
log.info(
    "%s: mean PSNR %.3f dB, SSIM %.4f over %d images",
    sm.wildcards.testset,
    table.psnr.mean(),
    table.ssim.mean(),
    len(table),
)
table.to_csv(sm.output[0], index=False, float_format="%.6f")
