"""Rule patch_store: a dataset's images -> HDF5 patch store (LR made in memory) and a summary."""

from patchmine.datasets import source_images
from patchmine.store import build_store
from patchmine.workflow import start

start(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
build_store(
    source_images(sm.params.spec, sm.params.data_dir),
    sm.output.store,
    patch_size=int(sm.wildcards.patch),
    stride=int(sm.wildcards.stride),
    scales=sm.params.scales,
    dataset_name=sm.wildcards.dataset,
    workers=sm.threads,
    summary_path=sm.output.summary,
)
