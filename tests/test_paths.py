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


def test_every_product_lies_where_the_readme_and_architecture_notes_say():
    """The layout users are told of (README's outputs table and run folders, `find results/state
    ...`; docs/architecture.md's data flow), transcribed: the rules and the package spell paths
    through the same method, so only this says a product moved."""
    run = "sr_x2/edsr/DIV2K/p96_s48/grad/k70000/aug/seed0/div2k"
    spelled = [
        (P.manifest("Set5"), "results/data/Set5/manifest.csv"),
        (P.store("DIV2K", 96, 48), "results/patches/DIV2K/p96_s48.h5"),
        (P.store_summary("DIV2K", 96, 48), "results/patches/DIV2K/p96_s48_images.csv"),
        (P.scores("DIV2K", 96, 48, "grad"), "results/scores/DIV2K/p96_s48/grad.npy"),
        (P.scores("DIV2K", 96, 48, "loss_sr_x2"), "results/scores/DIV2K/p96_s48/loss_sr_x2.npy"),
        (P.subset("sr_x2", "DIV2K", 96, 48, "grad", 70000),
         "results/subsets/sr_x2/DIV2K/p96_s48/grad/k70000.npy"),
        (P.mined("photos", 96, 96, "grad", "0.5"), "results/mined/photos/p96_s96/grad/k0.5"),
        (P.run_file(run, "model.pt"), f"results/runs/{run}/model.pt"),
        (P.run_eval(run, "Set5"), f"results/runs/{run}/eval/Set5.csv"),
        (P.state(run), f"results/state/{run}"),
        (P.published_eval("edsr_x2", "Set5"), "results/published/edsr_x2/eval/Set5.csv"),
        (P.reference("sr_x2", "Set5"), "results/references/sr_x2/Set5.csv"),
        (P.table("demo", "csv", "runs"), "results/tables/demo_runs.csv"),
        (P.table("demo", "md"), "results/tables/demo.md"),
        (P.table("demo", "md", "vs_paper"), "results/tables/demo_vs_paper.md"),
        (P.table("demo", "csv", "published"), "results/tables/demo_published.csv"),
        (P.figure("demo", "psnr_vs_k", "pdf"), "results/figures/demo_psnr_vs_k.pdf"),
        (P.figure("demo", "histograms", "png"), "results/figures/demo_histograms.png"),
        (P.paper_vs_ours("md"), "results/report/paper_vs_ours.md"),
        (P.store_page("DIV2K", 96, 48), "results/report/stores/DIV2K_p96_s48.html"),
        (P.dataset_page("Set5"), "results/report/datasets/Set5.html"),
        (P.config_page(), "results/report/config.html"),
    ]  # fmt: skip
    assert [ours for ours, _ in spelled] == [documented for _, documented in spelled]
