# Paths, grids and checks shared by every rule file.
import glob
import os

from patchmine.atomic import warn_of_leftovers
from patchmine.catalog import archive_name, dataset_archives, dataset_content
from patchmine.datasets import image_files, mark_results_folder, source_images
from patchmine.images import read_headers
from patchmine.pairs import check_given_lr
from patchmine.config import canonical, check_config, recipe_identity
from patchmine.criterion_names import EXTRA_STATISTICS, STATISTICS
from patchmine.paths import ResultPaths
from patchmine.tasks import Task
from patchmine.attempts import use_workflow
from patchmine.input_sizes import note_largest_image
from patchmine.resources import (
    check_gpu_model,
    gpus,
    job_cpus,
    job_mem_mb,
    job_runtime,
)
from patchmine.sources import outdate_if_changed, snakemake_inputs
from patchmine.grid import (
    RUN_PATTERN,
    WILDCARDS,
    Run,
    correlation_tables,
    dataset_min_size,
    dataset_scales,
    experiment_runs,
    first_store,
    scorer_model,
    scorer_run,
    store_scales,
    target_files,
)
from patchmine.mine import add_mining, check_keep_fits, mine_scales
from patchmine.report import (
    convergence_criterion,
    partial_inputs,
    report_inputs,
    report_targets,
)

# A folder of images read with '**/*' never reads the results back in (mining `.` from the
# working directory): marked here when they exist, before any folder is listed, and at the start.
if os.path.isdir(config["results"]):
    mark_results_folder(config["results"])


onstart:
    mark_results_folder(config["results"])
    # what writes stopped by a kill left (a store's can weigh gigabytes)
    warn_of_leftovers(config["results"])


# The `mine` section as a plan (None without one); a folder in it becomes a dataset named
# after it (mine.folder_dataset_name).
MINE = add_mining(config)
check_config(config)

# The runtime cap's warning counts the attempts this run gives each rule (--retries).
use_workflow(workflow)
# A profile's GPU model on a CPU-only config would reach sbatch as --gpus=<model>:0.
check_gpu_model(
    config["device"],
    workflow.resource_settings.overwrite_resources,
    workflow.resource_settings.default_resources,
)

# Jobs import this checkout's `patchmine`, also inside conda environments and on cluster nodes
# (which re-read this file), without installing it there.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])
    )
)

# The conda environment of every job (`--sdm conda`); `torch_build: cuda` on GPU machines.
ENV = f"../envs/patchmine-{config['torch_build']}.yaml"

R = config["results"]
DATA = config["data_dir"]
RUN = RUN_PATTERN  # wildcards as they stand: f-strings below insert it verbatim
# Where every product lives (patchmine.paths), as the rules' patterns.
P = ResultPaths(R)
STORE_KEYS = ("{dataset}", "{patch}", "{stride}")
STORE = P.store(*STORE_KEYS)
STORE_SUMMARY = P.store_summary(*STORE_KEYS)
SUBSET = P.subset("{task}", *STORE_KEYS, "{criterion}", "{k}")


wildcard_constraints:
    **WILDCARDS,


def run_of(wildcards) -> Run:
    """The Run a job's wildcards spell."""
    return Run.from_wildcards(wildcards)


def run_file(run: Run, name: str) -> str:
    return P.run_file(run.path, name)


def store_of(run) -> str:
    """The store of a Run, or of anything with its dataset, patch and stride (the mine plan)."""
    return P.store(run.dataset, run.patch, run.stride)


def experiment_evals(name: str) -> list[str]:
    exp = config["experiments"][name]
    return [
        P.run_eval(run.path, test)
        for run in experiment_runs(config, name)
        for test in exp["test"]
    ]


def experiment_scores(name: str) -> dict[str, str]:
    """The criteria's scores over the experiment's first store (Figs. 2-3), by criterion: the
    paper's, and any statistic of EXTRA_STATISTICS the experiment ranks patches by."""
    exp = config["experiments"][name]
    dataset, patch, stride = first_store(exp)
    shown = [*STATISTICS, *(n for n in EXTRA_STATISTICS if n in exp["criteria"])]
    files = {n: P.scores(dataset, patch, stride, n) for n in shown}
    if "scorer" in config:
        task = Task.from_experiment(exp).name
        files["loss"] = P.scores(dataset, patch, stride, f"loss_{task}")
    return files


def all_targets() -> list[str]:
    """Every product of the report and every named target (with allow_partial, the runs too,
    so that a partial report never stops the training of what is missing)."""
    targets = report_targets(config)
    for name in config["targets"]:
        targets += target_files(config, name)
    if config["report"]["allow_partial"]:
        for name in config["experiments"]:
            targets += experiment_evals(name)
    if MINE:
        targets += list(MINE.outputs(R).values())
    return list(dict.fromkeys(targets))


def patch_store_scales(wildcards) -> list[int]:
    """LR scales a store holds: those of its experiments, Fig. 7 scorers and mining."""
    dataset, patch, stride = (
        wildcards.dataset,
        int(wildcards.patch),
        int(wildcards.stride),
    )
    return scales_of_store(dataset, patch, stride)


def scales_of_store(dataset: str, patch: int, stride: int) -> list[int]:
    scales = store_scales(config, dataset, patch, stride)
    return sorted(set(scales) | mine_scales(MINE, dataset, patch, stride))


def ingest_scales(wildcards) -> list[int]:
    """LR scales a validation or test set is ingested with: its experiments' and its scorers'
    (Fig. 7's and, when mining ranks by "loss", the one trained on the mined store)."""
    mined = [MINE.scales[0]] if MINE and MINE.criterion == "loss" else []
    return dataset_scales(config, wildcards.dataset, scorer_scales=mined)


def subset_scores(wildcards):
    """The scores a subset ranks: none for "all", the task's scorer for "loss"."""
    if wildcards.criterion == "all":
        return []
    if wildcards.criterion == "loss":
        return P.scores(*STORE_KEYS, "loss_{task}").format(**wildcards)
    return P.scores(*STORE_KEYS, "{criterion}").format(**wildcards)


def scorer_weights(wildcards) -> str:
    """Published weights when the config names some for the task, else the trained scorer's."""
    published = config["scorer"]["weights"].get(wildcards.task)
    if published:
        # ancient: a re-download (see rule download) changes nothing downstream
        return ancient(f"{DATA}/archives/{archive_name(published['url'])}")
    run = scorer_run(
        config,
        wildcards.task,
        wildcards.dataset,
        int(wildcards.patch),
        int(wildcards.stride),
    )
    return run_file(run, "model.pt")


def published_weights(name: str):
    """The downloaded file of a `published_models` entry (ancient: see rule download)."""
    url = config["published_models"][name]["url"]
    return ancient(f"{DATA}/archives/{archive_name(url)}")


def published_evals(experiment: str) -> list[str]:
    """Evaluations of the published models an experiment lists, on each of its test sets."""
    exp = config["experiments"][experiment]
    return [
        P.published_eval(name, test)
        for name in exp.get("published_models", [])
        for test in exp["test"]
    ]


def published_table(experiment: str) -> list[str]:
    """The experiment's table of published models (none when it lists none)."""
    if not config["experiments"][experiment].get("published_models"):
        return []
    return [P.table(experiment, "csv", "published")]


def dataset_inputs(dataset: str) -> list[str]:
    """What the jobs reading a dataset wait for: its downloads, or else its image files on
    disk, so that adding or changing an image re-runs them (scikit-image's photos never change).
    """
    spec = config["datasets"][dataset]
    downloads = dataset_downloads(dataset)
    if downloads or spec["source"] == "skimage":
        return downloads
    images = source_images(spec, DATA)
    # "shot {1}.png" is stood for by its folder (patchmine.sources.snakemake_inputs)
    inputs = snakemake_inputs(image_files(images))
    # an image replaced by an older file, or a braced one edited: its jobs' products are outdated
    # so that they are made again (patchmine.sources); once per dataset and plan
    if dataset not in OUTDATE_CHECKED:
        OUTDATE_CHECKED.add(dataset)
        # every file that is no image (HR, or a pair's LR) named at once, before any job
        files = image_files(images)
        headers = dict(zip(files, read_headers(files)))
        # (height, width) of each HR image
        sizes = [headers[str(im.path)][:2] for im in images]
        note_largest_image(dataset, max(h * w for h, w in sizes))  # its jobs' memory
        # every LR made elsewhere (real pairs) fits its HR image: all unfit pairs named now
        check_given_lr(images)
        # a count to keep that the images cannot give: refused before the store is cut
        if MINE and MINE.dataset == dataset:
            scales = scales_of_store(dataset, MINE.patch, MINE.stride)
            check_keep_fits(MINE, sizes, scales)
        made = [P.manifest(dataset)]
        stores = os.path.dirname(STORE.format(dataset=dataset, patch=0, stride=0))
        made += glob.glob(os.path.join(glob.escape(stores), "p*_s*.h5"))
        outdate_if_changed(made, inputs)
    return inputs


OUTDATE_CHECKED = set()


def dataset_downloads(dataset: str) -> list[str]:
    """The extraction records a dataset waits for (none when it reads a folder)."""
    return [
        f"{DATA}/extracted/{name}.txt"
        for name in dataset_archives(config["datasets"][dataset])
    ]


# Which runs the report's products wait for (see rules/report.smk on partial data).
REPORT = config.get("report", {})
ALLOW_PARTIAL = bool(REPORT.get("allow_partial", False))


def partial_now() -> bool:
    """Whether this invocation's report products draw from the runs finished so far."""
    targets = workflow.dag_settings.targets
    return partial_inputs(ALLOW_PARTIAL, targets, workflow.is_main_process)


RESULTS = ("meta", "evals")  # a run's results: its settings and its test scores


def convergence_inputs(experiment: str, what: str) -> list:
    """Fig. 4's training logs: of the criterion it draws only, test scores not needed."""
    criterion = convergence_criterion(config, experiment)
    reads = ("meta", "logs")
    return report_inputs(config, experiment, what, partial_now(), reads, criterion)
