"""Runs are named by their parameters alone, so shared runs are trained once."""

from pathlib import Path

import yaml
from snakemake.utils import validate

from patchmine.grid import Run, experiment_runs, scorer_run

ROOT = Path(__file__).resolve().parents[1]


def _config():
    config = yaml.safe_load(open(ROOT / "config.yaml"))
    validate(config, str(ROOT / "schemas" / "config.schema.yaml"))
    return config


def test_demo_grid_is_the_full_cross_product_with_unique_paths():
    config = _config()
    exp = config["experiments"]["demo"]
    runs = experiment_runs(config, "demo")
    expected = len(exp["criteria"]) * len(exp["k"]) * len(exp["augment"]) * len(exp["seeds"])
    assert len(runs) == expected
    assert len({r.path for r in runs}) == expected


def test_two_experiments_sharing_runs_name_them_identically():
    config = _config()
    other = dict(config["experiments"]["demo"], criteria=["grad"], k=[0.5])
    config["experiments"]["other"] = other
    shared = set(experiment_runs(config, "other")) & set(experiment_runs(config, "demo"))
    assert len(shared) == len(other["augment"])


def test_path_round_trips_through_wildcards():
    run = experiment_runs(_config(), "demo")[0]

    class Wildcards:
        pass

    w = Wildcards()
    for field, value in run.as_dict().items():
        setattr(w, field, str(value))
    assert Run.from_wildcards(w) == run
    assert run.path.startswith("sr_x2/edsr_demo/demo_train/p32_s40/")


def test_scorer_trains_on_every_patch():
    run = scorer_run(_config(), "sr_x2", "demo_train", 32, 40)
    assert (run.criterion, run.k) == ("all", "all")


def test_models_and_strides_multiply_the_grid():
    config = _config()
    exp = config["experiments"]["demo"]
    exp.update(models=["a", "b"], strides=[40, 20], criteria=["grad"], k=[0.5], augment=[True])
    runs = experiment_runs(config, "demo")
    assert {(r.model, r.stride) for r in runs} == {("a", 40), ("a", 20), ("b", 40), ("b", 20)}


def test_every_seed_is_a_run_of_its_own():
    """G2: seeds [0, 1, 2] triple the grid, one run per seed."""
    config = _config()
    exp = config["experiments"]["demo"]
    exp.update(criteria=["grad"], k=[0.5], augment=[True], seeds=[0, 1, 2])
    runs = experiment_runs(config, "demo")
    assert sorted(r.seed for r in runs) == [0, 1, 2] and len({r.path for r in runs}) == 3


def test_the_scorer_trains_with_the_augmentation_its_section_asks_for():
    """G3: ``scorer.augment: false`` is a run without augmentation (its own folder)."""
    config = _config()
    config["scorer"]["augment"] = False
    run = scorer_run(config, "sr_x2", "demo_train", 32, 40)
    assert run.aug == "noaug" and "/noaug/" in run.path


def test_figures_of_an_experiments_patches_look_at_its_first_store_and_test_set():
    from patchmine.grid import correlation_file, correlation_scales, first_store
    from patchmine.report import reference_files

    config = _config()
    exp = config["experiments"]["demo"]
    exp.update(strides=[40, 20], test=["demo_test", "demo_val"])
    assert first_store(exp) == ("demo_train", 32, 40)
    target = {"experiment": "demo", "show": "correlation", "tasks": ["sr_x2", "sr_x4"]}
    config["targets"] = {"fig7": target}
    assert "/demo_train_p32_s40_sr_x2_vs_sr_x4." in correlation_file(config, target)
    assert correlation_scales(config, "demo_train", 32, 40) == {2, 4}
    assert correlation_scales(config, "demo_train", 32, 20) == set()
    assert reference_files(config, "demo") == [
        "results/references/sr_x2/demo_test.csv",
        "results/references/sr_x2/demo_val.csv",
    ]


def test_named_targets_are_the_files_the_readme_lists():
    """`snakemake fig6` (the config's `targets:`) builds the product's files as README's outputs
    table names them: a figure as PNG and PDF, Table I as Markdown and CSV
    (its HTML is the report's page), Tables II-IV and the comparison with the paper as
    Markdown. A file left out is one a named target never brings back once deleted."""
    from patchmine.grid import target_files

    config = _config()
    figures = "results/figures/demo"
    assert {name: set(target_files(config, name)) for name in config["targets"]} == {
        "fig2": {f"{figures}_histograms.png", f"{figures}_histograms.pdf"},
        "fig4": {f"{figures}_convergence.png", f"{figures}_convergence.pdf"},
        "fig5": {f"{figures}_aug_gain.png", f"{figures}_aug_gain.pdf"},
        "fig6": {f"{figures}_psnr_vs_k.png", f"{figures}_psnr_vs_k.pdf"},
        "table1": {"results/tables/demo.md", "results/tables/demo.csv"},
    }
    for show in ("strides", "params", "benchmarks", "vs_paper"):
        config["targets"] = {"t": {"experiment": "demo", "show": show}}
        assert target_files(config, "t") == [f"results/tables/demo_{show}.md"]


def test_only_an_experiments_own_fig7_waits_in_its_comparison_with_the_paper():
    """Fig. 7's target is its scatter (PNG, PDF) and its numbers (CSV, read by the comparisons
    with the paper); another experiment's comparison must not wait for that figure's scorers."""
    from patchmine.grid import correlation_tables, target_files

    config = _config()
    config["experiments"]["other"] = dict(config["experiments"]["demo"], strides=[20])
    target = {"experiment": "demo", "show": "correlation", "tasks": ["sr_x2", "sr_x4"]}
    config["targets"] = {"fig7": target}
    stem = "results/figures/correlation/demo_train_p32_s40_sr_x2_vs_sr_x4"
    assert set(target_files(config, "fig7")) == {f"{stem}.png", f"{stem}.pdf", f"{stem}.csv"}
    assert correlation_tables(config, "demo") == [f"{stem}.csv"]
    assert correlation_tables(config, "other") == []
    assert correlation_tables(config) == [f"{stem}.csv"]  # the whole paper's comparison
