"""Rule score_loss: per-patch MSE of the scorer network (the paper's "loss", Eq. 4)."""

import numpy as np

from patchmine.criteria import mse_loss
from patchmine.grid import task_scale
from patchmine.store import open_store
from patchmine.train import load_model
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
scale = task_scale(snakemake.wildcards.task)  # noqa: F821
device = pick_device(snakemake.params.device)  # noqa: F821
model = load_model(snakemake.input.model, snakemake.params.model, scale, device)  # noqa: F821
with open_store(snakemake.input.store) as f:  # noqa: F821
    scores = mse_loss(f["hr"], f[f"lr_x{scale}"], model, device=device)
log.info(
    "loss over %d patches: min %.4g, median %.4g, max %.4g",
    len(scores),
    scores.min(),
    np.median(scores),
    scores.max(),
)
np.save(snakemake.output[0], scores)  # noqa: F821
