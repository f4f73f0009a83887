"""The experiment grid: which training runs a config asks for, and where each one lives.

A run is identified by its parameters alone (task, model, training set, patch size, stride,
criterion, K, augmentation, seed, recipe) and its folder is spelled from them, so a run that two
experiments need is trained once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from patchmine.criterion_names import CRITERIA
from patchmine.paths import ResultPaths
from patchmine.select import k_label
from patchmine.tasks import Task

#: One path component per run parameter, in this order.
RUN_PATTERN = (
    "{task}/{model}/{dataset}/p{patch}_s{stride}/{criterion}/k{k}/{aug}/seed{seed}/{recipe}"
)

#: Wildcard constraints that keep every component to its own folder level.
WILDCARDS = {
    "task": r"sr_x\d+|dn_s\d+",
    "model": r"[A-Za-z0-9_-]+",
    "dataset": r"[A-Za-z0-9_-]+",
    "recipe": r"[A-Za-z0-9_-]+",
    "testset": r"[A-Za-z0-9_-]+",
    "experiment": r"[A-Za-z0-9_-]+",
    "patch": r"\d+",
    "stride": r"\d+",
    "criterion": "|".join((*CRITERIA, "all")),  # "all": the scorer's run on every patch
    "k": r"\d+|\d+\.\d+|all",
    "aug": r"aug|noaug",
    "seed": r"\d+",
    "archive": r"[A-Za-z0-9_.-]+",
    "published": r"[A-Za-z0-9_-]+",
}


@dataclass(frozen=True)
class Run:
    """One training run; ``criterion == k == "all"`` marks a run on every patch (the scorer)."""

    task: str
    model: str
    dataset: str
    patch: int
    stride: int
    criterion: str
    k: str
    aug: str
    seed: int
    recipe: str

    @property
    def path(self) -> str:
        return RUN_PATTERN.format(**asdict(self))

    @property
    def scale(self) -> int:
        return Task.parse(self.task).scale

    @property
    def augment(self) -> bool:
        return self.aug == "aug"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_wildcards(cls, wildcards) -> Run:
        """The run a job's wildcards spell, with numbers as numbers."""
        values = {name: getattr(wildcards, name) for name in cls.__dataclass_fields__}
        for name in ("patch", "stride", "seed"):
            values[name] = int(values[name])
        return cls(**values)


def aug_label(augment: bool) -> str:
    return "aug" if augment else "noaug"


def experiment_runs(config: dict, name: str) -> list[Run]:
    """Every run of experiment ``name``: models x strides x criteria x K x augmentation x seeds."""
    exp = config["experiments"][name]
    return [
        Run(
            task=Task.from_experiment(exp).name,
            model=model,
            dataset=exp["train"],
            patch=exp["patch_size"],
            stride=stride,
            criterion=criterion,
            k=k_label(k),
            aug=aug_label(augment),
            seed=seed,
            recipe=exp["recipe"],
        )
        for model in exp["models"]
        for stride in exp["strides"]
        for criterion in exp["criteria"]
        for k in exp["k"]
        for augment in exp["augment"]
        for seed in exp["seeds"]
    ]


def scorer_model(config: dict, task: str) -> str:
    """The models entry of the network that scores ``task``'s patches by loss: a published
    weights entry (``scorer.weights.<task>``) names its own model, else the trained scorer's."""
    published = (config["scorer"].get("weights") or {}).get(task)
    return published["model"] if published else config["scorer"]["model"]


def scorer_run(config: dict, task: str, dataset: str, patch: int, stride: int) -> Run:
    """The run whose network scores patches for the "loss" criterion: all patches, scorer recipe."""
    scorer = config["scorer"]
    return Run(
        task=task,
        model=scorer["model"],
        dataset=dataset,
        patch=patch,
        stride=stride,
        criterion="all",
        k="all",
        aug=aug_label(scorer["augment"]),
        seed=scorer["seed"],
        recipe=scorer["recipe"],
    )


def dataset_scales(config: dict, dataset: str, scorer_scales=()) -> list[int]:
    """Every SR scale an experiment needs LR images of ``dataset`` for (validation, test).

    The scorer's validation set also gets the scales of the scorers trained beside the
    experiments: Fig. 7's (:func:`trained_scorer_tasks`) and ``scorer_scales`` (the mining
    plan's, which this module does not know). Empty for a set only used for denoising: its noisy
    inputs are made when it is evaluated.
    """
    scales = set()
    for exp in config["experiments"].values():
        if exp["task"] != "sr":
            continue
        used = {exp["train"], *exp["test"], config["recipes"][exp["recipe"]]["validation"]}
        if "scorer" in config:
            used.add(config["recipes"][config["scorer"]["recipe"]]["validation"])
        if dataset in used:
            scales.add(exp["scale"])
    scorer = config.get("scorer")
    if scorer and dataset == config["recipes"][scorer["recipe"]]["validation"]:
        scales |= {Task.parse(task).scale for task in trained_scorer_tasks(config)}
        scales |= set(scorer_scales)
    return sorted(scales)


def trained_scorer_tasks(config: dict) -> set[str]:
    """SR tasks whose scorer a correlation target (Fig. 7) trains: those without published
    weights. Their validation set needs LR images at each of their scales."""
    published = config.get("scorer", {}).get("weights", {})
    return {
        task
        for target in config.get("targets", {}).values()
        if target["show"] == "correlation"
        for task in target["tasks"]
        if Task.parse(task).kind == "sr" and task not in published
    }


def store_scales(config: dict, dataset: str, patch: int, stride: int) -> list[int]:
    """Scales of the SR experiments (and Fig. 7 scorers) that use this store's LR patches."""
    scales = {
        exp["scale"]
        for exp in config["experiments"].values()
        if exp["task"] == "sr"
        and exp["train"] == dataset
        and exp["patch_size"] == patch
        and stride in exp["strides"]
    }
    return sorted(scales | correlation_scales(config, dataset, patch, stride))


def dataset_min_size(config: dict, dataset: str) -> int:
    """The largest patch any experiment cuts from ``dataset``: smaller images are skipped."""
    sizes = [exp["patch_size"] for exp in config["experiments"].values() if exp["train"] == dataset]
    return max(sizes, default=1)


#: What follows ``<experiment>_`` in the names of an experiment's tables and figures: two
#: experiments ``a`` and ``a_<suffix>`` would name the same file (tests check rules/report.smk).
PRODUCT_SUFFIXES = (
    "runs",
    "vs_paper",
    "psnr_vs_k",
    "aug_gain",
    "convergence",
    "histograms",
    "strides",
    "params",
    "benchmarks",
    "published",
)

#: The files a named target shows, by its ``show``: a figure or table of the experiment, which
#: of them (:class:`~patchmine.paths.ResultPaths`), and its extensions.
TARGET_FILES = {
    "histograms": ("figure", "histograms", ("png", "pdf")),
    "convergence": ("figure", "convergence", ("png", "pdf")),
    "aug_gain": ("figure", "aug_gain", ("png", "pdf")),
    "psnr_vs_k": ("figure", "psnr_vs_k", ("png", "pdf")),
    "table": ("table", "", ("md", "csv")),
    "strides": ("table", "strides", ("md",)),
    "params": ("table", "params", ("md",)),
    "benchmarks": ("table", "benchmarks", ("md",)),
    "vs_paper": ("table", "vs_paper", ("md",)),
}


def first_store(exp: dict) -> tuple[str, int, int]:
    """(dataset, patch, stride) of an experiment's first store, its first stride's: the patches
    Figs. 2-3 and 7 look at."""
    return exp["train"], int(exp["patch_size"]), int(exp["strides"][0])


def correlation_file(config: dict, target: dict, suffix: str = "png") -> str:
    """Fig. 7's scatter of two tasks' scorer losses over the experiment's first store."""
    dataset, patch, stride = first_store(config["experiments"][target["experiment"]])
    a, b = target["tasks"]
    return ResultPaths(config["results"]).correlation(dataset, patch, stride, a, b, suffix)


def correlation_tables(config: dict, experiment: str | None = None) -> list[str]:
    """The Fig. 7 numbers (CSV) of the correlation targets, of one experiment or of all."""
    return sorted(
        {
            correlation_file(config, target, "csv")
            for target in config.get("targets", {}).values()
            if target["show"] == "correlation" and experiment in (None, target["experiment"])
        }
    )


def target_files(config: dict, name: str) -> list[str]:
    """The files of named target ``name`` (config ``targets``)."""
    target = config["targets"][name]
    if target["show"] == "correlation":
        return [correlation_file(config, target, s) for s in ("png", "pdf", "csv")]
    kind, part, suffixes = TARGET_FILES[target["show"]]
    paths = ResultPaths(config["results"])
    if kind == "figure":
        return [paths.figure(target["experiment"], part, s) for s in suffixes]
    return [paths.table(target["experiment"], s, part) for s in suffixes]


def correlation_scales(config: dict, dataset: str, patch: int, stride: int) -> set[int]:
    """SR scales whose scorer losses a correlation target needs on this store."""
    scales = set()
    for target in config.get("targets", {}).values():
        if target["show"] != "correlation":
            continue
        if first_store(config["experiments"][target["experiment"]]) == (dataset, patch, stride):
            scales |= {Task.parse(t).scale for t in target["tasks"] if t.startswith("sr_")}
    return scales
