# patchmine: training-patch analysis and mining for image restoration (Soh & Cho, 2022).
# Everything happens in the `patchmine` package; the rules only say what depends on what.
import os

from snakemake.utils import min_version, validate

from patchmine.config import check_as_written, default_config_file
from patchmine.mine import expand_shorthand
from patchmine.overrides import read_back_command_line

min_version("9.0")


# `--configfile other.yaml` replaces the demo instead of being merged into it (Snakemake's
# default merge would add the demo's experiments to every other configuration). Without one,
# the working directory's config.yaml is read when it is a patchmine config, or else this
# workflow's own (the demo), so that `snakemake -s <patchmine>/Snakefile mine --config
# mine=<folder>` works from any folder.
if not workflow.overwrite_configfiles:

    configfile: default_config_file(os.getcwd(), workflow.basedir)


SCHEMA = os.path.join(workflow.basedir, "schemas", "config.schema.yaml")
# `--config report='{allow_partial: true}'`: Snakemake hands nested values over as text
read_back_command_line(config, workflow.config_settings.config, SCHEMA)
expand_shorthand(config)  # `--config mine=<folder>`
check_as_written(config)  # before the schema's defaults hide what was written
validate(config, SCHEMA)


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
