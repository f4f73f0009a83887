"""Rule select: the top-K patch indices by one criterion (or all patches)."""

import numpy as np

from patchmine.select import top_k_of_store
from patchmine.store import open_store
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
w = snakemake.wildcards  # noqa: F821
with open_store(snakemake.input.store) as f:  # noqa: F821
    n = int(f.attrs["n_patches"])
if w.criterion == "all":
    indices = np.arange(n)
else:
    scores = np.load(snakemake.input.scores)  # noqa: F821
    if len(scores) != n:
        raise ValueError(f"{snakemake.input.scores}: {len(scores)} scores for {n} patches")  # noqa: F821
    key = f"experiments.<name>.k ({w.k})"
    indices = top_k_of_store(scores, w.k, n, snakemake.input.store, key)  # noqa: F821
log.info("%s k=%s: %d of %d patches", w.criterion, w.k, len(indices), n)
np.save(snakemake.output[0], indices.astype(np.int64))  # noqa: F821
