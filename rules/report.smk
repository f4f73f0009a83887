# Finished runs -> the paper's tables and figures for each experiment.


rule criteria_table:
    input:
        evals=lambda w: experiment_evals(w.experiment),
        meta=lambda w: experiment_runs_meta(w.experiment),
    output:
        results=f"{R}/tables/{{experiment}}_runs.csv",
        csv=f"{R}/tables/{{experiment}}.csv",
        md=f"{R}/tables/{{experiment}}.md",
        png=f"{R}/figures/{{experiment}}_psnr_vs_k.png",
        pdf=f"{R}/figures/{{experiment}}_psnr_vs_k.pdf",
    log:
        f"{R}/logs/report/{{experiment}}_table.log",
    conda:
        ENV
    params:
        experiment=lambda w: config["experiments"][w.experiment],
    script:
        "../scripts/criteria_table.py"


rule histograms:
    input:
        lambda w: experiment_scores(w.experiment),
    output:
        png=f"{R}/figures/{{experiment}}_histograms.png",
    log:
        f"{R}/logs/report/{{experiment}}_histograms.log",
    conda:
        ENV
    script:
        "../scripts/histograms.py"
