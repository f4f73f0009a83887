"""Rule score_loss: per-patch MSE of the task's scorer network (the paper's "loss", Eq. 4)."""

import numpy as np

from patchmine.criteria import mse_loss
from patchmine.degrade import NoisyPatches
from patchmine.store import open_store
from patchmine.tasks import Task
from patchmine.train import load_model
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
task = Task.parse(sm.wildcards.task)
device = pick_device(sm.params.device)
model = load_model(sm.input.model, sm.params.model, task, device)
# fp32 even where training uses bf16: like evaluation, this is a measurement, and bf16's 8-bit
# mantissa would round each output by up to half a grey level, which swamps the smallest losses.
batch = 256 if device.startswith("cuda") else 64
with open_store(sm.input.store) as f:
    hr = f["hr"]
    inputs = f[f"lr_x{task.scale}"] if task.kind == "sr" else NoisyPatches(hr, task.sigma)
    scores = mse_loss(hr, inputs, model, batch_size=batch, device=device)
log.info(
    "loss (%s) over %d patches: min %.4g, median %.4g, max %.4g",
    task.name,
    len(scores),
    scores.min(),
    np.median(scores),
    scores.max(),
)
np.save(sm.output[0], scores)
