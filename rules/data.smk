# Datasets -> the canonical benchmark layout (HR/ and LR_bicubic/X<s>/) with a manifest.
# Archives are fetched into data/archives/ (resumable, verified) and extracted beside them.
# An archive's address and checksum are read by the script (catalog.download_table), not passed
# as params, and its readers take it as ancient(): a mirror or checksum added later, or an edit
# of the script, never deletes a finished archive nor re-runs everything built from it.


rule download:  # on the login node: compute nodes often have no way out to the internet
    output:
        f"{DATA}/archives/{{archive}}",
    log:
        f"{R}/logs/download/{{archive}}.log",
    retries: 2
    localrule: True
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("download", config),
        runtime=job_runtime("download", config),
        attempt=lambda wildcards, attempt: attempt,  # download(): a retry keeps a bad checksum
    script:
        "../scripts/download.py"


rule extract:
    input:
        ancient(f"{DATA}/archives/{{archive}}"),
    output:
        f"{DATA}/extracted/{{archive}}.txt",
    log:
        f"{R}/logs/extract/{{archive}}.log",
    conda:
        ENV
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("extract", config),
        runtime=job_runtime("extract", config),
    script:
        "../scripts/extract.py"


rule ingest:
    input:
        lambda w: dataset_inputs(w.dataset),
    output:
        manifest=P.manifest("{dataset}"),
        skipped=P.skipped("{dataset}"),
    log:
        f"{R}/logs/ingest/{{dataset}}.log",
    conda:
        ENV
    threads: config["threads"]["ingest"]
    resources:
        cpus_per_task=job_cpus,
        mem_mb=job_mem_mb("ingest", config),
        runtime=job_runtime("ingest", config),
    params:
        spec=lambda w: canonical(dataset_content(config["datasets"][w.dataset])),
        scales=ingest_scales,
        min_size=lambda w: dataset_min_size(config, w.dataset),
        data_dir=DATA,
    script:
        "../scripts/ingest.py"
