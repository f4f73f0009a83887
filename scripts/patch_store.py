"""Rule patch_store: ingested training images -> HDF5 patch store."""

from pathlib import Path

from patchmine.store import build_store
from patchmine.workflow import start

start(snakemake)  # noqa: F821
w = snakemake.wildcards  # noqa: F821
build_store(
    Path(snakemake.input.manifest).parent,  # noqa: F821
    snakemake.output[0],  # noqa: F821
    patch_size=int(w.patch),
    stride=int(w.stride),
    scales=snakemake.params.scales,  # noqa: F821
    dataset_name=w.dataset,
)
