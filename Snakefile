# patchmine: training-patch analysis and mining for image restoration (Soh & Cho, 2022).
# Everything happens in the `patchmine` package; the rules only say what depends on what.
import os

from snakemake.utils import min_version, validate

from patchmine.mine import expand_shorthand

min_version("9.0")


# `--configfile other.yaml` replaces the demo instead of being merged into it (Snakemake's
# default merge would add the demo's experiments to every other configuration). Without one,
# the working directory's config.yaml is read, or else this workflow's own (the demo), so that
# `snakemake -s <patchmine>/Snakefile mine --config mine=<folder>` works from any folder.
CONFIG_FILE = (
    "config.yaml"
    if os.path.exists("config.yaml")
    else os.path.join(workflow.basedir, "config.yaml")
)
if not workflow.overwrite_configfiles:

    configfile: CONFIG_FILE


expand_shorthand(config)  # `--config mine=<folder>`
validate(config, "schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/patches.smk"
include: "rules/scoring.smk"
include: "rules/training.smk"
include: "rules/evaluation.smk"
include: "rules/report.smk"
include: "rules/mine.smk"
include: "rules/targets.smk"


rule all:
    default_target: True
    input:
        all_targets(),
