"""Rule download: one archive, resumable and verified; a failed attempt keeps its .part."""

import logging

from patchmine.download import download
from patchmine.workflow import start

start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
download(sm.params.url, sm.output[0], sha256=sm.params.sha256, log=logging.getLogger("download"))
