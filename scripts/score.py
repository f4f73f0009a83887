"""Rule score: one criterion (grad, std, freq, rand) for every patch of a store."""

import numpy as np

from patchmine.criteria import score
from patchmine.store import open_store
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
criterion = snakemake.wildcards.criterion  # noqa: F821
device = pick_device(snakemake.params.device)  # noqa: F821
with open_store(snakemake.input.store) as f:  # noqa: F821
    scores = score(criterion, f["hr"], device=device, seed=snakemake.params.seed)  # noqa: F821
log.info(
    "%s over %d patches: min %.4g, median %.4g, max %.4g",
    criterion,
    len(scores),
    scores.min(),
    np.median(scores),
    scores.max(),
)
np.save(snakemake.output[0], scores)  # noqa: F821
