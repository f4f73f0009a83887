# Per-patch scores (one .npy per criterion) and the top-K subsets they rank.


rule score_statistics:
    input:
        store=STORE,
    output:
        **{name: P.scores(*STORE_KEYS, name) for name in STATISTICS},
    log:
        f"{R}/logs/score/{{dataset}}_p{{patch}}_s{{stride}}_statistics.log",
    conda:
        ENV
    threads: config["threads"]["score"]
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("score_statistics", config),
        runtime=job_runtime("score_statistics", config),
    params:
        device=config["device"],
    script:
        "../scripts/score.py"


# A pixel statistic beyond the paper's (criterion_names.EXTRA_STATISTICS): a job of its own,
# so that adding one changes no output of score_statistics, nor anything made from them.
if EXTRA_STATISTICS:

    rule score_extra:
        input:
            store=STORE,
        output:
            P.scores(*STORE_KEYS, "{statistic}"),
        log:
            f"{R}/logs/score/{{dataset}}_p{{patch}}_s{{stride}}_{{statistic}}.log",
        wildcard_constraints:
            statistic="|".join(EXTRA_STATISTICS),
        conda:
            ENV
        threads: config["threads"]["score"]
        resources:
            cpus_per_task=job_cpus,
            mem_mb=job_mem_mb("score_extra", config),
            runtime=job_runtime("score_extra", config),
        params:
            device=config["device"],
        script:
            "../scripts/score_extra.py"


rule score_rand:
    input:
        store=STORE,
    output:
        P.scores(*STORE_KEYS, "rand"),
    log:
        f"{R}/logs/score/{{dataset}}_p{{patch}}_s{{stride}}_rand.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("score_rand", config),
        runtime=job_runtime("score_rand", config),
    params:
        seed=config["rand_seed"],
    script:
        "../scripts/score_rand.py"


rule score_loss:
    input:
        store=STORE,
        model=scorer_weights,
    output:
        P.scores(*STORE_KEYS, "loss_{task}"),
    log:
        f"{R}/logs/score/{{dataset}}_p{{patch}}_s{{stride}}_loss_{{task}}.log",
    conda:
        ENV
    threads: config["threads"]["score"]
    resources:
        gpu=gpus(config["device"]),
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("score_loss", config),
        runtime=job_runtime("score_loss", config),
    params:
        model=lambda w: canonical(config["models"][scorer_model(config, w.task)]),
        device=config["device"],
    script:
        "../scripts/score_loss.py"


rule select:
    input:
        store=STORE,
        scores=subset_scores,
    output:
        SUBSET,
    log:
        f"{R}/logs/select/{{task}}_{{dataset}}_p{{patch}}_s{{stride}}_{{criterion}}_k{{k}}.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("select", config),
        runtime=job_runtime("select", config),
    script:
        "../scripts/select.py"
