"""Rule score_statistics: grad, std and freq of every patch, in one pass over the store."""

import numpy as np

from patchmine.criteria import score_statistics, set_cpu_threads
from patchmine.store import open_store
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
set_cpu_threads(sm.threads)
with open_store(sm.input.store) as f:
    scores = score_statistics(
        f["hr"], ("grad", "std", "freq"), device=pick_device(sm.params.device)
    )
for name, values in scores.items():
    log.info(
        "%s over %d patches: min %.4g, median %.4g, max %.4g",
        name,
        len(values),
        values.min(),
        np.median(values),
        values.max(),
    )
    np.save(sm.output[name], values)
