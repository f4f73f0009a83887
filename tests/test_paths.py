"""The results layout: a rule's pattern (wildcards in braces) and the package's concrete paths
come from the same method, so one filled in gives the other."""

from patchmine.paths import ResultPaths

P = ResultPaths("results")


def test_a_pattern_filled_in_is_the_concrete_path():
    args = {"task": "sr_x2", "dataset": "DIV2K", "patch": 96, "stride": 48, "criterion": "grad"}
    pattern = P.subset("{task}", "{dataset}", "{patch}", "{stride}", "{criterion}", "{k}")
    concrete = P.subset("sr_x2", "DIV2K", 96, 48, "grad", "70000")
    assert pattern.format(**args, k="70000") == concrete
    assert concrete == "results/subsets/sr_x2/DIV2K/p96_s48/grad/k70000.npy"


def test_a_store_and_its_summary_sit_side_by_side():
    store = P.store("DIV2K", 96, 48)
    assert store == "results/patches/DIV2K/p96_s48.h5"
    assert P.store_summary("DIV2K", 96, 48) == "results/patches/DIV2K/p96_s48_images.csv"


def test_tables_are_named_by_experiment_and_part():
    assert P.table("fig6", "md") == "results/tables/fig6.md"
    assert P.table("fig6", "csv", "runs") == "results/tables/fig6_runs.csv"
    assert P.table("{experiment}", "md", "{layout}") == "results/tables/{experiment}_{layout}.md"


def test_resume_state_lies_outside_the_run_folder():
    """Snakemake deletes a job's outputs before running it again: the state must survive that."""
    run = "sr_x2/DIV2K/p96_s48/grad/k70000"
    assert not P.state(run).startswith(P.run_file(run, ""))
    assert P.run_eval(run, "Set5").startswith(P.run_file(run, ""))
