# Datasets -> the canonical benchmark layout (HR/ and LR_bicubic/X<s>/) with a manifest.
# Archives are fetched into data/archives/ (resumable, verified) and extracted beside them.


rule download:
    output:
        f"{DATA}/archives/{{archive}}",
    log:
        f"{R}/logs/download/{{archive}}.log",
    retries: 2
    conda:
        ENV
    params:
        url=lambda w: archives()[w.archive]["url"],
        sha256=lambda w: archives()[w.archive]["sha256"],
    script:
        "../scripts/download.py"


rule extract:
    input:
        f"{DATA}/archives/{{archive}}",
    output:
        f"{DATA}/extracted/{{archive}}.txt",
    log:
        f"{R}/logs/extract/{{archive}}.log",
    conda:
        ENV
    script:
        "../scripts/extract.py"


rule ingest:
    input:
        lambda w: dataset_downloads(w.dataset),
    output:
        manifest=f"{R}/data/{{dataset}}/manifest.csv",
        skipped=f"{R}/data/{{dataset}}/skipped.csv",
    log:
        f"{R}/logs/ingest/{{dataset}}.log",
    conda:
        ENV
    threads: config["threads"]["ingest"]
    params:
        spec=lambda w: config["datasets"][w.dataset],
        scales=lambda w: dataset_scales(config, w.dataset),
        min_size=lambda w: dataset_min_size(config, w.dataset),
        data_dir=DATA,
    script:
        "../scripts/ingest.py"
