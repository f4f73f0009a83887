"""The real `snakemake` on a tiny config, in a temporary folder: every stage, every output."""

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import skimage.data
import yaml
from conftest import snakemake_env
from PIL import Image

from patchmine.criteria import grad
from patchmine.store import patch_corners

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


def snakemake(workdir: Path, *args: str, code: Path = ROOT) -> subprocess.CompletedProcess:
    """`snakemake` in ``workdir`` with the workflow and package of ``code``, started from there
    (`python -m` puts the current folder first on sys.path, before PYTHONPATH)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(code / "Snakefile"),
         "--directory", str(workdir), *args],
        capture_output=True, text=True, env=snakemake_env(PYTHONPATH=str(code)),
        timeout=1200, cwd=code,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    shutil.copy(ROOT / "tests" / "data" / "tiny_config.yaml", workdir / "config.yaml")
    done = snakemake(workdir, "--cores", "2")
    assert done.returncode == 0, done.stderr[-4000:]
    with open(workdir / "config.yaml") as handle:
        config = yaml.safe_load(handle)
    return workdir, config


@pytest.mark.slow
def test_store_holds_the_patches_the_images_imply(tiny_run):
    workdir, config = tiny_run
    results = workdir / "results"
    manifest = pd.read_csv(results / "patches" / "tiny_train" / "p32_s64_images.csv")
    assert list(manifest.name) == config["datasets"]["tiny_train"]["images"]
    exp = config["experiments"]["tiny"]
    expected = sum(
        len(patch_corners(h, w, exp["patch_size"], exp["strides"][0], (2,))[0])
        for h, w in zip(manifest.height, manifest.width, strict=True)
    )
    assert manifest.patches.sum() == expected
    with h5py.File(results / "patches" / "tiny_train" / "p32_s64.h5", "r") as f:
        assert f["hr"].shape == (expected, 32, 32, 3)
        assert f["lr_x2"].shape == (expected, 16, 16, 3)
        hr = f["hr"][:]
    scores = {
        c: np.load(results / "scores/tiny_train/p32_s64" / f"{c}.npy")
        for c in ("grad", "std", "freq", "rand", "loss_sr_x2")
    }
    for name, values in scores.items():
        assert values.shape == (expected,) and np.all(np.isfinite(values)), name
    np.testing.assert_allclose(scores["grad"], grad(hr))


@pytest.mark.slow
def test_grad_subset_is_richer_than_rand(tiny_run):
    workdir, _ = tiny_run
    results = workdir / "results"
    g = np.load(results / "scores/tiny_train/p32_s64/grad.npy")
    chosen = {
        c: np.load(results / f"subsets/sr_x2/tiny_train/p32_s64/{c}/k0.5.npy")
        for c in ("grad", "rand", "loss", "std", "freq")
    }
    for indices in chosen.values():
        assert len(indices) == round(0.5 * len(g)) and np.all(np.diff(indices) > 0)
    assert g[chosen["grad"]].mean() > g[chosen["rand"]].mean()
    outside = np.setdiff1d(np.arange(len(g)), chosen["grad"])
    assert g[chosen["grad"]].min() >= g[outside].max()  # top-K really is the top


@pytest.mark.slow
def test_every_run_is_trained_evaluated_and_tabulated(tiny_run):
    workdir, config = tiny_run
    results = workdir / "results"
    runs = pd.read_csv(results / "tables" / "tiny_runs.csv")
    assert len(runs) == 5 * 2  # criteria x augmentation
    assert runs.psnr.between(15, 45).all() and runs.ssim.between(0.2, 1).all()
    for run_json in results.glob("runs/**/run.json"):
        meta = json.loads(run_json.read_text())
        log = pd.read_csv(run_json.parent / "train_log.csv")
        assert list(log.iteration) == [6, 12] and np.isfinite(log.val_psnr).all()
        assert meta["best_val_psnr"] == pytest.approx(log.val_psnr.max())
        assert meta["trained_on"] == "cpu fp32" and set(log.trained_on) == {"cpu fp32"}
        per_image = list(run_json.parent.glob("eval/*.csv"))
        assert len(per_image) == (0 if meta["criterion"] == "all" else 1)
    table = pd.read_csv(results / "tables" / "tiny.csv")
    assert len(table) == 10 and table.iloc[:, 1:].notna().all().all()
    text = (results / "tables" / "tiny.md").read_text()
    assert "**" in text
    reference = pd.read_csv(results / "references" / "sr_x2" / "tiny_test.csv")
    assert list(reference.image) == ["chelsea"]
    assert (
        f"Reference on tiny_test: bicubic x2 upscaling of the LR images scores "
        f"{reference.psnr.mean():.2f} dB (SSIM {reference.ssim.mean():.4f})" in text
    )
    for name in ("tiny_psnr_vs_k.png", "tiny_psnr_vs_k.pdf", "tiny_histograms.png"):
        assert (results / "figures" / name).stat().st_size > 1000


@pytest.mark.slow
def test_second_run_has_nothing_to_do(tiny_run):
    workdir, _ = tiny_run
    again = snakemake(workdir, "--cores", "2", "--dry-run")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.parametrize(
    "key, value, named",
    [
        ("patchsize", 32, "patchsize"),
        # a denoising experiment that forgot `task: denoise` would otherwise train x2 SR
        ("sigma", 50, "experiments.tiny.sigma: 50 applies to task 'denoise' only"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, key, value, named):
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    config["experiments"]["tiny"][key] = value
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake(tmp_path, "--cores", "1", "--dry-run")
    assert done.returncode != 0
    assert named in done.stdout + done.stderr
    assert not (tmp_path / "results").exists()


def test_a_later_config_turns_an_experiment_into_denoising(tmp_path):
    """Snakemake merges `--configfile` mappings key by key, so a second file cannot remove the
    first's `scale`; it writes `scale: null`."""
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    config["experiments"]["tiny"]["scale"] = 2
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    overlay = {"experiments": {"tiny": {"task": "denoise", "sigma": 50}}}
    (tmp_path / "denoise.yaml").write_text(yaml.safe_dump(overlay))
    files = ("--configfile", str(tmp_path / "config.yaml"), str(tmp_path / "denoise.yaml"))
    refused = snakemake(tmp_path, *files, "--dry-run")
    assert refused.returncode != 0
    assert "experiments.tiny.scale: 2 applies to task 'sr' only" in refused.stdout + refused.stderr
    overlay["experiments"]["tiny"]["scale"] = None
    (tmp_path / "denoise.yaml").write_text(yaml.safe_dump(overlay))
    planned = snakemake(tmp_path, *files, "--dry-run")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert "runs/dn_s50/" in planned.stdout and "sr_x2" not in planned.stdout


def test_the_pilot_overlay_plans_the_papers_jobs_with_short_runs_in_a_folder_of_its_own(tmp_path):
    """configs/pilot.yaml over configs/paper.yaml: Table I's 21 training runs as the paper's grid
    has them, each cut to 2,000 iterations (so asking minutes, not days), under results/pilot."""

    def train_jobs(*files):
        done = snakemake(tmp_path, "-n", "table1", "--configfile", *files)
        assert done.returncode == 0, done.stderr[-2000:]
        blocks = re.findall(r"^rule train:\n((?:    .*\n)+)", done.stdout, re.M)
        return [
            (re.search(r"output: (\S+?)model\.pt", b)[1], int(re.search(r"runtime=(\d+)", b)[1]))
            for b in blocks
        ]

    paper = train_jobs(str(ROOT / "configs" / "paper.yaml"))
    pilot = train_jobs(str(ROOT / "configs" / "paper.yaml"), str(ROOT / "configs" / "pilot.yaml"))
    assert len(paper) == len(pilot) == 21
    as_in_paper = {run.replace("results/paper/", "results/pilot/", 1) for run, _ in paper}
    assert {run for run, _ in pilot} == as_in_paper
    assert max(minutes for _, minutes in pilot) < 60 < min(minutes for _, minutes in paper)


# A statistic beyond the paper's, as a researcher would add it (docs/architecture.md): the mean
# absolute difference between neighbouring pixels (on [0, 1]), across and down.
TV_CODE = """

def tv(patches):
    x = _as_tensor(patches).to(torch.float64)
    across = (x[:, :, 1:] - x[:, :, :-1]).abs().mean(dim=(1, 2, 3))
    down = (x[:, 1:] - x[:, :-1]).abs().mean(dim=(1, 2, 3))
    return (across + down).cpu().numpy()


_BATCHED["tv"] = tv
"""


@pytest.mark.slow
def test_an_added_statistic_reruns_nothing_and_mines(tiny_run, tmp_path):
    """Registering a statistic in criterion_names.EXTRA_STATISTICS leaves a finished results
    folder as it is; an experiment or a mine that asks for it gets one score_extra job."""
    workdir, config = tiny_run
    code = tmp_path / "code"
    code.mkdir()
    for part in ("Snakefile", "rules", "scripts", "schemas", "patchmine", "report", "envs"):
        copier = shutil.copytree if (ROOT / part).is_dir() else shutil.copy2
        copier(ROOT / part, code / part)  # copy2 keeps the scripts' times (Snakemake reads them)
    # as docs/architecture.md says: a name after the others, the schema's enum in the same order
    # (before loss and rand), code, and a colour; whatever statistics were added before
    edits = [
        (
            "patchmine/criterion_names.py",
            r"(EXTRA_STATISTICS: tuple\[str, \.\.\.\] = \()([^)]*)\)",
            lambda m: f'{m[1]}{m[2].rstrip(", ")}{", " if m[2].strip() else ""}"tv",)',
        ),
        (
            "schemas/config.schema.yaml",
            r"(\$defs:.*?criterion:\s*\n\s*enum: \[[^\]]*?)(, loss, rand\])",
            lambda m: f"{m[1]}, tv{m[2]}",
        ),
    ]
    for name, pattern, replace in edits:
        text = (code / name).read_text()
        changed, count = re.subn(pattern, replace, text, count=1, flags=re.S)
        assert count == 1, name
        (code / name).write_text(changed)
    with open(code / "patchmine" / "criteria.py", "a") as handle:
        handle.write(TV_CODE)
    with open(code / "patchmine" / "labels.py", "a") as handle:
        handle.write('\nCRITERION_COLORS["tv"] = "gold"\n')
    same = snakemake(workdir, "--dry-run", code=code)
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-3000:]
    assert "Nothing to be done" in same.stdout + same.stderr

    with_tv = copy.deepcopy(config)
    with_tv["experiments"]["tiny"]["criteria"] = ["grad", "tv"]
    (tmp_path / "tv.yaml").write_text(yaml.safe_dump(with_tv))
    planned = snakemake(workdir, "--dry-run", "--configfile", str(tmp_path / "tv.yaml"), code=code)
    assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", planned.stdout + planned.stderr, re.MULTILINE))
    assert jobs.get("score_extra") == "1" and "score_statistics" not in jobs
    assert "select" in jobs and "train" in jobs

    images = tmp_path / "photos"
    images.mkdir()
    for name in ("coffee", "chelsea"):
        Image.fromarray(getattr(skimage.data, name)()).save(images / f"{name}.png")
    mine = {"mine": {"images": str(images), "criterion": "tv", "keep": 0.5}}
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    mine_file = str(tmp_path / "mine.yaml")
    mined = snakemake(workdir, "mine", "--cores", "2", "--configfile", mine_file, code=code)
    assert mined.returncode == 0, mined.stdout[-3000:] + mined.stderr[-3000:]
    table = next((workdir / "results" / "mined").glob("photos_*/p*/tv/k0.5/patches.csv"))
    kept = pd.read_csv(table)
    with h5py.File(next((workdir / "results" / "patches").glob("photos_*/p*.h5")), "r") as f:
        expected = f["hr"][kept["store_index"].to_numpy()] / 255.0  # _as_tensor's scale
    across = np.abs(np.diff(expected, axis=2)).mean(axis=(1, 2, 3))
    down = np.abs(np.diff(expected, axis=1)).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(kept["tv"], across + down)


def _dag(workdir: Path, *targets: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The jobs (id -> rule) and dependencies (input job, job) `snakemake --dag` plans."""
    done = snakemake(workdir, *targets, "--dag")  # --dag takes an optional format
    assert done.returncode == 0, done.stderr[-3000:]
    rules = dict(re.findall(r"^\s*(\d+)\[label = \"(\w+)", done.stdout, re.MULTILINE))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", done.stdout, re.MULTILINE)
    return rules, edges


def test_allow_partial_draws_named_targets_early_and_the_whole_run_complete(tmp_path):
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    config["report"] = {"allow_partial": True}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    # a named product: drawn from what has finished (nothing yet), training nothing
    rules, edges = _dag(tmp_path, "results/tables/tiny_runs.csv")
    assert set(rules.values()) == {"run_results"} and not edges
    # nor does it ingest a test set for the reference noted under a table or drawn in a figure
    rules, _ = _dag(tmp_path, "results/tables/tiny.md", "results/figures/tiny_psnr_vs_k.png")
    assert set(rules.values()) == {"run_results", "criteria_table", "psnr_vs_k"}
    # the whole workflow trains every run, so its tables wait for them: drawn first, they would
    # say "not finished yet" at its end
    rules, edges = _dag(tmp_path)
    tables = {job for job, rule in rules.items() if rule == "run_results"}
    assert {rules[a] for a, b in edges if b in tables} == {"train", "evaluate"}


def test_fig4_trains_only_the_criterion_it_draws(tmp_path):
    shutil.copy(ROOT / "tests" / "data" / "tiny_config.yaml", tmp_path / "config.yaml")
    rules, edges = _dag(tmp_path, "results/figures/tiny_convergence.png")
    trained = [job for job, rule in rules.items() if rule == "train"]
    assert len(trained) == 3  # Fig. 4's loss runs, with and without augmentation, and the scorer


def test_a_target_named_like_a_rule_is_named(tmp_path):
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    config["targets"] = {"train": {"experiment": "tiny", "show": "table"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake(tmp_path, "--cores", "1", "--dry-run")
    assert done.returncode != 0
    assert "targets.train: the name of one of the workflow's rules" in done.stdout + done.stderr


@pytest.mark.parametrize("extra", [[], ["--config", "mine=tests"]], ids=["demo", "mine"])
def test_lint_is_clean(extra):
    # "mine": the rules a `mine` section adds (the folder only has to exist for linting)
    done = subprocess.run(
        [*SNAKEMAKE, "--lint", "--directory", str(ROOT), *extra],
        capture_output=True,
        text=True,
        env=snakemake_env(PYTHONPATH=str(ROOT)),
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "Lints for" not in out, out[-3000:]


@pytest.mark.slow
def test_real_world_pairs_run_through_to_evaluation(tmp_path):
    """Paired LR/HR folders (LR not made by bicubic here) go through store, training, evaluation."""
    from skimage.transform import rescale

    from patchmine.datasets import skimage_images
    from patchmine.images import read_image, write_png

    def pair_up(names, folder):
        for im in skimage_images(names):
            hr = read_image(im.path)[:200, :240]
            # a "camera" LR: anti-aliased Gaussian + bilinear, unlike the MATLAB bicubic
            lr = rescale(hr, 0.5, order=1, channel_axis=2, anti_aliasing=True)
            write_png(folder / "HR" / f"{im.name}.png", hr)
            write_png(folder / "LR" / f"{im.name}_LR.png", (lr * 255).round().astype(np.uint8))

    for split, names in {
        "train": ["astronaut", "ihc", "retina"],
        "val": ["rocket"],
        "test": ["chelsea", "coffee"],
    }.items():
        pair_up(names, tmp_path / split)
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    del config["scorer"]
    config["datasets"] = {
        name: {
            "source": "pairs",
            "hr": str(tmp_path / split / "HR"),
            "lr": str(tmp_path / split / "LR"),
            "scale": 2,
            "lr_name": "{name}_LR",
        }
        for name, split in (("tiny_train", "train"), ("tiny_val", "val"), ("tiny_test", "test"))
    }
    config["experiments"]["tiny"].update(criteria=["grad", "rand"], augment=[True])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake(tmp_path, "--cores", "2")
    assert done.returncode == 0, done.stderr[-4000:]
    results = tmp_path / "results"
    lr_given = read_image(tmp_path / "test" / "LR" / "coffee_LR.png")
    np.testing.assert_array_equal(
        read_image(results / "data/tiny_test/LR_bicubic/X2/coffeex2.png"), lr_given
    )
    runs = pd.read_csv(results / "tables" / "tiny_runs.csv")
    assert sorted(runs.criterion) == ["grad", "rand"]
    assert runs.psnr.between(15, 45).all() and (runs.images == 2).all()


@pytest.mark.slow
def test_changing_one_value_reruns_only_the_runs_it_changes(tiny_run):
    workdir, config = tiny_run
    changed = dict(config)
    changed["experiments"] = {"tiny": {**config["experiments"]["tiny"], "k": [0.5, 0.25]}}
    # every entry's keys reversed: only values decide, not how the config file orders them
    for table in ("datasets", "models", "recipes"):
        changed[table] = {
            name: dict(reversed(list(entry.items()))) for name, entry in config[table].items()
        }
    changed["recipes"]["quick"]["checkpoint_every"] = 3  # how a run is saved, not what it learns
    (workdir / "changed.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    dry = snakemake(
        workdir, "--cores", "1", "--dry-run", "--configfile", str(workdir / "changed.yaml")
    )
    assert dry.returncode == 0, dry.stderr[-2000:]
    out = dry.stdout + dry.stderr
    trains = re.search(r"^train\s+(\d+)$", out, re.MULTILINE)
    # the new K gives 5 criteria x 2 augmentations = 10 new runs; the K=0.5 runs stay as they are
    assert trains and int(trains.group(1)) == 10, out[-3000:]
    assert "k0.5/" not in "".join(re.findall(r"output: (\S+model\.pt)", out))


def test_named_targets_build_only_what_they_need(tmp_path):
    shutil.copy(ROOT / "tests" / "data" / "tiny_config.yaml", tmp_path / "config.yaml")
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["targets"] = {"fig2": {"experiment": "tiny", "show": "histograms"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    dry = snakemake(tmp_path, "fig2", "--cores", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
    out = dry.stdout + dry.stderr
    trains = re.search(r"^train\s+(\d+)$", out, re.MULTILINE)
    assert trains and int(trains.group(1)) == 1  # only the scorer behind the loss histogram
    assert "evaluate" not in out


def test_fig7_correlation_of_the_x2_and_x3_scorers_runs(tmp_path):
    """Fig. 7a trains a scorer per scale on one store: its validation set needs x3 LR images
    even though no experiment is at x3 (once missing, and the x3 scorer failed)."""
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    config["experiments"]["tiny"].update(
        patch_size=48, strides=[48], criteria=["grad"], augment=[True]
    )
    config["targets"] = {
        "fig7a": {"experiment": "tiny", "show": "correlation", "tasks": ["sr_x2", "sr_x3"]}
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake(tmp_path, "fig7a", "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    figure = tmp_path / "results/figures/correlation/tiny_train_p48_s48_sr_x2_vs_sr_x3"
    assert figure.with_suffix(".png").stat().st_size > 0
    assert (tmp_path / "results/data/tiny_val/LR_bicubic/X3/rocketx3.png").is_file()
    rho = pd.read_csv(figure.with_suffix(".csv"))
    assert len(rho) > 0
    # the correlation reaches the comparisons with the paper: the experiment's and the whole one
    pages = ["results/tables/tiny_vs_paper.csv", "results/report/paper_vs_ours.csv"]
    done = snakemake(tmp_path, *pages, "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    for page in pages:
        fig7 = pd.read_csv(tmp_path / page).query("table == 'Fig7'").set_index("row")
        assert fig7.loc["SR x2 vs SR x3", "ours"] == pytest.approx(rho["value"].iloc[0])
        assert fig7.loc["SR x2 vs SR x3", "paper"] == 0.9876
        assert np.isnan(fig7.loc["SR x2 vs denoise sigma 25", "ours"])


@pytest.mark.slow
def test_a_denoising_only_grid_runs_through(tmp_path):
    """Fig. 9 on its own: sets used only for denoising are ingested without LR images (a
    config without any SR experiment once failed there)."""
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    config["experiments"] = {
        "dn": {
            "task": "denoise",
            "sigma": 25,
            "train": "tiny_train",
            "test": ["tiny_test", "tiny_val"],  # two test sets: Table IV's layout too
            "patch_size": 32,
            "strides": [64],
            "models": ["tiny"],
            "recipe": "quick",
            "criteria": ["grad", "rand"],
            "k": [0.5],
            "augment": [True],
        }
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = snakemake(tmp_path, "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    for table in ("dn", "dn_benchmarks"):  # every table of a denoising run says how it was scored
        title = (tmp_path / f"results/tables/{table}.md").read_text().splitlines()[0]
        assert "σ 25 denoising, RGB PSNR, no border shaved" in title, title
    vs_paper = (tmp_path / "results/tables/dn_vs_paper.md").read_text()
    assert "Denoising (dn): the paper publishes its denoising results (Fig. 9" in vs_paper
    runs = pd.read_csv(tmp_path / "results/tables/dn_runs.csv")
    assert sorted(runs.criterion) == ["grad", "grad", "rand", "rand"]
    assert (runs.task == "dn_s25").all()
    assert runs.psnr.between(10, 45).all()
    assert not (tmp_path / "results/data/tiny_test/LR_bicubic").exists()
