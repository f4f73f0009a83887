"""What the workflow's report rules ask for (rules/report.smk, rules/common.smk): which files of
which runs a table or figure waits for, the products of each experiment, the targets of `rule
all`, and the finished results a table or figure script starts from.

The tables themselves are :mod:`patchmine.tables`; how they read, :mod:`patchmine.render`; the
figures, :mod:`patchmine.figures`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import pandas as pd

from patchmine.labels import pick_convergence_criterion
from patchmine.paths import ResultPaths
from patchmine.results import add_model_columns
from patchmine.tables import expected_points
from patchmine.tasks import Task

#: Columns of a runs CSV that are text even where they look like numbers: a K label "1" (one
#: patch) beside "1.0" (the whole store), a dataset or test set named "2024".
_TEXT_COLUMNS = ("k_label", "task", "model", "dataset", "recipe", "criterion", "test_set")


def read_runs(path: str | Path) -> pd.DataFrame:
    """A ``*_runs.csv`` written by the workflow; empty (no columns) when no run has finished."""
    try:
        return pd.read_csv(path, dtype=dict.fromkeys(_TEXT_COLUMNS, str))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def reference_files(config: Mapping, name: str, partial: bool = False) -> list[str]:
    """Per test set of experiment ``name``, the scores of what its networks are read against
    (rule ``reference``: bicubic upscaling, or the noisy input). With ``partial``
    (:func:`partial_inputs`), only those already made: a table drawn from what has finished must
    not download and ingest a test set for a note."""
    exp = config["experiments"][name]
    task = Task.from_experiment(exp).name
    files = [ResultPaths(config["results"]).reference(task, test) for test in exp["test"]]
    return [f for f in files if Path(f).exists()] if partial else files


def reference_notes(config: Mapping, name: str, paths: Sequence) -> dict[str, str]:
    """Per test set (the files' names), the note under experiment ``name``'s tables saying what
    the reference (:func:`reference_files`, read from ``paths``) scores there by the same
    protocol."""
    task = Task.from_experiment(config["experiments"][name])
    notes = {}
    for path in paths:
        test = Path(path).stem
        psnr, ssim = reference_scores(path)
        notes[test] = (
            f"Reference on {test}: {task.reference} scores {psnr:.2f} dB (SSIM {ssim:.4f}) by "
            "the same protocol."
        )
    return notes


def reference_scores(path: str | Path) -> tuple[float, float]:
    """Mean (PSNR, SSIM) over a test set's images of a reference file (:func:`reference_files`)."""
    scores = pd.read_csv(path)
    return float(scores["psnr"].mean()), float(scores["ssim"].mean())


def stack_tables(paths: Sequence, key: Sequence[str]) -> pd.DataFrame:
    """The tables at ``paths`` (:func:`read_runs`) one under the other, a row several of them
    hold (a run two experiments share) kept once by the ``key`` columns present."""
    frames = [frame for frame in map(read_runs, paths) if len(frame)]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates(subset=[k for k in key if k in table.columns] or None)


#: Tables II-IV by the layout name in their file names, and the experiment kinds that ask for them.
LAYOUTS = {"strides": "Table II", "params": "Table III", "benchmarks": "Table IV"}

_KIND_LAYOUT = {"strides": "strides", "models": "params", "benchmarks": "benchmarks"}

#: The files of a finished run that tables and figures read, by kind.
RUN_FILE_KINDS = ("meta", "logs", "evals")


def run_files(
    config: Mapping, run, tests: Sequence[str], kinds: Sequence[str] = RUN_FILE_KINDS
) -> list[str]:
    """The files of a finished run that the tables and figures read: ``run.json`` (meta),
    ``train_log.csv`` (logs) and ``eval/<test>.csv`` (evals), of the ``kinds`` asked for."""
    paths = ResultPaths(config["results"])
    files = {
        "meta": [paths.run_file(run.path, "run.json")],
        "logs": [paths.run_file(run.path, "train_log.csv")],
        "evals": [paths.run_eval(run.path, test) for test in tests],
    }
    return [f for kind in kinds for f in files[kind]]


def convergence_criterion(config: Mapping, name: str) -> str:
    """The criterion whose runs Fig. 4 draws (:func:`pick_convergence_criterion` of the
    experiment's criteria): the only runs the figure waits for."""
    return pick_convergence_criterion(config["experiments"][name]["criteria"])


def partial_inputs(
    allow_partial: bool, targets: Collection[str], main_process: bool = True
) -> bool:
    """Whether tables and figures are drawn from the runs finished so far: with
    ``allow_partial``, for named ``targets`` (``snakemake table1``, which then schedules no
    training). Without targets, or with ``all``, the invocation trains every run, so drawing its
    products first would leave them "not finished yet" at its end. A job's own process (on a
    cluster node) has no targets: it lists the runs that exist, which are the ones the main
    process gave it, or more (all of them, when it waited for them)."""
    if not main_process:
        return allow_partial
    return allow_partial and bool(targets) and "all" not in targets


def report_runs(
    config: Mapping,
    name: str,
    allow_partial: bool = False,
    reads: Sequence[str] = RUN_FILE_KINDS,
    criterion: str | None = None,
) -> list:
    """The runs an experiment's tables and figures wait for (those of ``criterion`` when given):
    all of them; with ``allow_partial`` only those whose files of the kinds the product
    ``reads`` exist now (see rules/report.smk)."""
    from patchmine.grid import experiment_runs

    runs = [r for r in experiment_runs(config, name) if criterion in (None, r.criterion)]
    if not allow_partial:
        return runs
    tests = config["experiments"][name]["test"]
    return [r for r in runs if all(Path(f).exists() for f in run_files(config, r, tests, reads))]


def report_inputs(
    config: Mapping,
    name: str,
    what: str,
    allow_partial: bool = False,
    reads: Sequence[str] = RUN_FILE_KINDS,
    criterion: str | None = None,
) -> list:
    """``what`` = "meta" (run.json), "logs" (train_log.csv) or "evals" (eval/<test>.csv) of
    :func:`report_runs`: a product reading several kinds asks for each with the same ``reads``,
    so that its lists pair up run by run."""
    tests = config["experiments"][name]["test"]
    return [
        f
        for run in report_runs(config, name, allow_partial, reads, criterion)
        for f in run_files(config, run, tests, [what])
    ]


def expected_runs(config: Mapping, name: str) -> list[dict]:
    """Every run the configuration asks of an experiment (what a complete product shows)."""
    from patchmine.grid import experiment_runs

    return [run.as_dict() for run in experiment_runs(config, name)]


def grid_signature(config: Mapping, name: str) -> str:
    """A short, stable name of an experiment's grid (its runs and test sets): a job parameter
    that makes Snakemake redraw a product when the grid changes, without listing every run in
    the report's job parameters."""
    import hashlib
    import json

    runs = expected_runs(config, name)
    tests = list(config["experiments"][name]["test"])
    digest = hashlib.sha256(json.dumps([runs, tests], sort_keys=True).encode()).hexdigest()
    return f"{len(runs)} runs x {len(tests)} test sets, {digest[:12]}"


def config_signature(config: Mapping) -> str:
    """A short, stable name of a whole configuration (see :func:`grid_signature`)."""
    import hashlib
    import json

    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def validation_set(config: Mapping, name: str) -> str:
    return config["recipes"][config["experiments"][name]["recipe"]]["validation"]


def experiment_layouts(config: Mapping, name: str) -> list[str]:
    """The Tables II-IV an experiment asks for: its ``kind`` says so, or else its grid does
    (several strides -> II, several models -> III, several test sets -> IV)."""
    from patchmine.grid import experiment_runs

    exp = config["experiments"][name]
    if exp.get("kind") is not None:
        layout = _KIND_LAYOUT.get(exp["kind"])
        return [layout] if layout else []
    runs = experiment_runs(config, name)
    layouts = []
    if len({r.stride for r in runs}) > 1:
        layouts.append("strides")
    if len({r.model for r in runs}) > 1:
        layouts.append("params")
    if len(exp["test"]) > 1:
        layouts.append("benchmarks")
    return layouts


def experiment_products(config: Mapping, name: str) -> list[str]:
    """Every table, figure and report page of one experiment."""
    from patchmine.grid import experiment_runs

    exp = config["experiments"][name]
    if exp.get("kind") == "correlation":
        return []
    paths = ResultPaths(config["results"])
    out = [
        paths.table(name, "csv", "runs"),
        paths.table(name, "html", "runs"),
        paths.table(name, "csv"),
        paths.table(name, "md"),
        paths.table(name, "html"),
        paths.table(name, "md", "vs_paper"),
        paths.figure(name, "psnr_vs_k", "png"),
        paths.figure(name, "psnr_vs_k", "pdf"),
        paths.figure(name, "convergence", "png"),
        paths.figure(name, "convergence", "pdf"),
        paths.figure(name, "histograms", "png"),
        paths.figure(name, "histograms", "pdf"),
    ]
    if len(set(exp.get("augment", [False, True]))) > 1:
        out += [paths.figure(name, "aug_gain", "png"), paths.figure(name, "aug_gain", "pdf")]
    out += [paths.table(name, "md", layout) for layout in experiment_layouts(config, name)]
    stores = sorted({(run.dataset, run.patch, run.stride) for run in experiment_runs(config, name)})
    out += [paths.store_page(*store) for store in stores]
    # the training set's page is its store's (no ingest: its images go straight into the store)
    sets = {*exp["test"], validation_set(config, name)}
    out += [paths.dataset_page(d) for d in sorted(sets)]
    return out


def figure_label(config: Mapping, name: str, show: str, fallback: str) -> str:
    """The paper's name of an experiment's figure: from the target that shows it ("fig9" ->
    "Fig. 9"), else from its task (denoising PSNR against K is the paper's Fig. 9), else
    ``fallback``."""
    for target_name, target in config.get("targets", {}).items():
        if target["experiment"] == name and target["show"] == show:
            found = re.fullmatch(r"fig(\d+)([a-z]?)", target_name)
            if found:
                return f"Fig. {found[1]}{found[2]}"
    if show == "psnr_vs_k" and config["experiments"][name].get("task") == "denoise":
        return "Fig. 9"
    return fallback


def report_targets(config: Mapping) -> list[str]:
    """Everything the HTML report shows; `rule all` lists it so `snakemake --report` finds it."""
    paths = ResultPaths(config["results"])
    targets = [paths.config_page()]
    for name in config["experiments"]:
        targets += experiment_products(config, name)
    if len(targets) > 1:  # every experiment's runs beside the whole paper (rule compare_all)
        targets += [paths.paper_vs_ours(s) for s in ("md", "html")]
    return list(dict.fromkeys(targets))


def configured_points(config: Mapping, names: Sequence[str]) -> pd.DataFrame | None:
    """Every (run, test set) the named experiments ask for, with the model columns: what the
    comparison with the paper tells apart from runs never configured (None without any)."""
    points = [
        expected_points(expected_runs(config, name), config["experiments"][name]["test"])
        for name in names
    ]
    if not points:
        return None
    return add_model_columns(pd.concat(points, ignore_index=True), config["models"])


def experiment_results(
    config: Mapping, name: str, runs_csv
) -> tuple[list, pd.DataFrame, pd.DataFrame]:
    """(test sets, finished results, expected points) of one experiment: what every table and
    figure script starts from."""
    tests = config["experiments"][name]["test"]
    results = read_runs(runs_csv)
    if "recipe" in results.columns:  # for tables.still_improving
        iterations = {r: spec["iterations"] for r, spec in config["recipes"].items()}
        results = results.assign(iterations=results["recipe"].map(iterations))
    expected = expected_points(expected_runs(config, name), tests, results)
    # with the models' sizes, so that a model with no finished run yet still sorts by its size
    return tests, results, add_model_columns(expected, config["models"])
