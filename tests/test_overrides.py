"""`--config` values: nested text read back as the numbers, booleans and lists it spells, except
where the schema holds text."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config, validate

from patchmine.config import ConfigError
from patchmine.overrides import read_back_command_line

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"
DEMO = yaml.safe_load((ROOT / "config.yaml").read_text())


def _with(*entries: str) -> dict:
    """The demo config as Snakemake merges `--config <entries>` into it, then read back."""
    given = parse_config(list(entries))  # Snakemake's own reading of the command line
    config = copy.deepcopy(DEMO)
    update_config(config, copy.deepcopy(given))
    read_back_command_line(config, given, SCHEMA)
    return config


def test_snakemake_hands_nested_values_over_as_text():
    # what this module exists for; should Snakemake type them one day, it is merely harmless
    assert parse_config(["report={allow_partial: true}"]) == {"report": {"allow_partial": "true"}}


def test_booleans_numbers_and_lists_are_read_back_and_pass_the_schema():
    config = _with(
        "report={allow_partial: true, zoom_k_min: 100}",
        "runtime={amp: false}",
        "experiments={demo: {k: [0.25, 100]}}",
    )
    assert config["report"]["allow_partial"] is True and config["report"]["zoom_k_min"] == 100
    assert config["runtime"]["amp"] is False
    assert config["experiments"]["demo"]["k"] == [0.25, 100]
    assert config["experiments"]["demo"]["train"] == DEMO["experiments"]["demo"]["train"]
    validate(config, str(SCHEMA))


def test_text_stays_text_where_the_schema_holds_text():
    config = _with("runtime={amp: auto}", "datasets={mine1: {source: folder, path: 2024}}")
    assert config["runtime"]["amp"] == "auto"  # an enum naming the text
    assert config["datasets"]["mine1"]["path"] == "2024"  # a folder named by digits
    validate(config, str(SCHEMA))


def test_a_mine_section_on_the_command_line():
    config = _with("mine={images: 007, keep: 40, scales: [2, 4], png: false, stride: 64}")
    assert config["mine"] == {
        "images": "007",  # a path, not the number 7
        "keep": 40,
        "scales": [2, 4],
        "png": False,
        "stride": 64,
    }


def test_values_from_the_config_files_are_left_as_written():
    config = copy.deepcopy(DEMO)
    config["report"] = {"allow_partial": "true"}  # quoted in a file: the schema will refuse it
    read_back_command_line(config, {"runtime": {"amp": "false"}}, SCHEMA)
    assert config["report"]["allow_partial"] == "true"


def test_text_that_is_not_yaml_is_left_for_the_schema_to_name():
    config = _with("report={allow_partial: 'true'}")  # quoted on the command line: still typed
    assert config["report"]["allow_partial"] is True
    given = {"report": {"zoom_k_min": "[1, 2"}}
    config = copy.deepcopy(DEMO)
    update_config(config, copy.deepcopy(given))
    read_back_command_line(config, given, SCHEMA)
    assert config["report"]["zoom_k_min"] == "[1, 2"


def test_a_sections_key_given_at_the_top_is_refused_with_the_nested_form():
    """`mine=DIR keep=0.3` is the natural slip; the schema alone answers with the whole config."""
    with pytest.raises(ConfigError) as err:
        _with("mine=/data/hr", "keep=0.3")
    assert str(err.value) == (
        "--config keep=0.3: `keep` belongs under `mine`; write "
        "--config mine='{images: /data/hr, keep: 0.3}'"
    )
    with pytest.raises(ConfigError, match=r"mine='\{images: /path/to/images, patch_size: 48\}'"):
        _with("patch_size=48")
    with pytest.raises(ConfigError, match=r"`allow_partial` belongs under `report`; write "):
        _with("allow_partial=true")
    with pytest.raises(ConfigError, match=r"`amp` belongs under `runtime`"):
        _with("amp=false")
    assert _with("device=cpu")["device"] == "cpu"  # a top-level key stays welcome


def test_the_workflow_takes_nested_values_from_the_command_line(tmp_path):
    from test_workflow import snakemake

    (tmp_path / "config.yaml").write_text(
        (ROOT / "tests" / "data" / "tiny_config.yaml").read_text()
    )
    dry = snakemake(
        tmp_path, "-n", "--config", "report={allow_partial: true}", "runtime={amp: false}"
    )
    assert dry.returncode == 0, dry.stderr[-3000:]
    refused = snakemake(tmp_path, "-n", "--config", "runtime={amp: flase}")
    assert refused.returncode != 0 and "'flase' is not one of" in refused.stdout + refused.stderr
