# Trained networks -> per-image PSNR/SSIM (Y channel, border shaved) on each test set.


rule evaluate:
    input:
        model=f"{R}/runs/{RUN}/model.pt",
        test=lambda w: manifest(w.testset),
    output:
        f"{R}/runs/{RUN}/eval/{{testset}}.csv",
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
