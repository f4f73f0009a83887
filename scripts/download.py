"""Rule download: one archive, resumable and verified; a failed attempt keeps its .part."""

import logging

from patchmine.catalog import download_table
from patchmine.download import download
from patchmine.workflow import start

start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
entry = download_table(sm.config)[sm.wildcards.archive]
download(entry["url"], sm.output[0], sha256=entry["sha256"], log=logging.getLogger("download"))
