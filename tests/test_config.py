"""The config is checked before any job runs, with messages that name the key and the value."""

import copy
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from patchmine.config import ConfigError, check_as_written, check_config
from patchmine.grid import PRODUCT_SUFFIXES
from patchmine.report import LAYOUTS
from patchmine.tasks import Task

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "schemas" / "config.schema.yaml")


def _load(name="config.yaml"):
    with open(ROOT / name) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("name", ["config.yaml", "tests/data/tiny_config.yaml"])
def test_shipped_configs_are_valid_and_get_defaults(name):
    config = _load(name)
    validate(config, SCHEMA)
    check_config(config)
    assert config["device"] == "auto" and config["rand_seed"] == 0
    for exp in config["experiments"].values():
        assert exp["seeds"] and exp["augment"]


def _error(config) -> str:
    with pytest.raises(WorkflowError) as info:
        validate(config, SCHEMA)
    return str(info.value)


def test_unknown_key_is_named():
    config = _load()
    config["experiments"]["demo"]["stirde"] = 60
    assert "stirde" in _error(config)


def test_wrong_type_is_named():
    config = _load()
    config["recipes"]["demo"]["iterations"] = "many"
    message = _error(config)
    assert "iterations" in message and "many" in message


def test_out_of_range_is_named():
    config = _load()
    config["experiments"]["demo"]["k"] = [0.25, 1.5]
    message = _error(config)
    assert "1.5" in message and "'k'" in message
    config = _load()
    config["recipes"]["demo"]["lr"] = -1
    assert "lr" in _error(config)


def test_unknown_image_and_bad_name_are_named():
    config = _load()
    config["datasets"]["demo_train"]["images"].append("mona_lisa")
    assert "mona_lisa" in _error(config)
    config = _load()
    config["datasets"]["bad/name"] = {"source": "skimage", "images": ["coffee"]}
    assert "bad/name" in _error(config)


def _checked(config):
    validate(config, SCHEMA)
    check_config(config)


def test_dangling_references_are_named():
    config = _load()
    config["experiments"]["demo"]["models"] = ["edsr_demo", "edsr_huge"]
    with pytest.raises(ConfigError, match=r"experiments\.demo\.models: model 'edsr_huge'"):
        _checked(config)
    config = _load()
    config["recipes"]["demo"]["validation"] = "nowhere"
    with pytest.raises(ConfigError, match=r"recipes\.demo\.validation"):
        _checked(config)


def _with_published(**entry):
    config = _load()
    config["published_models"] = {
        "official": {"url": "https://host/edsr_x2.pt", "model": "edsr_demo", "task": "sr_x2"}
        | entry
    }
    config["experiments"]["demo"]["published_models"] = ["official"]
    return config


def test_published_models_are_checked():
    _checked(_with_published())
    config = _with_published()
    config["experiments"]["demo"]["published_models"] = ["oficial"]
    with pytest.raises(ConfigError, match=r"experiments\.demo\.published_models: .* 'oficial'"):
        _checked(config)
    with pytest.raises(ConfigError, match=r"published_models\.official\.model: .* 'edsr_x9'"):
        _checked(_with_published(model="edsr_x9"))
    with pytest.raises(ConfigError, match=r"'official' restores sr_x3 .* task is sr_x2"):
        _checked(_with_published(task="sr_x3"))
    assert "task" in _error(_with_published(task="sr2"))


def test_two_downloads_saved_under_one_name_are_named():
    config = _with_published()
    config["scorer"]["weights"] = {
        "sr_x2": {"url": "https://mirror/edsr_x2.pt", "model": "edsr_demo"}
    }
    with pytest.raises(ConfigError, match=r"published_models\.official\.url: .* 'edsr_x2\.pt'"):
        _checked(config)
    config["scorer"]["weights"]["sr_x2"].update(url="https://host/edsr_x2.pt", sha256="a" * 64)
    _checked(config)  # the same file for both: fetched once
    config["published_models"]["official"]["sha256"] = "b" * 64
    with pytest.raises(ConfigError, match=r"published_models\.official\.sha256: differs"):
        _checked(config)


def test_patch_geometry_must_fit_the_scale():
    config = _load()
    config["experiments"]["demo"]["scale"] = 3
    with pytest.raises(ConfigError, match=r"patch_size: 32 is not a multiple of the scale 3"):
        _checked(config)
    config = _load()  # every stride, not only the first
    config["experiments"]["demo"]["strides"] = [40, 45]
    with pytest.raises(ConfigError, match=r"demo\.strides: 45 is not a multiple of the scale 2"):
        _checked(config)


def test_a_correlation_target_needs_a_store_that_fits_each_scale():
    config = _load()  # the demo cuts 32 px patches at stride 40: fine for x2, not for x3
    config["targets"] = {
        "fig7a": {"experiment": "demo", "show": "correlation", "tasks": ["sr_x2", "sr_x3"]}
    }
    with pytest.raises(ConfigError, match=r"targets\.fig7a\.tasks: sr_x3 .* patch_size 32"):
        _checked(config)
    config["experiments"]["demo"].update(patch_size=48, strides=[48])
    _checked(config)


def test_a_k_with_a_decimal_point_above_one_is_named():
    config = _load()
    config["experiments"]["demo"]["k"] = [0.5, 300.0]
    with pytest.raises(ConfigError, match=r"experiments\.demo\.k: 300\.0 is neither a count"):
        _checked(config)


def test_experiments_whose_products_would_share_file_names_are_named():
    config = _load()
    config["experiments"]["demo_strides"] = dict(config["experiments"]["demo"])
    with pytest.raises(ConfigError, match=r"experiments\.demo_strides: .* 'demo'"):
        _checked(config)
    config["experiments"]["demo_x4"] = config["experiments"].pop("demo_strides")
    _checked(config)  # not a product's name


def test_product_suffixes_cover_every_experiment_file_of_the_report_rules():
    text = (ROOT / "rules" / "report.smk").read_text()
    used = set(re.findall(r"\{\{experiment\}\}_(\w+)", text)) - {"table"}  # a log's name
    used = (used - {"{{layout"}) | set(LAYOUTS)
    assert used <= set(PRODUCT_SUFFIXES)


def test_training_images_must_not_be_test_images():
    config = _load()
    config["datasets"]["demo_test"]["images"] = ["coffee", "retina"]
    with pytest.raises(ConfigError, match="retina"):
        _checked(config)


def test_loss_needs_a_scorer():
    config = copy.deepcopy(_load())
    del config["scorer"]
    with pytest.raises(ConfigError, match="scorer"):
        _checked(config)


def test_div2k_training_and_validation_ranges_must_not_overlap():
    config = _load()
    config["datasets"]["demo_train"] = {"source": "div2k", "split": "train", "download": True}
    config["datasets"]["demo_val"] = {
        "source": "div2k",
        "split": "train",
        "download": True,
        "first": 700,
        "last": 800,
    }
    with pytest.raises(ConfigError, match="DIV2K 0700"):
        _checked(config)
    config["datasets"]["demo_val"] = {"source": "div2k", "split": "valid", "download": True}
    _checked(config)


def test_download_and_path_are_exclusive():
    config = _load()
    config["datasets"]["demo_train"] = {
        "source": "div2k",
        "split": "train",
        "download": True,
        "path": "/data/DIV2K",
    }
    assert "demo_train" in _error(config)


def test_targets_refer_to_experiments_and_correlations_name_tasks():
    config = _load()
    config["targets"]["fig9"] = {"experiment": "nowhere", "show": "psnr_vs_k"}
    with pytest.raises(ConfigError, match=r"targets\.fig9: experiment 'nowhere'"):
        _checked(config)
    config = _load()
    config["targets"]["fig7"] = {"experiment": "demo", "show": "correlation"}
    with pytest.raises(ConfigError, match=r"targets\.fig7: `tasks`"):
        _checked(config)
    config = _load()
    config["targets"]["fig7"] = {"experiment": "demo", "show": "figure"}
    assert "figure" in _error(config)


def test_paper_config_is_valid():
    config = _load("configs/paper.yaml")
    _checked(config)
    assert {"fig6", "table1", "table4", "fig7a", "fig7b"} <= set(config["targets"])


def test_canonical_params_ignore_key_order_but_keep_list_order():
    from patchmine.config import canonical

    a = {"arch": "edsr", "blocks": 16, "opts": {"y": 1, "x": [3, 1, 2]}}
    b = {"opts": {"x": [3, 1, 2], "y": 1}, "blocks": 16, "arch": "edsr"}
    assert repr(canonical(a)) == repr(canonical(b))  # what Snakemake compares
    assert canonical(a) == a  # the same content
    assert canonical({"k": [2, 1]}) != canonical({"k": [1, 2]})


def test_the_working_directorys_config_is_read_only_when_it_is_ours(tmp_path):
    from patchmine.config import default_config_file

    (tmp_path / "workflow" / "schemas").mkdir(parents=True)
    (tmp_path / "workflow" / "schemas" / "config.schema.yaml").write_text(Path(SCHEMA).read_text())
    own = str(tmp_path / "workflow" / "config.yaml")
    assert default_config_file(str(tmp_path), str(tmp_path / "workflow")) == own  # none here
    local = tmp_path / "config.yaml"
    for foreign in ("learning_rate: 0.001\n", "datasets: [train.csv]\nlr: 0.01\n"):
        local.write_text(foreign)  # another project's, even one with a `datasets` key
        assert default_config_file(str(tmp_path), str(tmp_path / "workflow")) == own
    local.write_text("mine: /data/photos\n")
    assert default_config_file(str(tmp_path), str(tmp_path / "workflow")) == str(local)
    local.write_text("datasets: {a: [\n")  # ours, broken: read, so that the error is shown
    assert default_config_file(str(tmp_path), str(tmp_path / "workflow")) == str(local)


def test_downloads_are_saved_under_plain_file_names():
    from patchmine.catalog import archive_name

    assert archive_name("https://www.dropbox.com/s/abc/edsr_x2.pt?dl=1#top") == "edsr_x2.pt"
    assert archive_name("/data/weights/edsr_x2.pt") == "edsr_x2.pt"
    _checked(_with_published(url="https://www.dropbox.com/s/abc/edsr_x2.pt?dl=1"))
    with pytest.raises(ConfigError, match=r"published_models\.official\.url: .* 'model%20v2\.pt'"):
        _checked(_with_published(url="https://host/model%20v2.pt"))


def _files(folder, contents):
    """Files with the given bytes (the overlap check lists and compares files, never decodes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return folder


def _pairs_train(tmp_path, test):
    """The demo with a real-pairs training set B/HR + B/LR and ``test`` as its test set."""
    _files(tmp_path / "B" / "HR", {"a.png": b"a" * 100, "b.png": b"b" * 200})
    _files(tmp_path / "B" / "LR", {"a.png": b"A" * 25, "b.png": b"B" * 50})
    config = _load()
    config["datasets"]["demo_train"] = {
        "source": "pairs",
        "hr": str(tmp_path / "B" / "HR"),
        "lr": str(tmp_path / "B" / "LR"),
        "scale": 2,
    }
    config["datasets"]["demo_test"] = test
    return config


def test_a_test_folder_spelt_differently_from_the_training_folder_is_caught(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "B")
    for path in ("B/HR/", "B/../B/HR", "link/HR"):
        config = _pairs_train(tmp_path, {"source": "folder", "path": str(tmp_path / path)})
        with pytest.raises(ConfigError, match=r"'demo_train' shares .* 'demo_test': .*a\.png"):
            _checked(config)
    (tmp_path / "T").mkdir()
    (tmp_path / "T" / "t.png").symlink_to(tmp_path / "B" / "HR" / "b.png")  # a linked file
    config = _pairs_train(tmp_path, {"source": "folder", "path": str(tmp_path / "T")})
    with pytest.raises(ConfigError, match=r"shares 1 image\(s\) .* 'demo_test': .*T/t\.png$"):
        _checked(config)
    # folders not there yet (made before the jobs run) are compared by their resolved names
    config = _load()
    config["datasets"]["demo_train"] = {"source": "folder", "path": str(tmp_path / "C" / "HR")}
    config["datasets"]["demo_test"] = {"source": "folder", "path": str(tmp_path / "C/./HR/")}
    with pytest.raises(ConfigError, match=r"'demo_test': .*C/HR/\*"):
        _checked(config)


def test_a_test_set_reading_some_training_files_is_caught(tmp_path):
    # another pattern than the training set's, so only the files say they are the same
    config = _pairs_train(
        tmp_path, {"source": "folder", "path": str(tmp_path / "B" / "HR"), "pattern": "a*"}
    )
    with pytest.raises(ConfigError, match=r"shares 1 image\(s\) .* 'demo_test': .*HR/a\.png$"):
        _checked(config)


def test_byte_identical_copies_of_training_images_are_caught(tmp_path):
    big = bytes(range(256)) * 300  # longer than the head that is compared first
    config = _pairs_train(tmp_path, {"source": "folder", "path": str(tmp_path / "T")})
    _files(tmp_path / "B" / "HR", {"c.png": big})
    _files(tmp_path / "B" / "LR", {"c.png": b"C"})
    # equal sizes, other bytes (one at the very end): different images
    _files(tmp_path / "T", {"x.png": b"x" * 100, "y.png": big[:-1] + b"!"})
    _checked(config)
    _files(tmp_path / "T", {"copy_of_b.png": b"b" * 200, "copy_of_c.png": big})
    with pytest.raises(ConfigError) as info:
        _checked(config)
    message = str(info.value)
    assert "training set 'demo_train' shares 2 image(s) with its test set 'demo_test'" in message
    assert "copy_of_b.png (a copy of " in message and str(tmp_path / "B/HR/b.png") in message
    assert "copy_of_c.png (a copy of " in message and "x.png" not in message


def test_hundreds_of_distinct_files_of_equal_size_are_not_taken_for_copies(tmp_path):
    """Equal sizes are common among PNGs of one camera; only equal bytes make a copy. (The check's
    cost on such folders: benchmarks/bench_overlap_check.py.)"""
    rng = np.random.default_rng(0)
    sizes = rng.integers(2000, 2010, 400)  # many equal sizes: their first bytes are compared
    _files(tmp_path / "HR", {f"{i:04d}.png": rng.bytes(int(n)) for i, n in enumerate(sizes)})
    _files(tmp_path / "LR", {f"{i:04d}.png": b"l" * (i + 1) for i in range(400)})
    _files(tmp_path / "T", {f"t{i:03d}.png": rng.bytes(int(n)) for i, n in enumerate(sizes)})
    config = _real_pairs(tmp_path)
    config["datasets"]["demo_train"] = config["datasets"].pop("real")
    config["datasets"]["demo_test"] = {"source": "folder", "path": str(tmp_path / "T")}
    validate(config, SCHEMA)
    check_config(config)  # no overlap
    (tmp_path / "T" / "t399.png").write_bytes((tmp_path / "HR" / "0123.png").read_bytes())
    with pytest.raises(ConfigError, match=r"shares 1 image\(s\) .*t399\.png \(a copy of .*0123"):
        check_config(config)


def _real_pairs(tmp_path, **entry):
    config = _load()
    config["datasets"]["real"] = {
        "source": "pairs",
        "hr": str(tmp_path / "HR"),
        "lr": str(tmp_path / "LR"),
        "scale": 2,
    } | entry
    return config


def test_real_pairs_serve_super_resolution_at_their_own_scale_only(tmp_path):
    """Elsewhere their LR would silently give way to a bicubic one: an experiment, the scorer
    behind its "loss" criterion and a Fig. 7 correlation are each refused, naming the key."""
    config = _real_pairs(tmp_path)
    demo = config["experiments"]["demo"]
    demo.update(train="real", patch_size=48, strides=[48])
    _checked(config)
    demo["scale"] = 3
    with pytest.raises(ConfigError, match=r"experiments\.demo\.scale: sr_x3 .*'real' .*x2 pairs"):
        _checked(config)
    demo.update(task="denoise", sigma=25)
    del demo["scale"]
    with pytest.raises(
        ConfigError, match=r"demo\.sigma: dn_s25 but experiments\.demo\.train: dataset 'real'"
    ):
        _checked(config)

    config = _real_pairs(tmp_path)  # validated on the pairs: the recipe's key is named
    config["recipes"]["demo"]["validation"] = "real"
    config["experiments"]["demo"].update(patch_size=48, strides=[48], scale=3)
    with pytest.raises(ConfigError, match=r"scale: sr_x3 but recipes\.demo\.validation: dataset"):
        _checked(config)

    config = _real_pairs(tmp_path)  # trained on photographs, its scorer validated on the pairs
    config["recipes"]["scorer"] = dict(config["recipes"]["demo"], validation="real")
    config["scorer"]["recipe"] = "scorer"
    config["experiments"]["demo"].update(patch_size=48, strides=[48])
    _checked(config)
    config["experiments"]["demo"]["scale"] = 3
    with pytest.raises(ConfigError, match=r"demo\.criteria \('loss'\): sr_x3 .*'real'"):
        _checked(config)

    config = _real_pairs(tmp_path)
    config["experiments"]["demo"].update(train="real", patch_size=48, strides=[48])
    config["targets"] = {
        "fig7": {"experiment": "demo", "show": "correlation", "tasks": ["sr_x2", "dn_s25"]}
    }
    _checked(config)  # noise is added to the HR patches: the pairs' LR plays no part
    config["targets"]["fig7"]["tasks"] = ["sr_x2", "sr_x3"]
    with pytest.raises(ConfigError, match=r"targets\.fig7\.tasks: sr_x3 .*'real' .*x2 pairs"):
        _checked(config)


def test_lr_name_fields_are_checked_before_any_job(tmp_path):
    _checked(_real_pairs(tmp_path, lr_name="{name}x{scale}"))
    for bad, field in [("{stem}x{scale}", "stem"), ("{}x2", ""), ("{name}_{Scale}", "Scale")]:
        with pytest.raises(ConfigError, match=rf"datasets\.real\.lr_name: .* uses \{{{field}\}}"):
            _checked(_real_pairs(tmp_path, lr_name=bad))
    with pytest.raises(
        ConfigError, match=r"datasets\.real\.lr_name: '\{name' is not a valid template"
    ):
        _checked(_real_pairs(tmp_path, lr_name="{name"))
    with pytest.raises(ConfigError, match=r"datasets\.real\.lr_name: .* makes a path"):
        _checked(_real_pairs(tmp_path, lr_name="X{scale}/{name}"))


def test_a_pair_whose_lr_would_be_its_own_hr_file_is_refused(tmp_path):
    (tmp_path / "RealSR").mkdir()  # X_HR.png beside X_LR2.png
    folder = str(tmp_path / "RealSR")
    for lr in (folder, folder + "/", str(tmp_path / "RealSR" / ".." / "RealSR")):
        with pytest.raises(ConfigError, match=r"datasets\.real: .* own LR partner"):
            _checked(_real_pairs(tmp_path, hr=folder, lr=lr))
    with pytest.raises(ConfigError, match="hr_name: '{name}_HR' and lr_name: '{name}_LR{scale}'"):
        _checked(_real_pairs(tmp_path, hr=folder, lr=folder, lr_name="{name:s}"))
    with pytest.raises(ConfigError, match="own LR partner"):
        _checked(
            _real_pairs(tmp_path, hr=folder, lr=folder, hr_name="{name}_X", lr_name="{name}_X")
        )
    _checked(_real_pairs(tmp_path, hr=folder, lr=folder, lr_name="{name}_LR{scale}"))
    _checked(
        _real_pairs(tmp_path, hr=folder, lr=folder, hr_name="{name}_HR", lr_name="{name}_LR{scale}")
    )
    _checked(_real_pairs(tmp_path))  # the same names in two folders: the usual layout


@pytest.mark.parametrize(
    ("hr_name", "message"),
    [
        ("{name}_{scale}", r"uses \{scale\}, which is not a field of hr_name"),
        ("HR", "must hold {name} exactly once"),
        ("{name}_{name}", "must hold {name} exactly once"),
        ("HR/{name}", "makes a path"),
    ],
)
def test_hr_name_marks_the_name_once(tmp_path, hr_name, message):
    with pytest.raises(ConfigError, match=rf"datasets\.real\.hr_name: .*{message}"):
        _checked(_real_pairs(tmp_path, hr_name=hr_name))


@pytest.mark.parametrize(
    "name", ["config.yaml", "configs/paper.yaml", "tests/data/tiny_config.yaml"]
)
def test_shipped_configs_pass_the_as_written_check(name):
    check_as_written(_load(name))


@pytest.mark.parametrize(
    "written, named",
    [
        # forgot `task: denoise`: after the schema's defaults this is x2 SR, silently
        ({"sigma": 50}, ["experiments.demo.sigma: 50", "'sr' (the default)", "task: denoise"]),
        ({"task": "sr", "sigma": 15}, ["experiments.demo.sigma: 15", "task is 'sr':"]),
        ({"task": "denoise", "scale": 4}, ["experiments.demo.scale: 4", "remove `scale`"]),
    ],
)
def test_a_key_of_the_other_task_is_refused_as_written(written, named):
    config = _load()
    exp = config["experiments"]["demo"]
    for key in ("task", "scale"):
        exp.pop(key, None)
    exp.update(written)
    with pytest.raises(ConfigError) as info:
        check_as_written(config)
    for words in named:
        assert words in str(info.value)
    # the schema's defaults make both keys present, so the check must come first
    validate(config, SCHEMA)
    assert {"task", "scale", "sigma"} <= config["experiments"]["demo"].keys()


def test_null_drops_a_task_key_that_an_earlier_config_set():
    """What `--configfile base.yaml denoise.yaml` gives when the second file turns an SR
    experiment of the first into a denoising one (Snakemake merges mappings key by key)."""
    config = _load()
    exp = config["experiments"]["demo"]
    exp.update({"scale": 4, "task": "denoise", "sigma": 50})
    with pytest.raises(ConfigError, match="can write `scale: null`"):
        check_as_written(copy.deepcopy(config))
    exp["scale"] = None
    check_as_written(config)
    assert "scale" not in exp
    validate(config, SCHEMA)
    assert Task.from_experiment(config["experiments"]["demo"]).name == "dn_s50"
    # a null of the experiment's own task is not a silent default: the schema refuses it
    own = _load()
    own["experiments"]["demo"].update({"task": "sr", "scale": None})
    check_as_written(own)
    assert own["experiments"]["demo"]["scale"] is None
    with pytest.raises(WorkflowError, match="scale"):
        validate(own, SCHEMA)


def test_the_as_written_check_leaves_malformed_entries_to_the_schema():
    check_as_written({"experiments": ["not", "a", "mapping"]})
    check_as_written({"experiments": {"demo": "nor this"}})
    check_as_written({"experiments": {"demo": {"task": "segment", "sigma": 5}}})


def test_a_criterion_or_arch_the_schema_allows_but_the_code_lacks_names_the_file():
    """Half an extension (the schema's enum edited, the code not) fails before any job with the
    file to edit, not as a missing input or a KeyError."""
    config = _load()
    validate(config, SCHEMA)
    config["experiments"]["demo"]["criteria"] = ["grad", "entropy"]
    with pytest.raises(ConfigError, match=r"demo\.criteria: 'entropy' .*criterion_names\.py"):
        check_config(config)
    config = _load()
    validate(config, SCHEMA)
    config["models"]["edsr_demo"]["arch"] = "vdsr"
    with pytest.raises(ConfigError, match=r"models\.edsr_demo: arch 'vdsr' .*ARCH_DEFAULTS"):
        check_config(config)


def test_a_denoising_experiment_on_real_pairs_names_its_sigma(tmp_path):
    config = _real_pairs(tmp_path)
    config["experiments"]["demo"].update(train="real", task="denoise", sigma=25)
    del config["experiments"]["demo"]["scale"]
    with pytest.raises(ConfigError, match=r"experiments\.demo\.sigma: dn_s25 .*'real'"):
        _checked(config)


def test_the_last_div2k_image_of_a_range_counts_as_shared():
    """OV1: a validation range of image 800 alone overlaps a training range ending at 800."""
    from patchmine.config import ConfigError, check_config

    config = _load()
    config["datasets"]["demo_train"] = {"source": "div2k", "split": "train", "download": True,
                                        "first": 1, "last": 800}  # fmt: skip
    config["datasets"]["demo_val"] = {"source": "div2k", "split": "train", "download": True,
                                      "first": 800, "last": 800}  # fmt: skip
    validate(config, str(ROOT / "schemas" / "config.schema.yaml"))
    with pytest.raises(ConfigError, match="DIV2K 0800"):
        check_config(config)
