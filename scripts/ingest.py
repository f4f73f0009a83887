"""Rule ingest: a configured dataset -> HR/ and LR_bicubic/X<s>/ PNGs plus manifest.csv."""

from pathlib import Path

from patchmine.datasets import ingest, source_images
from patchmine.workflow import start

start(snakemake)  # noqa: F821
ingest(
    source_images(snakemake.params.spec, snakemake.params.data_dir),  # noqa: F821
    Path(snakemake.output.manifest).parent,  # noqa: F821
    snakemake.params.scales,  # noqa: F821
    min_size=snakemake.params.min_size,  # noqa: F821
    workers=snakemake.threads,  # noqa: F821
)
