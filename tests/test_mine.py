"""Mining your own images: the config's `mine` section, and the kept patches as written."""

import copy
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from patchmine.config import ConfigError, check_config
from patchmine.datasets import SourceImage, skimage_images
from patchmine.mine import (
    OUTPUT_FILES,
    MinePlan,
    add_mining,
    describe_ranking,
    describe_source,
    expand_shorthand,
    export_mined,
    folder_dataset_name,
    mine_scales,
)
from patchmine.overrides import read_back_command_line
from patchmine.store import build_store

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "schemas" / "config.schema.yaml")
PHOTOS = {"photos": {"source": "skimage", "images": ["astronaut", "coffee"]}}


# --- the config ---------------------------------------------------------------------------


def _validated(mine) -> dict:
    config = {"datasets": copy.deepcopy(PHOTOS), "mine": mine}
    expand_shorthand(config)
    validate(config, SCHEMA)
    return config


def test_a_folder_path_is_the_whole_section_with_the_papers_defaults(tmp_path):
    config = _validated(str(tmp_path))
    assert config["mine"] == {
        "images": str(tmp_path),
        "pattern": "*",
        "patch_size": 96,
        "criterion": "grad",
        "keep": 0.5,
        "scales": [2],
        "png": True,
    }
    plan = add_mining(config)
    check_config(config)  # a config may mine without any experiment
    name = folder_dataset_name(str(tmp_path))
    assert plan == MinePlan(name, 96, 96, "grad", "0.5", (2,), True)  # non-overlapping
    assert config["datasets"][name] == {
        "source": "folder",
        "path": str(tmp_path),
        "pattern": "*",
    }
    assert describe_source(config, name) == str(tmp_path)
    config["datasets"]["real"] = {"source": "pairs", "hr": "/d/HR", "lr": "/d/LR", "scale": 2}
    own = "/d/HR (LR: the pairs' own files in /d/LR, not bicubic)"
    assert describe_source(config, "real") == own


def test_each_folder_is_a_dataset_of_its_own_however_its_path_is_written(tmp_path, monkeypatch):
    train, valid = tmp_path / "train" / "HR", tmp_path / "valid" / "HR"
    train.mkdir(parents=True), valid.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    names = {
        spelling: add_mining(_validated(spelling)).dataset
        for spelling in (str(train), f"{train}/", "train/HR", "./train//HR/", "valid/HR")
    }
    assert len({names[s] for s in names if s != "valid/HR"}) == 1  # one folder, one dataset
    assert names["valid/HR"] != names["train/HR"]  # same folder name, other images
    assert names["train/HR"].startswith("HR_")
    weird = tmp_path / "my photos (2024)"
    weird.mkdir()
    assert re.fullmatch(r"my_photos_2024_[0-9a-f]{6}", folder_dataset_name(str(weird)))


def test_a_config_file_may_hold_only_the_mine_section(tmp_path):
    config = {"mine": {"images": str(tmp_path)}}
    expand_shorthand(config)
    validate(config, SCHEMA)
    plan = add_mining(config)
    check_config(config)
    assert list(config["datasets"]) == [plan.dataset]
    with pytest.raises(WorkflowError, match="datasets"):
        validate({"experiments": {}}, SCHEMA)  # experiments need their datasets


def test_a_folder_named_by_digits_is_a_folder_not_a_number(tmp_path, monkeypatch):
    (tmp_path / "2024").mkdir()
    monkeypatch.chdir(tmp_path)
    config = {"mine": 2024}  # `--config mine=2024`: YAML reads a number
    expand_shorthand(config)
    validate(config, SCHEMA)
    assert add_mining(config).dataset.startswith("2024_")
    config = {"mine": 7}  # `mine=007`: the form is lost, so say how to write it
    expand_shorthand(config)
    validate(config, SCHEMA)
    with pytest.raises(ConfigError, match=r"'7' is neither .* write mine=\./<folder>"):
        add_mining(config)


def test_folder_names_that_yaml_reads_otherwise_are_met_with_how_to_quote_them(tmp_path):
    """--config reads its value as YAML: `mine=trip: 2024` arrives as a mapping, `mine=[set]` as
    a list and `mine=photos #2` as 'photos'; each is answered with the quoting that works."""
    from snakemake.cli import parse_config

    for text in ("trip: 2024", "[set]", "{x}"):
        config = parse_config([f"mine={text}"])
        with pytest.raises(ConfigError, match=r"names no folder .* in quotes inside a section"):
            expand_shorthand(config)
    (tmp_path / "photos #2").mkdir()
    config = {"datasets": copy.deepcopy(PHOTOS)} | parse_config([f"mine={tmp_path}/photos #2"])
    expand_shorthand(config)
    validate(config, SCHEMA)
    with pytest.raises(ConfigError, match=r"' #' starts a comment: .*\{images: \"photos #2\"\}"):
        add_mining(config)
    quoted = parse_config([f'mine={{images: "{tmp_path}/photos #2"}}'])
    config = {"datasets": copy.deepcopy(PHOTOS)} | quoted
    expand_shorthand(config)
    validate(config, SCHEMA)
    assert add_mining(config).dataset.startswith("photos_2_")


def test_command_line_text_is_read_back_as_numbers_lists_and_booleans():
    # what `--config mine='{images: photos, keep: 40, scales: [2, 4], png: false}'` hands over
    text = {"images": "photos", "keep": "40", "scales": ["2", "4"], "png": "false", "stride": "64"}
    config = {"datasets": copy.deepcopy(PHOTOS), "mine": copy.deepcopy(text)}
    read_back_command_line(config, {"mine": text}, SCHEMA)
    expand_shorthand(config)
    validate(config, SCHEMA)
    assert config["mine"]["keep"] == 40 and config["mine"]["scales"] == [2, 4]
    assert config["mine"]["png"] is False and config["mine"]["stride"] == 64
    plan = add_mining(config)
    assert (plan.dataset, plan.keep, plan.stride, plan.png) == ("photos", "40", 64, False)
    assert list(config["datasets"]) == ["photos"]  # a dataset name is used as it is


def test_a_folder_under_home_may_be_written_with_a_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "photos").mkdir()
    config = _validated("~/photos")
    plan = add_mining(config)
    assert config["datasets"][plan.dataset]["path"] == str(tmp_path / "photos")


def test_no_mine_section_means_no_plan():
    config = {"datasets": copy.deepcopy(PHOTOS)}
    expand_shorthand(config)
    assert "mine" not in config and add_mining(config) is None


@pytest.mark.parametrize(
    ("mine", "named"),
    [
        ({"images": "photos", "keep": 1.5}, "keep"),
        ({"images": "photos", "keep": 0}, "keep"),
        ({"images": "photos", "criterion": "sharpness"}, "criterion"),
        ({"images": "photos", "scales": [1]}, "scales"),
        ({"images": "photos", "patchsize": 48}, "patchsize"),
    ],
)
def test_schema_names_the_bad_key(mine, named):
    with pytest.raises(WorkflowError, match=named):
        _validated(mine)


def test_mistakes_are_named_before_any_job(tmp_path):
    with pytest.raises(ConfigError, match=r"mine.images: 'no/such/folder' is neither a dataset"):
        add_mining(_validated("no/such/folder"))
    with pytest.raises(ConfigError, match=r"mine.patch_size: 50 is not a multiple of the scale 4"):
        add_mining(_validated({"images": "photos", "patch_size": 50, "scales": [2, 4]}))
    with pytest.raises(ConfigError, match=r"mine.stride: 45 is not a multiple of the scale 2"):
        add_mining(_validated({"images": "photos", "patch_size": 48, "stride": 45}))
    config = _validated(str(tmp_path))
    config["datasets"][folder_dataset_name(str(tmp_path))] = {"source": "skimage", "images": []}
    with pytest.raises(ConfigError, match="already defines otherwise"):
        add_mining(config)
    pairs = {"source": "pairs", "hr": str(tmp_path), "lr": str(tmp_path), "scale": 4}
    config = _validated({"images": "real", "patch_size": 48, "scales": [2]})
    config["datasets"]["real"] = pairs
    with pytest.raises(ConfigError, match=r"real x4 pairs; use scales: \[4\]"):
        add_mining(config)


def test_pairs_are_mined_at_their_own_scale_unless_told_otherwise(tmp_path):
    pairs = {"source": "pairs", "hr": str(tmp_path), "lr": str(tmp_path), "scale": 4}
    config = {"datasets": {"real": pairs}, "mine": {"images": "real", "patch_size": 48}}
    expand_shorthand(config)
    validate(config, SCHEMA)
    assert config["mine"]["scales"] == [4]
    config = {"datasets": {"real": pairs}, "mine": "real"}  # the one-line form
    expand_shorthand(config)
    assert config["mine"]["scales"] == [4]
    config = {"datasets": copy.deepcopy(PHOTOS), "mine": "photos"}  # not pairs: the default
    expand_shorthand(config)
    validate(config, SCHEMA)
    assert config["mine"]["scales"] == [2]


def test_a_name_of_both_a_dataset_and_a_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()  # a folder here, named like the config's scikit-image set
    with pytest.raises(ConfigError, match=r"names both the dataset datasets.photos \(skimage\)"):
        add_mining(_validated("photos"))
    assert add_mining(_validated("./photos")).dataset == folder_dataset_name("photos")
    config = _validated("photos")  # the dataset is that folder: nothing to choose between
    config["datasets"]["photos"] = {"source": "folder", "path": str(tmp_path / "photos")}
    assert add_mining(config).dataset == "photos"


def test_loss_needs_a_scorer_and_a_scale_and_reads_that_tasks_scores():
    with pytest.raises(ConfigError, match="needs a `scorer` section and at least one"):
        add_mining(_validated({"images": "photos", "criterion": "loss"}))
    config = _validated({"images": "photos", "criterion": "loss", "scales": []})
    config["scorer"] = {"model": "m", "recipe": "r"}
    with pytest.raises(ConfigError, match="mine.criterion"):
        add_mining(config)
    config = _validated({"images": "photos", "criterion": "loss", "scales": [3, 2]})
    config["scorer"] = {"model": "m", "recipe": "r"}
    assert add_mining(config).scores_name == "loss_sr_x3"
    assert add_mining(_validated({"images": "photos"})).scores_name == "grad"


def test_mining_by_loss_says_which_network_ranks_the_patches(caplog):
    config = _validated({"images": "photos", "criterion": "loss"})
    config["models"] = {"small": {"arch": "edsr", "blocks": 4, "channels": 24}}
    config["recipes"] = {"short": {"iterations": 200}}
    config["scorer"] = {"model": "small", "recipe": "short"}
    add_mining(config)
    assert (
        "ranked by the sr_x2 error of scorer 'small' (arch edsr, blocks 4, channels 24), trained "
        "by recipe 'short' (200 iterations) on every patch cut here" in caplog.text
    )
    config["scorer"]["weights"] = {"sr_x2": {"url": "https://host/edsr_baseline_x2.pt"}}
    add_mining(config)
    assert "sr_x2 error of published weights edsr_baseline_x2.pt" in caplog.text


def test_only_a_loss_ranking_names_who_scored_the_patches():
    config = {"scorer": {"model": "m", "recipe": "r", "weights": {}}, "models": {}, "recipes": {}}
    assert describe_ranking(config, "scores/photos/p48_s48/grad.npy") == ""
    assert "sr_x3 error of scorer 'm'" in describe_ranking(config, "s/loss_sr_x3.npy")


def test_the_mined_store_holds_the_plans_scales_and_only_that_store():
    plan = MinePlan("photos", 48, 48, "grad", "0.5", (2, 3), True)
    assert mine_scales(plan, "photos", 48, 48) == {2, 3}
    assert mine_scales(plan, "photos", 48, 96) == set()
    assert mine_scales(None, "photos", 48, 48) == set()
    assert plan.folder("results") == "results/mined/photos/p48_s48/grad/k0.5"
    assert set(plan.outputs("r")) == set(OUTPUT_FILES) and plan.png_dir("r").endswith("/png")


# --- the kept patches ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "p32_s32.h5"
    n = build_store(skimage_images(["astronaut", "coffee"]), path, 32, 32, [2], "photos")
    with h5py.File(path, "r") as f:
        contents = {key: f[key][:] for key in ("hr", "lr_x2", "image_id", "y", "x")}
    return path, n, contents


def _export(store_path, scores, keep, folder: Path, png=True):
    outputs = {role: folder / name for role, name in OUTPUT_FILES.items()}
    folder.mkdir(parents=True, exist_ok=True)
    summary = export_mined(
        store_path, scores, keep, "grad", outputs, folder / "png" if png else None
    )
    return outputs, summary


def test_kept_patches_are_the_highest_scored_with_everything_that_locates_them(store, tmp_path):
    path, n, contents = store
    scores = np.random.default_rng(0).permutation(n).astype(float)  # distinct: one right answer
    outputs, summary = _export(path, scores, "0.25", tmp_path)
    k = round(0.25 * n)
    best = sorted(range(n), key=lambda i: -scores[i])[:k]
    expected = np.array(sorted(best))
    assert summary["n_kept"] == k and summary["n_store"] == n
    assert summary["threshold"] == min(scores[i] for i in best)
    with h5py.File(outputs["patches"], "r") as f:
        np.testing.assert_array_equal(f["store_index"][:], expected)
        for key in ("hr", "lr_x2", "image_id", "y", "x"):
            np.testing.assert_array_equal(f[key][:], contents[key][expected], err_msg=key)
        np.testing.assert_array_equal(f["score"][:], scores[expected])
        assert f.attrs["n_patches"] == k and f.attrs["n_store"] == n
        assert f.attrs["criterion"] == "grad" and f.attrs["patch_size"] == 32
        assert list(f["images"].asstr()[:]) == ["astronaut", "coffee"]
    table = pd.read_csv(outputs["table"])
    np.testing.assert_array_equal(table.store_index, expected)
    assert sorted(table["rank"]) == list(range(1, k + 1))
    by_rank = table.sort_values("rank")
    assert list(by_rank.grad) == sorted(table.grad, reverse=True)
    per_image = pd.read_csv(outputs["images"])
    assert per_image.patches.sum() == n and per_image.kept.sum() == k
    assert list(per_image.kept) == [
        int((contents["image_id"][expected] == i).sum()) for i in (0, 1)
    ]
    assert f"Kept **{k:,} of {n:,}**" in Path(outputs["summary"]).read_text()
    with Image.open(outputs["histogram"]) as image:
        assert image.size[0] > 100


def test_an_image_smaller_than_a_patch_is_listed_with_why(tmp_path):
    photos = skimage_images(["astronaut"])
    small = tmp_path / "small.png"
    Image.new("RGB", (40, 20)).save(small)
    images = [*photos, SourceImage("small", small)]
    path = tmp_path / "p32_s32.h5"
    n = build_store(images, path, 32, 32, [2], "photos")
    outputs, _ = _export(path, np.arange(n, dtype=float), "0.5", tmp_path / "mined", png=False)
    per_image = pd.read_csv(outputs["images"], keep_default_na=False)
    assert list(per_image.image) == ["astronaut", "small"]
    assert list(per_image.patches) == [n, 0] and list(per_image.kept) == [round(n / 2), 0]
    assert list(per_image.skipped) == ["", "smaller than one 32-pixel patch"]


def test_png_folders_hold_every_kept_patch_named_by_image_and_corner(store, tmp_path):
    path, n, contents = store
    scores = np.arange(n, dtype=float)
    _export(path, scores, "10", tmp_path)
    hr_files = sorted((tmp_path / "png" / "HR").iterdir())
    lr_files = sorted((tmp_path / "png" / "LR_bicubic" / "X2").iterdir())
    assert len(hr_files) == len(lr_files) == 10
    names = ["astronaut", "coffee"]
    for i in range(n - 10, n):  # the ten highest scores are the last ten patches
        stem = f"{names[contents['image_id'][i]]}_y{contents['y'][i]}_x{contents['x'][i]}"
        hr = np.asarray(Image.open(tmp_path / "png" / "HR" / f"{stem}.png"))
        lr = np.asarray(Image.open(tmp_path / "png" / "LR_bicubic" / "X2" / f"{stem}x2.png"))
        np.testing.assert_array_equal(hr, contents["hr"][i])
        np.testing.assert_array_equal(lr, contents["lr_x2"][i])
    # mining again with fewer patches leaves no PNG of the earlier, larger subset behind
    _export(path, scores, "3", tmp_path)
    assert len(list((tmp_path / "png" / "HR").iterdir())) == 3
    # with png off, none of an earlier selection's PNGs stays beside the new files
    _export(path, -scores, "3", tmp_path, png=False)
    assert not (tmp_path / "png").exists()


def test_scores_that_do_not_fit_the_store_are_refused(store, tmp_path):
    path, n, _ = store
    with pytest.raises(ValueError, match=rf"{n - 1} grad scores for the {n} patches of"):
        _export(path, np.zeros(n - 1), "0.5", tmp_path)
    with pytest.raises(ValueError, match="larger than the number of patches"):
        _export(path, np.zeros(n), str(n + 1), tmp_path)
    with pytest.raises(ValueError, match="NaN"):
        _export(path, np.full(n, np.nan), "0.5", tmp_path)
    assert not list(tmp_path.glob("*.h5")) and not (tmp_path / "png").exists()


# --- the one-liner, through the real workflow ---------------------------------------------


def test_mining_works_from_any_folder_with_the_workflows_own_config(tmp_path):
    import shutil

    from test_workflow import snakemake

    folder = tmp_path / "photos {2024}"  # braces, in the folder's name and a file's
    folder.mkdir()
    shutil.copy(skimage_images(["coffee"])[0].path, folder / "coffee.png")
    shutil.copy(skimage_images(["rocket"])[0].path, folder / "shot {1}.jpg")  # not a wildcard
    elsewhere = tmp_path / "elsewhere"  # another project's config.yaml: the demo's is read
    elsewhere.mkdir()
    (elsewhere / "config.yaml").write_text("learning_rate: 0.001\nepochs: 10\n")
    dry = snakemake(elsewhere, "-n", "mine", "--config", f"mine={folder}")
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout, re.MULTILINE))
    assert jobs == {"patch_store": "1", "score_statistics": "1", "mine": "1", "total": "3"}
    # a count to keep above what the images give is refused before any job: coffee (400x600)
    # and rocket (427x640, cropped to 426 rows for x2) give 4x6 + 4x6 patches of 96 px
    too_many = snakemake(
        elsewhere, "-n", "mine", "--config", f"mine={{images: '{folder}', keep: 49}}"
    )
    assert too_many.returncode != 0
    said = too_many.stdout + too_many.stderr
    assert "mine.keep: 49 patches, but the 2 images of" in said, said[-3000:]
    assert "give 48 patches of 96 px at stride 96; keep at most 48" in said
    just = snakemake(elsewhere, "-n", "mine", "--config", f"mine={{images: '{folder}', keep: 48}}")
    assert just.returncode == 0, just.stderr[-3000:]
    # files that are no images are all named before any job, not one per run
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photograph")
    broken = snakemake(elsewhere, "-n", "mine", "--config", f"mine={folder}")
    said = broken.stdout + broken.stderr
    assert broken.returncode != 0 and "2 of 4 files cannot be read as images" in said, said[-3000:]
    assert "empty.png: cannot be read" in said and "notes.jpg: cannot be read" in said


@pytest.mark.slow
def test_one_line_mines_a_folder_and_keeps_the_top_half_by_gradient(tmp_path):
    import shutil

    from test_workflow import snakemake

    from patchmine.criteria import grad

    shutil.copy(ROOT / "tests" / "data" / "tiny_config.yaml", tmp_path / "config.yaml")
    folder = tmp_path / "my photos"  # a space in the path, as users' folders have
    folder.mkdir()
    for image in skimage_images(["astronaut", "coffee"]):
        shutil.copy(image.path, folder / f"{image.name}.png")
    done = snakemake(tmp_path, "--cores", "2", "mine", "--config", f"mine={folder}")
    assert done.returncode == 0, done.stderr[-4000:]
    name = folder_dataset_name(str(folder))
    mined = tmp_path / f"results/mined/{name}/p96_s96/grad/k0.5"
    with h5py.File(tmp_path / f"results/patches/{name}/p96_s96.h5", "r") as f:
        scores = grad(f["hr"][:])
    n = len(scores)
    expected = np.sort(np.argsort(-scores, kind="stable")[: round(n / 2)])
    with h5py.File(mined / "patches.h5", "r") as f:
        np.testing.assert_array_equal(f["store_index"][:], expected)
        assert f["lr_x2"].shape == (len(expected), 48, 48, 3)
        assert f.attrs["source"] == str(folder)
    assert len(list((mined / "png" / "HR").iterdir())) == len(expected)
    assert f"Images: `{folder}`" in (mined / "summary.md").read_text()
    # the same folder written another way (a trailing slash, relative) is the same dataset
    for spelling in (f"mine={folder}/", "mine=my photos"):
        again = snakemake(tmp_path, "-n", "mine", "--config", spelling)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    assert (tmp_path / "results" / ".patchmine-results").is_file()  # never read as images
    # a photograph replaced by another of an older time (`cp -p`, `mv`, `rsync -a`): Snakemake
    # alone sees no newer input; the store's record of what it read does
    older = tmp_path / "rocket.png"
    shutil.copy(skimage_images(["rocket"])[0].path, older)
    os.utime(older, (1_000_000_000, 1_000_000_000))
    os.replace(older, folder / "coffee.png")
    replaced = snakemake(tmp_path, "-n", "mine", "--config", f"mine={folder}")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert re.search(r"patch_store\s+1", replaced.stdout), replaced.stdout
    assert "of the images it was made from changed since" in replaced.stdout + replaced.stderr
    # a new photograph in the folder: the store is cut again and the mining redone
    shutil.copy(skimage_images(["chelsea"])[0].path, folder / "chelsea.png")
    more = snakemake(tmp_path, "-n", "mine", "--config", f"mine={folder}")
    assert more.returncode == 0
    assert re.search(r"patch_store\s+1", more.stdout) and re.search(r"mine\s+1", more.stdout)
    nothing = snakemake(tmp_path, "--cores", "1", "mine")
    assert nothing.returncode != 0
    assert "nothing to mine: name a folder of images" in nothing.stdout + nothing.stderr


def test_hr_only_mining_for_denoising_data(tmp_path):
    config = _validated({"images": "photos", "patch_size": 48, "scales": []})
    assert add_mining(config).scales == ()
    path = tmp_path / "hr_only.h5"
    n = build_store(skimage_images(["coffee"]), path, 48, 48, [], "photos")
    outputs, summary = _export(path, np.arange(n, dtype=float), "5", tmp_path / "mined")
    with h5py.File(outputs["patches"], "r") as f:
        assert sorted(f) == ["hr", "image_id", "images", "score", "store_index", "x", "y"]
    assert sorted(p.name for p in (tmp_path / "mined" / "png").iterdir()) == ["HR"]
    assert summary["n_kept"] == 5


@pytest.mark.slow
def test_mining_by_loss_trains_the_scorer_on_the_mined_store(tmp_path):
    from test_workflow import snakemake

    config = {
        "datasets": {
            "photos": {"source": "skimage", "images": ["astronaut", "coffee"]},
            "val": {"source": "skimage", "images": ["rocket"]},
        },
        "models": {"tiny": {"arch": "edsr", "blocks": 1, "channels": 8}},
        "recipes": {
            "quick": {"iterations": 12, "validation": "val", "batch_size": 8, "val_every": 6}
        },
        "scorer": {"model": "tiny", "recipe": "quick"},
        "mine": {"images": "photos", "patch_size": 48, "criterion": "loss", "keep": 0.25},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake(tmp_path, "--cores", "2", "mine")
    assert done.returncode == 0, done.stderr[-4000:]
    results = tmp_path / "results"
    scores = np.load(results / "scores/photos/p48_s48/loss_sr_x2.npy")
    expected = np.sort(np.argsort(-scores, kind="stable")[: round(0.25 * len(scores))])
    with h5py.File(results / "mined/photos/p48_s48/loss/k0.25/patches.h5", "r") as f:
        np.testing.assert_array_equal(f["store_index"][:], expected)
        assert f.attrs["criterion"] == "loss"
        scorer = "error of scorer 'tiny' (arch edsr, blocks 1, channels 8, res_scale 1.0)"
        assert scorer in f.attrs["ranking"]
    summary = (results / "mined/photos/p48_s48/loss/k0.25/summary.md").read_text()
    assert "Ranking: patches are ranked by the sr_x2 error of scorer 'tiny'" in summary
    # the scorer was trained on every patch of that store and validated on x2 images
    scorer = results / "runs/sr_x2/tiny/photos/p48_s48/all/kall/aug/seed0/quick"
    assert (scorer / "model.pt").exists()
    assert (results / "data/val/LR_bicubic/X2/rocketx2.png").exists()


def test_the_summary_says_how_many_tied_patches_were_left_out(store, tmp_path, caplog):
    path, n, _ = store
    scores = np.zeros(n)  # e.g. flat sky: every grad is 0
    scores[:3] = [3.0, 2.0, 1.0]
    outputs, summary = _export(path, scores, "5", tmp_path, png=False)
    assert summary["tied_out"] == n - 5  # 2 of the zeros kept, the rest left out
    text = Path(outputs["summary"]).read_text()
    assert f"{n - 5:,} more patches score exactly 0 and were left out" in text
    assert f"{n - 5} more patches score exactly 0, the cut-off, and were left out" in caplog.text
    distinct = _export(path, np.arange(n, dtype=float), "5", tmp_path / "b", png=False)[1]
    assert distinct["tied_out"] == 0


def test_the_per_image_share_is_kept_over_cut(tmp_path):
    """M2: kept_share of an image is the fraction of *its* patches kept."""
    from patchmine.datasets import skimage_images
    from patchmine.mine import OUTPUT_FILES, export_mined
    from patchmine.store import build_store

    path = tmp_path / "p32_s32.h5"
    n = build_store(skimage_images(["astronaut", "coffee"]), path, 32, 32, [2], "photos")
    outputs = {role: tmp_path / name for role, name in OUTPUT_FILES.items()}
    export_mined(path, np.arange(n, dtype=float), "0.5", "grad", outputs, None)
    per_image = pd.read_csv(outputs["images"])
    np.testing.assert_allclose(per_image.kept_share, per_image.kept / per_image.patches)
    assert per_image.kept.sum() == round(n / 2)


def test_a_huge_photograph_sizes_the_jobs_that_decode_it(tmp_path):
    """Each store worker holds one image: the plan sizes the job's memory to the largest one,
    from the headers it reads anyway (a 20,000 x 20,000 PNG took 3.3 GB, not 300 MB)."""
    import shutil
    import struct
    import zlib

    from test_workflow import snakemake

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(skimage_images(["coffee"])[0].path, folder / "coffee.png")
    ihdr = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)  # a header, no pixels
    (folder / "huge.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
    )
    dry = snakemake(tmp_path, "-n", "mine", "--config", f"mine={folder}")
    assert dry.returncode == 0, dry.stderr[-3000:]
    store_job = dry.stdout[dry.stdout.index("rule patch_store:") :]
    mem_mb = int(re.search(r"mem_mb=(\d+)", store_job)[1])
    assert mem_mb >= 1500 + 0.95 * 3.3 * 1024  # one worker in a dry run


def test_a_mined_file_another_process_writes_is_not_deleted(store, tmp_path):
    """As for the store: the rerun that cannot open the temporary file leaves it alone."""
    path, n, _ = store
    outputs = {role: tmp_path / name for role, name in OUTPUT_FILES.items()}
    tmp = Path(str(outputs["patches"]) + ".tmp")
    with h5py.File(tmp, "w") as other:
        other.attrs["writer"] = "the job left running"
        with pytest.raises(OSError):
            export_mined(path, np.arange(n, dtype=float), "0.5", "grad", outputs, None)
        assert tmp.exists()


def test_the_count_to_keep_is_checked_against_the_stores_own_cut():
    """48 px patches at stride 24 over a 96 x 96 image: 3 x 3 overlapping corners."""
    from patchmine.mine import check_keep_fits

    plan = MinePlan("photos", 48, 24, "grad", "9", (2,), False)
    check_keep_fits(plan, [(96, 96)], [2])
    with pytest.raises(ConfigError, match=r"give 9 patches of 48 px at stride 24"):
        check_keep_fits(MinePlan("photos", 48, 24, "grad", "10", (2,), False), [(96, 96)], [2])
