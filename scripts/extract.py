"""Rule extract: an archive into the data folder, refusing members that would escape it."""

from pathlib import Path

from patchmine.archive import extract
from patchmine.workflow import start

log = start(snakemake)  # noqa: F821
target = Path(snakemake.output[0]).parent.parent  # <data_dir>/extracted/<archive>.txt  # noqa: F821
files = extract(snakemake.input[0], target)  # noqa: F821
log.info("%d files from %s", len(files), snakemake.input[0])  # noqa: F821
with open(snakemake.output[0], "w") as handle:  # noqa: F821
    handle.writelines(f"{path}\n" for path in files)
