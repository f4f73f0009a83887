# Datasets -> the canonical benchmark layout (HR/ and LR_bicubic/X<s>/) with a manifest.


rule ingest:
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
    script:
        "../scripts/ingest.py"
