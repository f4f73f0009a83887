"""Rule score_extra: one pixel statistic beyond the paper's (criterion_names.EXTRA_STATISTICS)."""

import numpy as np

from patchmine.criteria import score_statistics, set_cpu_threads
from patchmine.store import open_store
from patchmine.workflow import pick_device, start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
set_cpu_threads(sm.threads)
name = sm.wildcards.statistic
with open_store(sm.input.store) as f:
    values = score_statistics(f["hr"], (name,), device=pick_device(sm.params.device))[name]
log.info(
    "%s over %d patches: min %.4g, median %.4g, max %.4g",
    name,
    len(values),
    values.min(),
    np.median(values),
    values.max(),
)
np.save(sm.output[0], values)
