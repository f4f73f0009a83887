# One job per training run; resume state lives in results/state/, outside the declared outputs.


rule train:
    input:
        store=STORE,
        subset=lambda w: SUBSET.format(**w),
        validation=lambda w: P.manifest(config["recipes"][w.recipe]["validation"]),
    output:
        model=P.run_file(RUN, "model.pt"),
        log=P.run_file(RUN, "train_log.csv"),
        meta=P.run_file(RUN, "run.json"),
    log:
        f"{R}/logs/train/{RUN}.log",
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        gpu=gpus(config["device"]),
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("train", config),
        runtime=job_runtime("train", config),
    params:
        run=lambda w: run_of(w).as_dict(),
        model=lambda w: canonical(config["models"][w.model]),
        recipe=lambda w: canonical(recipe_identity(config["recipes"][w.recipe])),
        state=lambda w: P.state(run_of(w).path),
        device=config["device"],
    script:
        "../scripts/train.py"
