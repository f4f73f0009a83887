# Ingested training images -> one HDF5 patch store per (dataset, patch size, stride).


rule patch_store:
    input:
        manifest=lambda w: manifest(w.dataset),
    output:
        STORE,
    log:
        f"{R}/logs/patch_store/{{dataset}}_p{{patch}}_s{{stride}}.log",
    conda:
        ENV
    params:
        scales=lambda w: store_scales(config, w.dataset, int(w.patch), int(w.stride)),
    script:
        "../scripts/patch_store.py"
