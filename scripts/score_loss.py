"""Rule score_loss: per-patch MSE of the task's scorer network (the paper's "loss", Eq. 4)."""

import numpy as np
import torch

from patchmine.criteria import mse_loss
from patchmine.degrade import NoisyPatches
from patchmine.store import open_store
from patchmine.tasks import Task
from patchmine.train import Runtime, load_model
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
task = Task.parse(sm.wildcards.task)
device = pick_device(sm.params.device)
model = load_model(sm.input.model, sm.params.model, task, device)
runtime = Runtime.from_config(sm.config.get("runtime")).resolve(device)
if runtime.amp:  # bf16 on CUDA by default, as in training; scores are still summed in float64
    model = model.to(torch.bfloat16)
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
