# Named products (config `targets`): `snakemake fig6`, `snakemake table1`, … each builds only
# what its experiment needs.


for _target in config["targets"]:

    rule:
        name:
            _target
        input:
            target_files(config, _target),
        localrule: True
