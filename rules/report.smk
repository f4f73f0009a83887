# Finished runs -> the paper's tables and figures, and the pages of the HTML report
# (`snakemake --report results/report.html`). Captions live in report/*.rst.
#
# Partial data. By default every table and figure waits for all the runs it shows (they are its
# declared inputs). With `report: {allow_partial: true}` in the config, a named target
# (`snakemake table1`, a file) lists only the runs whose files exist when Snakemake builds the
# DAG, so a table or figure is drawn from what has finished and says on itself what is missing
# (the scripts rebuild the full list of runs from the config; a signature of the grid is a param,
# so a changed grid redraws the product); unfinished runs are then not scheduled,
# and the next invocation after more runs finish draws the products again: their input set
# changed, which is one of Snakemake's rerun triggers. The whole workflow (no target, or `all`)
# trains every run anyway, so its products wait for them and come out complete
# (report.partial_inputs).
import re

from patchmine.report import (
    LAYOUTS,
    config_signature,
    figure_label,
    grid_signature,
    reference_files,
    report_targets,
)


report: "../report/workflow.rst"


# Fig. 6b: "zoomed above 60 K" (the schema's default)
ZOOM_K_MIN = int(REPORT["zoom_k_min"])
EXPERIMENT = "|".join(re.escape(name) for name in config["experiments"])
# Experiments with tables (a correlation-only experiment has none)
TABLED = [
    name
    for name, exp in config["experiments"].items()
    if exp.get("kind") != "correlation"
]
CAPTION = "../report/{}.rst"


rule report_all:
    """Every product of the report (a target: `snakemake report_all`)."""
    input:
        report_targets(config),


rule run_results:
    input:
        meta=lambda w: report_inputs(
            config, w.experiment, "meta", partial_now(), RESULTS
        ),
        evals=lambda w: report_inputs(
            config, w.experiment, "evals", partial_now(), RESULTS
        ),
    output:
        csv=P.table("{experiment}", "csv", "runs"),
        html=report(
            P.table("{experiment}", "html", "runs"),
            caption=CAPTION.format("runs"),
            category="Tables",
            subcategory="{experiment}",
            labels={"table": "Runs", "shows": "every run's parameters, PSNR and SSIM"},
        ),
    log:
        f"{R}/logs/report/{{experiment}}_runs.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("run_results", config),
        runtime=job_runtime("run_results", config),
    params:
        grid=lambda w: grid_signature(config, w.experiment),
    script:
        "../scripts/run_results.py"


rule published_results:
    input:
        evals=lambda w: published_evals(w.experiment),
    output:
        csv=P.table("{experiment}", "csv", "published"),
    log:
        f"{R}/logs/report/{{experiment}}_published.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("published_results", config),
        runtime=job_runtime("published_results", config),
    params:
        entries=lambda w: canonical(
            {
                name: config["published_models"][name]
                for name in config["experiments"][w.experiment].get(
                    "published_models", []
                )
            }
        ),
    script:
        "../scripts/published_results.py"


rule criteria_table:
    input:
        runs=P.table("{experiment}", "csv", "runs"),
        references=lambda w: reference_files(config, w.experiment, partial_now()),
    output:
        csv=P.table("{experiment}", "csv"),
        md=P.table("{experiment}", "md"),
        html=report(
            P.table("{experiment}", "html"),
            caption=CAPTION.format("table1_criteria"),
            category="Tables",
            subcategory="{experiment}",
            labels={
                "table": "Table I",
                "shows": "PSNR per criterion and number of patches",
            },
        ),
    log:
        f"{R}/logs/report/{{experiment}}_table.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("criteria_table", config),
        runtime=job_runtime("criteria_table", config),
    params:
        grid=lambda w: grid_signature(config, w.experiment),
    script:
        "../scripts/criteria_table.py"


rule layout_table:
    input:
        runs=P.table("{experiment}", "csv", "runs"),
        published=lambda w: published_table(w.experiment),
        references=lambda w: reference_files(config, w.experiment, partial_now()),
    output:
        csv=P.table("{experiment}", "csv", "{layout}"),
        md=P.table("{experiment}", "md", "{layout}"),
        html=report(
            P.table("{experiment}", "html", "{layout}"),
            caption=CAPTION.format("tables_2_4"),
            category="Tables",
            subcategory="{experiment}",
            labels=lambda w: {
                "table": LAYOUTS[w.layout],
                "shows": f"PSNR by {w.layout}",
            },
        ),
    log:
        f"{R}/logs/report/{{experiment}}_{{layout}}.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
        layout="|".join(LAYOUTS),
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("layout_table", config),
        runtime=job_runtime("layout_table", config),
    params:
        grid=lambda w: grid_signature(config, w.experiment),
    script:
        "../scripts/layout_table.py"


rule psnr_vs_k:
    input:
        runs=P.table("{experiment}", "csv", "runs"),
        references=lambda w: reference_files(config, w.experiment, partial_now()),
    output:
        png=report(
            P.figure("{experiment}", "psnr_vs_k", "png"),
            caption=CAPTION.format("fig6_psnr_vs_k"),
            category="Figures",
            subcategory="{experiment}",
            labels=lambda w: {
                "figure": figure_label(config, w.experiment, "psnr_vs_k", "Fig. 6"),
                "shows": "PSNR vs number of patches",
            },
        ),
        pdf=P.figure("{experiment}", "psnr_vs_k", "pdf"),
    log:
        f"{R}/logs/report/{{experiment}}_psnr_vs_k.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("psnr_vs_k", config),
        runtime=job_runtime("psnr_vs_k", config),
    params:
        grid=lambda w: grid_signature(config, w.experiment),
        zoom_k_min=ZOOM_K_MIN,
    script:
        "../scripts/fig_psnr_vs_k.py"


rule aug_gain:
    input:
        runs=P.table("{experiment}", "csv", "runs"),
    output:
        png=report(
            P.figure("{experiment}", "aug_gain", "png"),
            caption=CAPTION.format("fig5_aug_gain"),
            category="Figures",
            subcategory="{experiment}",
            labels={
                "figure": "Fig. 5",
                "shows": "PSNR gain of augmentation vs number of patches",
            },
        ),
        pdf=P.figure("{experiment}", "aug_gain", "pdf"),
    log:
        f"{R}/logs/report/{{experiment}}_aug_gain.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("aug_gain", config),
        runtime=job_runtime("aug_gain", config),
    params:
        grid=lambda w: grid_signature(config, w.experiment),
    script:
        "../scripts/fig_aug_gain.py"


rule convergence:
    input:
        meta=lambda w: convergence_inputs(w.experiment, "meta"),
        logs=lambda w: convergence_inputs(w.experiment, "logs"),
    output:
        png=report(
            P.figure("{experiment}", "convergence", "png"),
            caption=CAPTION.format("fig4_convergence"),
            category="Figures",
            subcategory="{experiment}",
            labels={
                "figure": "Fig. 4",
                "shows": "validation PSNR vs iteration, per number of patches",
            },
        ),
        pdf=P.figure("{experiment}", "convergence", "pdf"),
    log:
        f"{R}/logs/report/{{experiment}}_convergence.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("convergence", config),
        runtime=job_runtime("convergence", config),
    params:
        grid=lambda w: grid_signature(config, w.experiment),
    script:
        "../scripts/fig_convergence.py"


rule histograms:
    input:
        unpack(lambda w: experiment_scores(w.experiment)),
    output:
        png=report(
            P.figure("{experiment}", "histograms", "png"),
            caption=CAPTION.format("fig2_3_histograms"),
            category="Figures",
            subcategory="{experiment}",
            labels={
                "figure": "Fig. 2–3",
                "shows": "histograms of every criterion over all patches",
            },
        ),
        pdf=P.figure("{experiment}", "histograms", "pdf"),
    log:
        f"{R}/logs/report/{{experiment}}_histograms.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("histograms", config),
        runtime=job_runtime("histograms", config),
    script:
        "../scripts/histograms.py"


rule compare_published:
    input:
        runs=P.table("{experiment}", "csv", "runs"),
        published=lambda w: published_table(w.experiment),
        extra=lambda w: correlation_tables(config, w.experiment),
    output:
        csv=P.table("{experiment}", "csv", "vs_paper"),
        md=P.table("{experiment}", "md", "vs_paper"),
        html=report(
            P.table("{experiment}", "html", "vs_paper"),
            caption=CAPTION.format("vs_paper"),
            category="Paper vs this run",
            subcategory="{experiment}",
            labels={
                "table": "Tables I-IV, Fig. 7",
                "shows": "ours, paper, difference",
            },
        ),
    log:
        f"{R}/logs/report/{{experiment}}_vs_paper.log",
    wildcard_constraints:
        experiment=EXPERIMENT,
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("compare_published", config),
        runtime=job_runtime("compare_published", config),
    params:
        experiments=lambda w: [w.experiment],
        grid=lambda w: grid_signature(config, w.experiment),
    script:
        "../scripts/compare_published.py"


rule compare_all:
    """Every experiment's runs (and published models, and Fig. 7) beside the whole paper."""
    input:
        runs=expand(P.table("{experiment}", "csv", "runs"), experiment=TABLED),
        published=[f for name in TABLED for f in published_table(name)],
        extra=correlation_tables(config),
    output:
        csv=P.paper_vs_ours("csv"),
        md=P.paper_vs_ours("md"),
        html=report(
            P.paper_vs_ours("html"),
            caption=CAPTION.format("vs_paper"),
            category="Paper vs this run",
            subcategory="all experiments",
            labels={
                "table": "Tables I-IV, Fig. 7",
                "shows": "ours, paper, difference",
            },
        ),
    log:
        f"{R}/logs/report/paper_vs_ours.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("compare_all", config),
        runtime=job_runtime("compare_all", config),
    params:
        experiments=TABLED,
        grid=[grid_signature(config, name) for name in TABLED],
    script:
        "../scripts/compare_published.py"


rule correlation_figure:
    input:
        a=P.scores(*STORE_KEYS, "loss_{task_a}"),
        b=P.scores(*STORE_KEYS, "loss_{task_b}"),
    output:
        png=report(
            P.correlation(*STORE_KEYS, "{task_a}", "{task_b}", "png"),
            caption=CAPTION.format("fig7_correlation"),
            category="Figures",
            subcategory="correlation",
            labels={"figure": "Fig. 7", "shows": "{task_a} vs {task_b} on {dataset}"},
        ),
        pdf=P.correlation(*STORE_KEYS, "{task_a}", "{task_b}", "pdf"),
        rho=P.correlation(*STORE_KEYS, "{task_a}", "{task_b}", "csv"),
    log:
        f"{R}/logs/report/correlation_{{dataset}}_p{{patch}}_s{{stride}}_{{task_a}}_vs_{{task_b}}.log",
    wildcard_constraints:
        task_a=WILDCARDS["task"],
        task_b=WILDCARDS["task"],
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("correlation_figure", config),
        runtime=job_runtime("correlation_figure", config),
    script:
        "../scripts/fig_correlation.py"


rule store_page:
    input:
        STORE_SUMMARY,
    output:
        report(
            P.store_page(*STORE_KEYS),
            caption=CAPTION.format("store"),
            category="Data",
            subcategory="patch stores",
            labels={"data": "{dataset}", "shows": "patch {patch}, stride {stride}"},
        ),
    log:
        f"{R}/logs/report/store_{{dataset}}_p{{patch}}_s{{stride}}.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("store_page", config),
        runtime=job_runtime("store_page", config),
    script:
        "../scripts/store_page.py"


rule dataset_page:
    input:
        manifest=lambda w: P.manifest(w.dataset),
    output:
        report(
            P.dataset_page("{dataset}"),
            caption=CAPTION.format("dataset"),
            category="Data",
            subcategory="images",
            labels={"data": "{dataset}", "shows": "images, sizes, skipped"},
        ),
    log:
        f"{R}/logs/report/dataset_{{dataset}}.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("dataset_page", config),
        runtime=job_runtime("dataset_page", config),
    params:
        spec=lambda w: canonical(config["datasets"][w.dataset]),
    script:
        "../scripts/dataset_page.py"


rule config_page:
    output:
        report(
            P.config_page(),
            caption=CAPTION.format("config"),
            category="Configuration",
            labels={
                "data": "config",
                "shows": "the configuration, defaults filled in",
            },
        ),
    log:
        f"{R}/logs/report/config.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("config_page", config),
        runtime=job_runtime("config_page", config),
    params:
        config=config_signature(config),
    script:
        "../scripts/config_page.py"
