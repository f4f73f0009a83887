"""Rule select: the top-K patch indices by one criterion (or all patches)."""

import numpy as np

from patchmine.select import parse_k_label, resolve_k, top_k
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
    indices = top_k(scores, resolve_k(parse_k_label(w.k), n))
log.info("%s k=%s: %d of %d patches", w.criterion, w.k, len(indices), n)
np.save(snakemake.output[0], indices.astype(np.int64))  # noqa: F821
