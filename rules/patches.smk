# Training images -> one HDF5 patch store per (dataset, patch size, stride), LR made in memory,
# with a per-image summary (size, patches, or why none).


rule patch_store:
    input:
        lambda w: dataset_inputs(w.dataset),
    output:
        store=STORE,
        summary=STORE_SUMMARY,
    log:
        f"{R}/logs/patch_store/{{dataset}}_p{{patch}}_s{{stride}}.log",
    conda:
        ENV
    threads: config["threads"]["store"]
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("patch_store", config),
        runtime=job_runtime("patch_store", config),
    params:
        spec=lambda w: canonical(dataset_content(config["datasets"][w.dataset])),
        data_dir=DATA,
        scales=patch_store_scales,
    script:
        "../scripts/patch_store.py"
