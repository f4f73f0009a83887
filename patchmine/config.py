"""Checks a JSON Schema cannot express: names that must refer to other entries, and geometry.

Run after schema validation and before any job, so a mistake stops the run with a message that
names the key, not hours later inside a training job.
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

from patchmine.catalog import archive_name, download_sources
from patchmine.criterion_names import CRITERIA
from patchmine.datasets import first_few
from patchmine.grid import PRODUCT_SUFFIXES, WILDCARDS
from patchmine.models import ARCH_DEFAULTS, ARCH_TASKS, misplaced_keys
from patchmine.overlap import DatasetImages
from patchmine.tasks import Task

#: Recipe settings of how a run is carried out, not of what it learns: left out of a run's
#: fingerprint and of its rule's params, so changing them neither re-runs finished runs nor
#: restarts running ones.
OPERATIONAL_RECIPE_KEYS = ("checkpoint_every",)


def recipe_identity(spec: dict) -> dict:
    """A recipe entry of the config without its operational settings."""
    return {key: value for key, value in spec.items() if key not in OPERATIONAL_RECIPE_KEYS}


def default_config_file(workdir: str, workflow_dir: str) -> str:
    """The config read without ``--configfile``: the working directory's ``config.yaml`` when it
    is a patchmine config (it names datasets, experiments or a folder to mine, and no key the
    schema does not know), else this workflow's own, the demo. A folder of another project may
    well hold a config.yaml of its own, and ``snakemake -s <patchmine>/Snakefile mine --config
    mine=<folder>`` must work there."""
    import yaml

    local = Path(workdir) / "config.yaml"
    if local.is_file():
        try:
            content = yaml.safe_load(local.read_text())
        except yaml.YAMLError:
            return str(local)  # meant for us, but broken: Snakemake names the line
        schema = yaml.safe_load((Path(workflow_dir) / "schemas" / "config.schema.yaml").read_text())
        ours = isinstance(content, dict) and content.keys() & {"datasets", "experiments", "mine"}
        if ours and content.keys() <= schema["properties"].keys():
            return str(local)
    return str(Path(workflow_dir) / "config.yaml")


class ConfigError(ValueError):
    """A configuration mistake; the message names the key and the value."""


#: An experiment's task-specific keys: each belongs to one task only.
TASK_KEYS = {"scale": "sr", "sigma": "denoise"}
#: The key that sets an experiment's task apart, by task.
TASK_KEY = {task: key for key, task in TASK_KEYS.items()}


def check_as_written(config: dict) -> None:
    """Raise :class:`ConfigError` for a task key under the other task, before schema defaults
    fill the config in: once they have, a written ``sigma: 50`` cannot be told from the default,
    and an experiment that forgot ``task: denoise`` would silently train x2 SR. Entries of the
    wrong shape are left to the schema, whose messages name them.

    ``scale: null`` under task denoise, or ``sigma: null`` under task sr, removes the key (in
    place): a config file given after another (``--configfile base.yaml denoise.yaml``) can only
    add or replace keys, so this is how it turns an experiment of the first into one of the
    other task. A null of the experiment's own task is left to the schema, which refuses it."""
    experiments = config.get("experiments")
    if not isinstance(experiments, dict):
        return
    for name, exp in experiments.items():
        if not isinstance(exp, dict):
            continue
        task = exp.get("task", "sr")
        for key, owner in TASK_KEYS.items():  # a later config file's way to drop an earlier's
            if exp.get(key, "") is None and owner != task:
                del exp[key]
        for key, owner in TASK_KEYS.items():
            if key in exp and task in TASK_KEYS.values() and task != owner:
                fix = (
                    "add `task: denoise`, or remove `sigma`"
                    if owner == "denoise"
                    else "remove `scale` (denoising keeps the image size)"
                ) + f" (a later --configfile can write `{key}: null`)"
                raise ConfigError(
                    f"experiments.{name}.{key}: {exp[key]!r} applies to task {owner!r} only, "
                    f"and the experiment's task is {task!r}"
                    + ("" if "task" in exp else " (the default)")
                    + f": {fix}"
                )


def check_config(config: dict) -> None:
    """Raise :class:`ConfigError` for the first cross-reference or geometry mistake found."""
    datasets, models, recipes = config["datasets"], config["models"], config["recipes"]

    def refer(kind: str, table: dict, value: str, key: str) -> None:
        if value not in table:
            raise ConfigError(f"{key}: {kind} {value!r} is not defined (defined: {sorted(table)})")

    for name, model in models.items():
        if model["arch"] not in ARCH_DEFAULTS or model["arch"] not in ARCH_TASKS:
            raise ConfigError(
                f"models.{name}: arch {model['arch']!r} is in the schema but patchmine.models "
                "does not know it: add it to ARCH_DEFAULTS, ARCH_TASKS and _BUILDERS there"
            )
        wrong = misplaced_keys(model)
        if wrong:
            takes = ", ".join(ARCH_DEFAULTS[model["arch"]])
            raise ConfigError(
                f"models.{name}: {', '.join(map(repr, wrong))} does not apply to arch "
                f"{model['arch']!r} (its keys: {takes})"
            )

    def able(model: str, task: str, key: str) -> None:
        arch, kind = models[model]["arch"], Task.parse(task).model_task
        if kind not in ARCH_TASKS[arch]:
            raise ConfigError(
                f"{key}: model {model!r} is {arch}, which does not do {task} (it does: "
                f"{', '.join(ARCH_TASKS[arch])})"
            )

    for name, recipe in recipes.items():
        refer("dataset", datasets, recipe["validation"], f"recipes.{name}.validation")
    if "scorer" in config:
        refer("model", models, config["scorer"]["model"], "scorer.model")
        refer("recipe", recipes, config["scorer"]["recipe"], "scorer.recipe")
        # where a trained scorer validates: real pairs there must be at the scorer's task's scale
        scorer_validation = recipes[config["scorer"]["recipe"]]["validation"]
        for task, spec in config["scorer"].get("weights", {}).items():
            refer("model", models, spec["model"], f"scorer.weights.{task}.model")
            able(spec["model"], task, f"scorer.weights.{task}.model")
    published = config.get("published_models", {})
    for name, spec in published.items():
        refer("model", models, spec["model"], f"published_models.{name}.model")
        able(spec["model"], spec["task"], f"published_models.{name}.model")
    _check_download_names(config)
    for name, spec in datasets.items():
        if spec["source"] == "pairs":
            _check_pairs(name, spec)
    listing = DatasetImages(datasets, config.get("data_dir", "data"))
    for name, target in config.get("targets", {}).items():
        refer("experiment", config["experiments"], target["experiment"], f"targets.{name}")
        if (target["show"] == "correlation") != ("tasks" in target):
            raise ConfigError(
                f"targets.{name}: `tasks` goes with show: correlation, and only there"
            )
        if target["show"] == "correlation" and "scorer" not in config:
            raise ConfigError(f"targets.{name}: a correlation needs a `scorer` section")
        if target["show"] == "correlation":
            exp = config["experiments"][target["experiment"]]
            _check_correlation_geometry(exp, target, name)
            trained = set(target["tasks"]) - set(config["scorer"].get("weights", {}))
            for task in target["tasks"]:
                if Task.parse(task).kind != "sr":
                    continue  # noise is added to the HR patches: a pair's LR plays no part
                _check_pairs_task(datasets, exp["train"], task, f"targets.{name}.tasks")
                if task in trained:
                    _check_pairs_task(datasets, scorer_validation, task, f"targets.{name}.tasks")
            for task in trained:
                able(config["scorer"]["model"], task, f"scorer.model (for targets.{name})")
    for name in config["experiments"]:
        for suffix in PRODUCT_SUFFIXES:
            if f"{name}_{suffix}" in config["experiments"]:
                raise ConfigError(
                    f"experiments.{name}_{suffix}: its tables would share file names with "
                    f"experiment {name!r}'s {suffix} product; rename one of them"
                )
    for name, exp in config["experiments"].items():
        key = f"experiments.{name}"
        check_criteria_named(exp["criteria"], f"{key}.criteria")
        refer("dataset", datasets, exp["train"], f"{key}.train")
        for test in exp["test"]:
            refer("dataset", datasets, test, f"{key}.test")
        task = Task.from_experiment(exp).name
        for model in exp["models"]:
            refer("model", models, model, f"{key}.models")
            able(model, task, f"{key}.models")
        refer("recipe", recipes, exp["recipe"], f"{key}.recipe")
        for pub in exp.get("published_models", []):
            refer("published model", published, pub, f"{key}.published_models")
            if published[pub]["task"] != task:
                raise ConfigError(
                    f"{key}.published_models: {pub!r} restores {published[pub]['task']} "
                    f"(published_models.{pub}.task) but the experiment's task is {task}"
                )
        for k in exp["k"]:
            if isinstance(k, float) and k > 1:  # JSON Schema counts 300.0 as an integer
                raise ConfigError(
                    f"{key}.k: {k} is neither a count (write it without a decimal point) nor a "
                    "fraction in (0, 1]"
                )
        if "loss" in exp["criteria"] and "scorer" not in config:
            raise ConfigError(f"{key}.criteria: 'loss' needs a `scorer` section")
        if "loss" in exp["criteria"] and task not in config["scorer"].get("weights", {}):
            able(config["scorer"]["model"], task, f"scorer.model (for {key}'s 'loss')")
        if exp["task"] == "sr":
            fields = [(f"{key}.patch_size", exp["patch_size"])]
            check_on_lr_grid(
                fields + [(f"{key}.strides", s) for s in exp["strides"]], [exp["scale"]]
            )
        roles = [
            ("train", exp["train"]),
            *(("test", name) for name in exp["test"]),
            (f"recipes.{exp['recipe']}.validation", recipes[exp["recipe"]]["validation"]),
        ]
        for role, dataset in roles:
            where = role if role.startswith("recipes.") else f"{key}.{role}"
            task_key = f"{key}.{TASK_KEY[exp['task']]}"
            _check_pairs_task(datasets, dataset, task, task_key, where)
        if "loss" in exp["criteria"] and task not in config["scorer"].get("weights", {}):
            _check_pairs_task(datasets, scorer_validation, task, f"{key}.criteria ('loss')")
        validation = recipes[exp["recipe"]]["validation"]
        for other in dict.fromkeys([validation, *exp["test"]]):
            overlap = listing.shared(exp["train"], other)
            if overlap:
                role = "validation set" if other == validation else "test set"
                role += " and test set" if other == validation and other in exp["test"] else ""
                raise ConfigError(
                    f"{key}: training set {exp['train']!r} shares {len(overlap)} image(s) with "
                    f"its {role} {other!r}: {first_few(overlap, shown=3)}"
                )


def _check_download_names(config: dict) -> None:
    """Downloads are stored under their URL's file name: it must be one the download rule can
    make, and two different URLs (or checksums) for the same name would overwrite each other."""
    seen: dict[str, tuple[str, str, str | None]] = {}
    for key, url, sha in download_sources(config):
        name = archive_name(url)
        if not re.fullmatch(WILDCARDS["archive"], name):
            raise ConfigError(
                f"{key}: {url!r} would be saved as {name!r}; a downloaded file's name may hold "
                "only letters, digits, '.', '_' and '-' (download it yourself and give its path)"
            )
        if name not in seen:
            seen[name] = (key, url, sha)
            continue
        first_key, first_url, first_sha = seen[name]
        if first_url != url:
            raise ConfigError(
                f"{key}: {url!r} and {first_key} ({first_url!r}) would both be saved as "
                f"{name!r}; rename one of the files"
            )
        if sha and first_sha and sha != first_sha:
            raise ConfigError(
                f"{key[:-4]}.sha256: differs from the checksum of the same file "
                f"given at {first_key[:-4]}.sha256"
            )
        seen[name] = (first_key, url, first_sha or sha)


def check_criteria_named(criteria: list, key: str) -> None:
    """A criterion the schema allows but the code does not name would fail later, as a missing
    input file: say which file to edit instead."""
    unnamed = [c for c in criteria if c not in CRITERIA]
    if unnamed:
        raise ConfigError(
            f"{key}: {', '.join(map(repr, unnamed))} is in the schema's criterion enum but not "
            "in patchmine/criterion_names.py (EXTRA_STATISTICS), which names every criterion "
            "for the workflow"
        )


def check_on_lr_grid(fields, scales) -> None:
    """Each (key, value) of a patch size or stride must be a multiple of every scale, so that
    LR patches start on whole LR pixels; the first that is not is refused by its key."""
    for key, value in fields:
        for scale in scales:
            if value % scale:
                raise ConfigError(
                    f"{key}: {value} is not a multiple of the scale {scale}; "
                    "LR patches must start on whole LR pixels"
                )


def _check_pairs_task(
    datasets: dict, dataset: str, task: str, key: str, where: str | None = None
) -> None:
    """Real x``s`` pairs serve super-resolution at x``s`` only: at another scale, or for
    denoising, their LR would be replaced by a bicubic one without a word. ``key`` set the task;
    ``where`` (when another key) named the dataset: either may be the one to change."""
    spec = datasets[dataset]
    if spec["source"] == "pairs" and task != f"sr_x{spec['scale']}":
        named = f"{where}: dataset" if where else "dataset"
        raise ConfigError(
            f"{key}: {task} but {named} {dataset!r} holds real x{spec['scale']} pairs "
            f"(datasets.{dataset}.scale), which serve sr_x{spec['scale']} only"
        )


def _check_correlation_geometry(exp: dict, target: dict, name: str) -> None:
    """Fig. 7 scores the experiment's first store at every SR task's scale: its patch size and
    stride must be multiples of each (the store is shared, so a misfit would stop every run)."""
    for task in target["tasks"]:
        parsed = Task.parse(task)
        if parsed.kind != "sr":
            continue
        for field, value in (("patch_size", exp["patch_size"]), ("strides", exp["strides"][0])):
            if value % parsed.scale:
                raise ConfigError(
                    f"targets.{name}.tasks: {task} needs x{parsed.scale} LR patches of experiment "
                    f"{target['experiment']!r}'s store, but its {field} {value} is not a multiple "
                    f"of {parsed.scale}"
                )


#: The fields of a pairs dataset's ``lr_name`` template.
LR_NAME_FIELDS = ("name", "scale")


def _check_pairs(name: str, spec: dict) -> None:
    """A pairs dataset's ``hr_name`` must hold ``{name}`` once, its ``lr_name`` only ``{name}``
    and ``{scale}``; both name files (no paths), and no image may be its own LR partner."""
    stems = {}
    for which, fields in (("hr_name", ("name",)), ("lr_name", LR_NAME_FIELDS)):
        key = f"datasets.{name}.{which}"
        template = spec.get(which, "{name}")
        try:
            used = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as error:  # an unmatched brace
            raise ConfigError(f"{key}: {template!r} is not a valid template ({error})") from None
        for field in used:
            base = re.match(r"[^.\[!:]*", field).group()
            if base not in fields:
                raise ConfigError(
                    f"{key}: {template!r} uses {{{field}}}, which is not a field of {which}; the "
                    "only fields are "
                    + " and ".join(f"{{{f}}}" for f in fields)
                    + " ({name}: the image's name, the part of the HR file's name that hr_name "
                    "marks)" + (" (write {name}, not {})" if not base else "")
                )
        if which == "hr_name" and used != ["name"]:
            raise ConfigError(f"{key}: {template!r} must hold {{name}} exactly once")
        try:
            stems[which] = [
                template.format(name=n, scale=spec["scale"]) for n in ("0801", "Canon_001")
            ]
        except (AttributeError, IndexError, KeyError, ValueError) as error:
            raise ConfigError(f"{key}: {template!r} cannot be filled in: {error}") from None
        if any("/" in stem or os.sep in stem for stem in stems[which]):
            raise ConfigError(
                f"{key}: {template!r} makes a path; it names a file in the `{which[:2]}` folder "
                f"(point `{which[:2]}` at the subfolder instead)"
            )
    same_folder = os.path.realpath(spec["hr"]) == os.path.realpath(spec["lr"])
    if same_folder and stems["hr_name"] == stems["lr_name"]:
        raise ConfigError(
            f"datasets.{name}: `hr` and `lr` are both {spec['hr']!r} and hr_name "
            f"{spec.get('hr_name', '{name}')!r} and lr_name {spec.get('lr_name', '{name}')!r} "
            "name the same file, so every HR image would be its own LR partner. Mark the part "
            "that tells them apart: for RealSR's Canon_001_HR.png / Canon_001_LR2.png, "
            "hr_name: '{name}_HR' and lr_name: '{name}_LR{scale}'"
        )


def canonical(value):
    """``value`` with every mapping's keys sorted, recursively (lists keep their order).

    Snakemake decides whether a job's ``params`` changed by comparing their ``repr``, and a
    dict's ``repr`` follows its key order; passing config entries through this function means
    that reordering the keys of a dataset, model or recipe entry re-runs nothing.
    """
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return type(value)(canonical(v) for v in value)
    return value
