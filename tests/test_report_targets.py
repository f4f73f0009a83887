"""What the report rules ask for (patchmine.report): the report's targets, the runs and
files each table or figure waits for (all of them, or those finished when partial results
are allowed), each experiment's products, figure labels and the grid's signature."""

from pathlib import Path

import pandas as pd
import pytest

from patchmine import figures, report


def test_figures_are_named_by_the_target_that_shows_them():
    config = {
        "experiments": {"criteria": {"task": "sr"}, "dn": {"task": "denoise"}, "x": {}},
        "targets": {"fig8": {"experiment": "x", "show": "psnr_vs_k"}},
    }
    assert report.figure_label(config, "x", "psnr_vs_k", "Fig. 6") == "Fig. 8"
    assert report.figure_label(config, "dn", "psnr_vs_k", "Fig. 6") == "Fig. 9"
    assert report.figure_label(config, "criteria", "psnr_vs_k", "Fig. 6") == "Fig. 6"


@pytest.fixture
def tiny_config():
    import yaml
    from snakemake.utils import validate

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "tests" / "data" / "tiny_config.yaml").read_text())
    validate(config, str(root / "schemas" / "config.schema.yaml"))
    return config


def test_report_targets(tiny_config):
    targets = report.report_targets(tiny_config)
    assert "results/report/config.html" in targets
    for name in ("tiny.csv", "tiny.md", "tiny.html", "tiny_runs.csv", "tiny_vs_paper.md"):
        assert f"results/tables/{name}" in targets
    for name in ("psnr_vs_k", "convergence", "histograms", "aug_gain"):
        assert f"results/figures/tiny_{name}.png" in targets
    assert "results/report/stores/tiny_train_p32_s64.html" in targets
    assert {f"results/report/datasets/{d}.html" for d in ("tiny_val", "tiny_test")} <= set(targets)
    # a training set is never ingested as PNGs just for a page: its store page describes it
    assert "results/report/datasets/tiny_train.html" not in targets
    assert not any(t.endswith(("_strides.md", "_params.md", "_benchmarks.md")) for t in targets)
    tiny_config["experiments"]["tiny"]["test"] = ["tiny_test", "tiny_val"]
    assert "results/tables/tiny_benchmarks.md" in report.report_targets(tiny_config)


def test_allow_partial_lists_only_finished_runs(tiny_config, tmp_path):
    tiny_config["results"] = str(tmp_path)
    every = report.report_runs(tiny_config, "tiny")
    assert report.report_runs(tiny_config, "tiny", allow_partial=False) == every
    assert report.report_runs(tiny_config, "tiny", allow_partial=True) == []
    done = every[3]
    for f in report.run_files(tiny_config, done, ["tiny_test"]):
        Path(f).parent.mkdir(parents=True, exist_ok=True)
        Path(f).write_text("x")
    assert report.report_runs(tiny_config, "tiny", allow_partial=True) == [done]
    evals = report.report_inputs(tiny_config, "tiny", "evals", allow_partial=True)
    assert evals == [f"{tmp_path}/runs/{done.path}/eval/tiny_test.csv"]
    assert len(report.report_inputs(tiny_config, "tiny", "meta")) == len(every)
    assert len(report.expected_runs(tiny_config, "tiny")) == len(every)


def test_expected_points_carry_each_models_size(tiny_config, tmp_path):
    """So that a model with no finished run yet still sorts by its size in a partial figure."""
    tiny_config["models"]["deeper"] = {"arch": "edsr", "blocks": 4, "channels": 8}
    tiny_config["experiments"]["tiny"]["models"] = ["deeper", "tiny"]
    (tmp_path / "runs.csv").write_text("")
    _, _, expected = report.experiment_results(tiny_config, "tiny", tmp_path / "runs.csv")
    sizes = expected.groupby("model")["params"].first()
    assert sizes["deeper"] > sizes["tiny"] > 0


def test_fig4_waits_for_its_criterions_runs_and_not_their_test_scores(tiny_config, tmp_path):
    tiny_config["results"] = str(tmp_path)
    assert report.convergence_criterion(tiny_config, "tiny") == "loss"  # as in the paper
    loss = report.report_runs(tiny_config, "tiny", criterion="loss")
    assert loss and {r.criterion for r in loss} == {"loss"}
    assert len(loss) < len(report.report_runs(tiny_config, "tiny"))
    trained = loss[0]  # trained, not yet evaluated
    for f in report.run_files(tiny_config, trained, ["tiny_test"], ["meta", "logs"]):
        Path(f).parent.mkdir(parents=True, exist_ok=True)
        Path(f).write_text("x")
    reads = ("meta", "logs")
    logs = report.report_inputs(tiny_config, "tiny", "logs", True, reads, "loss")
    assert logs == [f"{tmp_path}/runs/{trained.path}/train_log.csv"]
    assert report.report_inputs(tiny_config, "tiny", "meta", True, ("meta", "evals")) == []


def test_partial_inputs_only_for_named_targets():
    assert report.partial_inputs(True, {"table1"})
    assert report.partial_inputs(True, {"results/tables/tiny.md"})
    assert not report.partial_inputs(True, set())  # the default target: every run is trained
    assert not report.partial_inputs(True, {"all", "table1"})
    assert not report.partial_inputs(False, {"table1"})
    # a job's own process on a cluster node has no targets: it lists what exists, as asked
    assert report.partial_inputs(True, set(), main_process=False)
    assert not report.partial_inputs(False, set(), main_process=False)


def test_no_augmentation_gain_figure_without_both_settings():
    """RP2: Fig. 5 needs runs with and without augmentation; an experiment of one setting must
    not ask for it (it could not be drawn: aug_gain_figure refuses)."""
    config = _config()
    config["experiments"]["demo"]["augment"] = [True]
    products = report.experiment_products(config, "demo")
    assert not any(p.endswith("_aug_gain.png") for p in products)
    results = pd.DataFrame(
        [dict(criterion="grad", augment=True, k=k, seed=0, test_set="T", psnr=30.0)
         for k in (10, 20)]
    )  # fmt: skip
    with pytest.raises(ValueError, match="with and without"):
        figures.aug_gain_figure(results)


def test_the_grid_signature_changes_with_the_test_sets():
    """RP3: the signature names the grid's runs *and* test sets (its docstring)."""
    config = _config()
    before = report.grid_signature(config, "demo")
    config["experiments"]["demo"]["test"] = ["demo_val"]  # as many sets, another one
    assert report.grid_signature(config, "demo") != before


def _config():
    import yaml
    from snakemake.utils import validate

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config.yaml").read_text())
    validate(config, str(root / "schemas" / "config.schema.yaml"))
    return config
