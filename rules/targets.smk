# Named products (config `targets`): `snakemake fig6`, `snakemake table1`, … each builds only
# what its experiment needs.


_taken = set(config["targets"]) & ({rule.name for rule in workflow.rules} | {"all"})
if _taken:
    raise ValueError(
        f"targets.{sorted(_taken)[0]}: the name of one of the workflow's rules; name the target "
        "differently"
    )

for _target in config["targets"]:

    rule:
        name:
            _target
        input:
            target_files(config, _target),
        localrule: True
