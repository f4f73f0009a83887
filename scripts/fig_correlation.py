"""Rule correlation_figure: per-patch losses of two tasks -> Fig. 7 with Pearson's rho."""

import numpy as np
import pandas as pd

from patchmine.figures import plot_correlation
from patchmine.published import fig7_row
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
w = sm.wildcards
info = plot_correlation(
    np.load(sm.input.a),
    np.load(sm.input.b),
    sm.output.png,
    sm.output.pdf,
    xlabel=f"Per-patch loss, {w.task_a} (MSE)",
    ylabel=f"Per-patch loss, {w.task_b} (MSE)",
    title=f"{w.dataset}, patch {w.patch}, stride {w.stride}",
)
row = {"table": "Fig7", "row": fig7_row(w.task_a, w.task_b), "column": "pearson rho"}
pd.DataFrame([{**row, "value": info["rho"], "n": info["n"]}]).to_csv(sm.output.rho, index=False)
log.info("%s over %d patches (%s)", info["text"], info["n"], info["mode"])
