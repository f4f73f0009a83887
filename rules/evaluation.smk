# Trained networks, and published ones (`published_models`), -> per-image PSNR/SSIM on each test
# set, by the task's protocol (SR: Y channel, border shaved; denoising: RGB).


rule evaluate:
    input:
        model=P.run_file(RUN, "model.pt"),
        test=lambda w: P.manifest(w.testset),
    output:
        P.run_eval(RUN, "{testset}"),
    log:
        f"{R}/logs/evaluate/{RUN}_{{testset}}.log",
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        gpu=gpus(config["device"]),
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("evaluate", config),
        runtime=job_runtime("evaluate", config),
    params:
        model=lambda w: canonical(config["models"][w.model]),
        grey=config["evaluation"]["grey"],
        device=config["device"],
    script:
        "../scripts/evaluate.py"


rule evaluate_published:
    input:
        model=lambda w: published_weights(w.published),
        test=lambda w: P.manifest(w.testset),
    output:
        P.published_eval("{published}", "{testset}"),
    log:
        f"{R}/logs/evaluate/published/{{published}}_{{testset}}.log",
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        gpu=gpus(config["device"]),
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("evaluate_published", config),
        runtime=job_runtime("evaluate_published", config),
    params:
        model=lambda w: canonical(
            config["models"][config["published_models"][w.published]["model"]]
        ),
        task=lambda w: config["published_models"][w.published]["task"],
        grey=config["evaluation"]["grey"],
        device=config["device"],
    script:
        "../scripts/evaluate_published.py"


# What every network is read against on a test set: bicubic upscaling of its LR images (SR), or
# the noisy input itself (denoising), by the same protocol; noted under every table.
rule reference:
    input:
        test=lambda w: P.manifest(w.testset),
    output:
        P.reference("{task}", "{testset}"),
    log:
        f"{R}/logs/reference/{{task}}_{{testset}}.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("reference", config),
        runtime=job_runtime("reference", config),
    params:
        grey=config["evaluation"]["grey"],
    script:
        "../scripts/reference.py"
