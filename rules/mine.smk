# Mining your own images (config `mine`, or `snakemake mine --config mine=<folder>`): the usual
# rules cut and score the patches; this keeps the best and writes them out.

if MINE:
    MINED = MINE.outputs(R)
    MINE_SCORES = P.scores(MINE.dataset, MINE.patch, MINE.stride, MINE.scores_name)

    rule mine:
        input:
            store=store_of(MINE),
            scores=MINE_SCORES,
        output:
            **({"png": directory(MINE.png_dir(R))} if MINE.png else {}),
            patches=MINED["patches"],
            table=MINED["table"],
            images=MINED["images"],
            summary=MINED["summary"],
            histogram=report(
                MINED["histogram"],
                caption=CAPTION.format("mined"),
                category="Mined patches",
                labels={"dataset": MINE.dataset, "criterion": MINE.criterion},
            ),
        log:
            f"{R}/logs/mine/{MINE.dataset}_p{MINE.patch}_s{MINE.stride}_{MINE.criterion}_k{MINE.keep}.log",
        conda:
            ENV
        threads: config["threads"]["mine"]
        resources:
            cpus_per_task=job_cpus,
            mem_mb=job_mem_mb("mine", config),
            runtime=job_runtime("mine", config),
        params:
            keep=MINE.keep,
            criterion=MINE.criterion,
        script:
            "../scripts/mine.py"

else:

    rule mine:
        log:
            f"{R}/logs/mine/nothing_to_mine.log",
        localrule: True
        message:
            "mine: nothing to mine"
        run:
            raise ValueError(
                "nothing to mine: name a folder of images, "
                "`snakemake mine --config mine=/path/to/images`, or add a `mine:` section "
                "to the config (see schemas/config.schema.yaml)"
            )
