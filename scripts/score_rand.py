"""Rule score_rand: a seeded random permutation, so top-K of it is a seeded random subset."""

import numpy as np

from patchmine.criteria import random_scores
from patchmine.store import open_store
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
with open_store(snakemake.input.store) as f:  # noqa: F821
    n = int(f.attrs["n_patches"])
np.save(snakemake.output[0], random_scores(n, snakemake.params.seed))  # noqa: F821
log.info("rand over %d patches, seed %d", n, snakemake.params.seed)  # noqa: F821
