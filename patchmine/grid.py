"""The experiment grid: which training runs a config asks for, and where each one lives.

A run is identified by its parameters alone (task, model, training set, patch size, stride,
criterion, K, augmentation, seed, recipe) and its folder is spelled from them, so a run that two
experiments need is trained once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
    "criterion": r"grad|std|freq|loss|rand|all",
    "k": r"\d+|\d+\.\d+|all",
    "aug": r"aug|noaug",
    "seed": r"\d+",
    "archive": r"[A-Za-z0-9_.-]+",
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


def dataset_scales(config: dict, dataset: str) -> list[int]:
    """Every SR scale an experiment needs LR images of ``dataset`` for (validation, test).

    Empty for a set only used for denoising: its noisy inputs are made when it is evaluated.
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
    return sorted(scales)


def store_scales(config: dict, dataset: str, patch: int, stride: int) -> list[int]:
    """Scales of the SR experiments that train on this (dataset, patch, stride) store."""
    return sorted(
        {
            exp["scale"]
            for exp in config["experiments"].values()
            if exp["task"] == "sr"
            and exp["train"] == dataset
            and exp["patch_size"] == patch
            and stride in exp["strides"]
        }
    )


def dataset_min_size(config: dict, dataset: str) -> int:
    """The largest patch any experiment cuts from ``dataset``: smaller images are skipped."""
    sizes = [exp["patch_size"] for exp in config["experiments"].values() if exp["train"] == dataset]
    return max(sizes, default=1)
