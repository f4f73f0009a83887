"""Rule mine: keep a store's best patches by one criterion and write them out."""

from pathlib import Path

import numpy as np

from patchmine.mine import OUTPUT_FILES, describe_ranking, describe_source, export_mined
from patchmine.workflow import start

start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
export_mined(
    sm.input.store,
    np.load(sm.input.scores),
    sm.params.keep,
    sm.params.criterion,
    {role: sm.output[role] for role in OUTPUT_FILES},
    png_dir=sm.output.get("png"),
    workers=sm.threads,
    # read here rather than passed as params, which would re-run finished mines when it changes
    source=describe_source(sm.config, Path(sm.input.store).parent.name),
    ranking=describe_ranking(sm.config, sm.input.scores),
)
