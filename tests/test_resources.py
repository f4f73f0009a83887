"""Cluster resources: derived from a job's work, grown on retry, GPUs only where a network runs."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import yaml
from conftest import snakemake_env

from patchmine import attempts, costs, input_sizes
from patchmine import resources as res
from patchmine.grid import scorer_model

ROOT = Path(__file__).resolve().parents[1]
BASELINE = {"arch": "edsr", "blocks": 16, "channels": 64}
SMALL = {"arch": "edsr", "blocks": 4, "channels": 24}
ATTEMPTS = range(1, 6)


class Files(list):
    """What a rule's ``input`` looks like to a resource function: a list with named entries."""

    def __init__(self, **named):
        super().__init__(named.values())
        self.__dict__.update(named)


def config(device="auto", iterations=1000, blocks=16, batch=16):
    return {
        "device": device,
        "models": {"m": {"arch": "edsr", "blocks": blocks, "channels": 64}},
        "recipes": {
            "r": {"iterations": iterations, "validation": "val", "batch_size": batch},
        },
        "scorer": {"model": "m", "recipe": "r"},
        "published_models": {"p": {"url": "https://x/m.pt", "model": "m", "task": "sr_x2"}},
    }


def wildcards(k="0.5", patch=96, model="m"):
    return SimpleNamespace(
        task="sr_x2",
        model=model,
        dataset="d",
        patch=str(patch),
        stride="120",
        criterion="grad",
        k=k,
        aug="aug",
        seed="0",
        recipe="r",
        testset="t",
        published="p",
    )


def job(rule, cfg, w=None, files=None, threads=1, attempt=1):
    w = w or wildcards()
    files = files if files is not None else Files(store="", validation="", test="")
    mem = res.job_mem_mb(rule, cfg)(w, files, threads, attempt)
    minutes = res.job_runtime(rule, cfg)(w, files, threads, attempt)
    return mem, minutes


@pytest.fixture
def store(tmp_path):
    """A patch store of 20,000 patches of 96 px (x2) and a manifest of two DIV2K-sized images."""
    path = tmp_path / "p96_s120.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("hr", (20_000, 96, 96, 3), np.uint8)
        f.create_dataset("lr_x2", (20_000, 48, 48, 3), np.uint8)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("name,height,width,source\na,1356,2040,x\nb,2040,1356,y\n")
    return Files(store=str(path), validation=str(manifest), test=str(manifest))


def test_grow_multiplies_by_the_growth_factor_per_attempt():
    assert [attempts.grow(100, a) for a in (1, 2, 3)] == [100, 150, 225]
    assert attempts.grow(1501, 1, step=100) == 1600
    with pytest.raises(ValueError):
        attempts.grow(100, 0)


@pytest.mark.parametrize("rule", [*res.GPU_RULES, *res.CPU_RULES])
def test_every_rule_asks_for_more_on_every_retry(rule, store):
    asked = [job(rule, config(), files=store, attempt=a) for a in ATTEMPTS]
    pairs = zip(asked, asked[1:], strict=False)
    for attempt, ((mem, minutes), (mem2, minutes2)) in enumerate(pairs, start=2):
        assert minutes2 > minutes
        assert mem2 > mem if attempt <= attempts.MEMORY_GROWTH_ATTEMPTS else mem2 == mem
    assert all(m >= costs.MIN_RUNTIME for _, m in asked)
    assert asked[2][0] >= 2 * asked[0][0] - 100  # x2.25 by the third attempt, rounded to 100 MB


@pytest.mark.parametrize("rule", ["train", "evaluate", "patch_store"])
def test_memory_stops_growing_at_the_third_attempt_while_time_keeps_growing(rule, store):
    """A training run cut off by the partition's time limit again and again spends an attempt
    each time: its memory must not grow past what a node has (x1.5 per attempt would ask 38x the
    estimate at attempt 10)."""
    asked = [job(rule, config(), files=store, attempt=a) for a in range(1, 11)]
    third = asked[attempts.MEMORY_GROWTH_ATTEMPTS - 1][0]
    assert [mem for mem, _ in asked[2:]] == [third] * 8
    assert third <= 2.25 * asked[0][0] + 100
    assert all(b[1] > a[1] for a, b in zip(asked, asked[1:], strict=False))
    with pytest.raises(ValueError):
        attempts.grow_memory(1000, 0)


def test_gpu_only_unless_the_config_runs_on_the_cpu():
    assert res.gpus("cpu") == 0
    assert res.gpus("auto") == res.gpus("cuda") == res.gpus("cuda:1") == 1


def _plugin_gpus(**resources) -> str:
    """What the installed SLURM plugin asks sbatch for, given a job's resources."""
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Given(dict):
        def __getattr__(self, name):
            return self[name]

    return set_gres_string(SimpleNamespace(resources=Given(resources))).strip()


def test_a_gpu_model_the_plugin_would_misread_is_refused_where_it_is_set():
    """The plugin asks for ``--gpus=<model>:<gpu>``, one GPU where a job names none: a model in
    default-resources puts a GPU on every download, and one on a CPU-only config asks for zero."""
    from patchmine.config import ConfigError

    assert _plugin_gpus(gpu=0, gpu_model="a100") == "--gpus=a100:0"
    assert _plugin_gpus(mem_mb=300, gpu_model="a100") == "--gpus=a100:1"  # an ingest job
    on_train = {"train": {"gpu_model": "a100", "slurm_partition": "gpu"}, "ingest": {"mem_mb": 9}}
    with pytest.raises(ConfigError, match=r"device is 'cpu', but set-resources gives train a"):
        res.check_gpu_model("cpu", on_train, None)
    with pytest.raises(ConfigError, match=r"in default-resources: .* every job"):
        res.check_gpu_model("cuda", {}, {"gpu_model": "h100", "runtime": 30})
    res.check_gpu_model("cuda", on_train, {"runtime": 30})  # the profile's own example
    res.check_gpu_model("auto", on_train, None)
    res.check_gpu_model("cpu", {"ingest": {"mem_mb": 9}}, None)


def test_a_gpu_model_on_a_rule_without_a_network_is_refused_and_old_snakemakes_are_read():
    """select runs no network, yet the plugin would give each of its jobs a GPU. Snakemake
    before 9.16.3 hands default-resources over as an object with a ``parsed`` dict that
    supports neither ``in`` nor iteration: its names are read from there."""
    from patchmine.config import ConfigError

    class OldDefaultResources:  # the shape of snakemake.resources.DefaultResources (9.0-9.16.0)
        def __init__(self, parsed):
            self.parsed = parsed

    assert _plugin_gpus(mem_mb=300, gpu_model="a100") == "--gpus=a100:1"
    with pytest.raises(ConfigError, match=r"gives select a gpu_model, but no network runs there"):
        res.check_gpu_model("cuda", {"select": {"gpu_model": "a100"}}, None)
    with pytest.raises(ConfigError, match="in default-resources"):
        res.check_gpu_model("cuda", {}, OldDefaultResources({"gpu_model": "a100", "mem_mb": 1}))
    res.check_gpu_model("cuda", {}, OldDefaultResources({"mem_mb": 1000, "runtime": 30}))


def test_a_cpu_config_with_a_gpu_model_stops_the_plan(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
        + ["--directory", str(tmp_path), "-n", "--cores", "1", "--configfile"]
        + [str(ROOT / "tests/data/tiny_config.yaml"), "--config", "device=cpu"]
        + ["--set-resources", "evaluate:gpu_model=a100"],
        capture_output=True,
        text=True,
        timeout=300,
        env=snakemake_env(),
    )
    assert done.returncode != 0
    assert "set-resources gives evaluate a gpu_model" in done.stderr + done.stdout


def test_bigger_models_take_longer_and_more_memory_on_the_cpu():
    assert costs.model_macs(BASELINE, 2) == pytest.approx(1.37e6, rel=0.01)  # ~ its parameters
    assert costs.model_macs(SMALL, 2) < costs.model_macs(BASELINE, 2)
    args = dict(scale=2, patch=96, batch=16)
    for on_gpu in (True, False):
        small = costs.train_runtime(
            SMALL, **args, iterations=300_000, val_every=1000, val_lr_pixels=7e6, on_gpu=on_gpu
        )
        big = costs.train_runtime(
            BASELINE, **args, iterations=300_000, val_every=1000, val_lr_pixels=7e6, on_gpu=on_gpu
        )
        assert big > small
    val = dict(n_patches=10_000, max_val_lr_pixels=7e5, val_mb=100.0, on_gpu=False)
    small = costs.train_mem_mb(SMALL, **args, **val)
    big = costs.train_mem_mb(BASELINE, **args, **val)
    assert big > small
    # and through the rules: 128 blocks (Table III's largest EDSR) vs 16
    assert job("train", config(blocks=128))[1] > job("train", config(blocks=16))[1]


def test_more_patches_take_more_memory_more_iterations_take_longer(store):
    mems = [job("train", config(), wildcards(k=k), store)[0] for k in ("10", "10000", "all")]
    assert mems[0] < mems[1] < mems[2]
    # a fraction of the store counts the store's patches once it exists
    assert (
        job("train", config(), wildcards(k="0.5"), store)[0]
        == job("train", config(), wildcards(k="10000"), store)[0]
    )
    # with no store yet, the planning stand-in is a DIV2K-sized store: more than 20,000 patches
    assert job("train", config(), wildcards(k="all"))[0] > mems[2]
    times = [job("train", config(iterations=i), files=store)[1] for i in (1000, 100_000, 300_000)]
    assert times[0] <= times[1] < times[2]


def test_paper_scale_training_is_hours_on_a_gpu_and_fits_its_patches_in_memory():
    n = 150_000  # K = 150K of DIV2K's 151,300 patches of 96 px
    minutes = costs.train_runtime(
        BASELINE, 2, 96, 16, 300_000, 1000, 10 * 2040 * 1356 / 4, on_gpu=True
    )
    assert 6 * 60 < minutes < 48 * 60
    mem = costs.train_mem_mb(BASELINE, 2, 96, 16, n, 1020 * 678, val_mb=300.0, on_gpu=True)
    assert mem > n * costs.patch_bytes(96, 2) / costs.MB  # the patches themselves, 5 GB
    assert mem < 32_000


def test_cpu_only_runs_plan_for_cpu_memory(store):
    gpu, _ = job("train", config(device="cuda"), files=store)
    cpu, _ = job("train", config(device="cpu"), files=store)
    auto, _ = job("train", config(device="auto"), files=store)
    assert auto == max(gpu, cpu)


def test_runtime_cap_from_the_environment(monkeypatch):
    monkeypatch.setenv(attempts.MAX_RUNTIME_ENV, "120")
    assert job("train", config(blocks=128, iterations=300_000))[1] == 120
    monkeypatch.setenv(attempts.MAX_RUNTIME_ENV, "two days")
    with pytest.raises(ValueError, match="minutes"):
        job("train", config())


def test_a_cap_that_needs_more_attempts_than_the_profile_gives_is_said_once(monkeypatch, caplog):
    monkeypatch.setattr(attempts, "_WARNED", set())
    big = config(blocks=128, iterations=300_000)
    planned = job("train", big)[1]  # uncapped
    monkeypatch.setenv(attempts.MAX_RUNTIME_ENV, "60")
    with caplog.at_level("WARNING", logger="patchmine.attempts"):
        job("train", big)
        job("train", big)
        job("train", config())  # fits in 3 x 60 min: no word
    [record] = caplog.records
    needed = math.ceil(planned / 60)
    assert f"planned at {planned} min" in record.getMessage()
    assert f"raise --retries to {needed - 1}" in record.getMessage()


def test_the_cap_is_said_on_a_first_attempt_only(monkeypatch, caplog):
    """A retry asks for 1.5 times its first attempt's time: a job planned within the cap whose
    retry goes past it was not cut off by the cap, so nothing is said then; its request is still
    capped."""
    monkeypatch.setattr(attempts, "_WARNED", set())
    monkeypatch.setenv(attempts.MAX_RUNTIME_ENV, "60")
    with caplog.at_level("WARNING", logger="patchmine.attempts"):
        assert attempts.capped_runtime("patch_store", 90, attempt=2) == 60
        assert caplog.records == []
        assert attempts.capped_runtime("patch_store", 61, attempt=1) == 60
    [record] = caplog.records
    assert "a patch_store job is planned at 61 min" in record.getMessage()
    monkeypatch.delenv(attempts.MAX_RUNTIME_ENV)
    assert attempts.capped_runtime("patch_store", 90, attempt=2) == 90


def test_cpus_follow_threads():
    assert res.job_cpus(None, 4) == 4
    assert res.job_cpus(None, 0) == 1


def test_k_patches():
    assert input_sizes.k_patches("all", 1000) == 1000
    assert input_sizes.k_patches("0.25", 1000) == 250
    assert input_sizes.k_patches("5000", 1000) == 1000
    assert input_sizes.k_patches("5000", None) == 5000
    assert input_sizes.k_patches("0.5", None) == round(0.5 * input_sizes.DEFAULT_PATCHES)


def _rule_blocks():
    """{rule: its text} for every rule in rules/*.smk."""
    blocks = {}
    for path in sorted((ROOT / "rules").glob("*.smk")):
        text = path.read_text()
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
            blocks[match[1]] = match[2]
    return blocks


def test_only_network_rules_declare_a_gpu_and_none_names_a_partition():
    blocks = _rule_blocks()
    assert set(res.GPU_RULES) <= set(blocks)
    for rule, text in blocks.items():
        has_gpu = re.search(r"^\s+gpu\s*=", text, re.M) is not None
        assert has_gpu == (rule in res.GPU_RULES), rule
        for name in ("slurm_partition", "slurm_account", "gpu_model", "gres", "constraint"):
            assert not re.search(rf"^\s+{name}\s*=", text, re.M), f"{rule} sets {name}"


def test_rules_with_resources_use_this_module():
    blocks = _rule_blocks()
    for rule in [*res.GPU_RULES, *res.CPU_RULES]:
        if rule not in blocks or "resources:" not in blocks[rule]:
            continue
        assert f'job_mem_mb("{rule}", config)' in blocks[rule], rule
        assert f'job_runtime("{rule}", config)' in blocks[rule], rule


def _dry_run(tmp_path, *args, env=None):
    """The tiny config's jobs, with a published model evaluated too, and what each asks for."""
    done = _snakemake_dry_run(tmp_path, *args, env=env)
    jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", done.stdout, re.M)
    assert jobs, done.stdout[-3000:]
    return [(rule, dict(kv.split("=", 1) for kv in line.split(", "))) for rule, line in jobs]


def _snakemake_dry_run(tmp_path, *args, env=None) -> subprocess.CompletedProcess:
    config = yaml.safe_load((ROOT / "tests/data/tiny_config.yaml").read_text())
    config["published_models"] = {
        "theirs": {"url": str(tmp_path / "theirs_x2.pt"), "model": "tiny", "task": "sr_x2"}
    }
    config["experiments"]["tiny"]["published_models"] = ["theirs"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "-n",
            "--cores",
            "2",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=snakemake_env(env),
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return done


def test_slurm_profile_asks_gpus_for_network_jobs_only(tmp_path):
    jobs = _dry_run(tmp_path, "--profile", str(ROOT / "profiles" / "slurm"))
    for rule, asked in jobs:
        assert (int(asked.get("gpu", 0)) == 1) == (rule in res.GPU_RULES), rule
        assert "slurm_account" not in asked  # the plugin looks up the user's default account
        assert "slurm_partition" not in asked  # the cluster's default partition
        assert int(asked["runtime"]) >= costs.MIN_RUNTIME and int(asked["mem_mb"]) >= costs.BASE_MB
        assert int(asked["cpus_per_task"]) >= 1
    assert {rule for rule, _ in jobs} >= {"train", "evaluate", "score_loss", "patch_store"}
    train = [a for rule, a in jobs if rule == "train"]
    assert all(int(a["mem_mb"]) > 2000 for a in train)  # the rule's own, not the profile's


def test_a_cpu_config_asks_for_no_gpu(tmp_path):
    assert all(int(a.get("gpu", 0)) == 0 for _, a in _dry_run(tmp_path, "--config", "device=cpu"))


def test_local_profile_on_a_machine_without_gpus(tmp_path):
    """`--profile profiles/local --resources gpu=$(python -m patchmine.gpus count)` with 0 GPUs:
    the cap lowers every job's gpu to 0, so network jobs run (on the CPU) instead of waiting."""
    profile = ["--profile", str(ROOT / "profiles" / "local"), "--resources", "gpu=0"]
    jobs = _dry_run(tmp_path, *profile)
    assert {rule for rule, _ in jobs} >= set(res.GPU_RULES)
    assert all(int(a.get("gpu", 0)) == 0 for _, a in jobs)


# ---------------------------------------------------------------------------------------------
# The runtime cap's warning: the attempts the running Snakemake gives, and which rules resume


def _cap_warnings(output: str) -> dict[str, str]:
    """{rule: its warning} of the runtime cap in a Snakemake run's output."""
    found = re.findall(rf"^a (\w+) job is planned at .*{attempts.MAX_RUNTIME_ENV}.*$", output, re.M)
    lines = re.findall(rf"^a \w+ job is planned at .*{attempts.MAX_RUNTIME_ENV}.*$", output, re.M)
    return dict(zip(found, lines, strict=True))


@pytest.mark.parametrize("retries", [0, 1])
def test_the_cap_warning_counts_the_retries_snakemake_is_run_with(tmp_path, retries):
    """Every tiny job is planned at MIN_RUNTIME (10 min); capped at 5, training needs 2 attempts
    (it resumes) and every other submitted job is cut off on each of its attempts."""
    env = dict(os.environ, **{attempts.MAX_RUNTIME_ENV: "5"})
    profile = ["--profile", str(ROOT / "profiles" / "slurm"), "--retries", str(retries)]
    done = _snakemake_dry_run(tmp_path, *profile, env=env)
    said = _cap_warnings(done.stdout + done.stderr)
    given = retries + 1  # the profile's retries: 2 is overridden by --retries
    if retries == 0:
        assert "Snakemake gives it 1 (--retries 0); raise --retries to 1" in said["train"]
    else:
        assert "train" not in said  # 2 attempts needed, 2 given
    for rule in ("patch_store", "score_rand", "select", "ingest"):
        assert f"cut off on every attempt ({given}), each restarting from zero" in said[rule]
        assert "raise --retries" not in said[rule] and "partition" in said[rule]
    assert "download" not in said  # a localrule runs on the login node: no time limit there


def test_the_cap_warning_without_a_running_workflow_assumes_the_profile(monkeypatch, caplog):
    monkeypatch.setattr(attempts, "_WARNED", set())
    monkeypatch.setattr(attempts, "_WORKFLOW", None)
    with caplog.at_level("WARNING", logger="patchmine.attempts"):
        attempts._warn_if_capped_too_often("train", 4 * 60, 60)  # 4 attempts > the profile's 3
        attempts._warn_if_capped_too_often("patch_store", 61, 60)
        attempts._warn_if_capped_too_often("score_rand", 60, 60)  # fits: no word
    train, store = (r.getMessage() for r in caplog.records)
    assert "gives it 3 (--retries 2); raise --retries to 3" in train
    assert "patch_store job" in store and "each restarting from zero" in store


def test_the_cap_warning_reads_each_rules_retries_and_is_silent_in_a_jobs_own_snakemake(
    monkeypatch, caplog
):
    """A rule's own ``retries:`` wins over --retries; a job's Snakemake on a node always has
    --retries 0 and must not warn; neither must jobs Snakemake runs locally."""
    rules = {"train": SimpleNamespace(restart_times=9), "select": SimpleNamespace(restart_times=0)}
    workflow = SimpleNamespace(
        is_main_process=True,
        execution_settings=SimpleNamespace(retries=0),
        get_rule=rules.__getitem__,
        _localrules={"download"},
    )
    monkeypatch.setattr(attempts, "_WARNED", set())
    monkeypatch.setattr(attempts, "_WORKFLOW", workflow)
    assert attempts.allowed_attempts("train") == 10
    assert attempts.allowed_attempts("no_such_rule") == 1  # --retries
    with caplog.at_level("WARNING", logger="patchmine.attempts"):
        attempts._warn_if_capped_too_often("train", 10 * 60, 60)  # 10 attempts, 10 given
        attempts._warn_if_capped_too_often("download", 120, 60)  # on the login node
        workflow.is_main_process = False
        attempts._warn_if_capped_too_often("select", 120, 60)
    assert not caplog.records


# ---------------------------------------------------------------------------------------------
# score_loss: the network the rule runs


GREY_DNCNN = {"arch": "dncnn", "channels": 64, "layers": 17, "image_channels": 1}


def counted_macs(spec: dict, scale: int, task: str, height: int = 24, width: int = 20) -> float:
    """MACs per input pixel of the real network on an RGB image, counted conv by conv."""
    import torch

    from patchmine.models import build_model

    net = build_model(spec, scale, task).eval()
    macs = [0]

    def count(conv, _, out):
        macs[0] += out.numel() * conv.in_channels // conv.groups * math.prod(conv.kernel_size)

    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(count)
    with torch.no_grad():
        net(torch.rand(1, 3, height, width) * 255)
    return macs[0] / (height * width)


@pytest.mark.parametrize(
    "spec, scale, task",
    [
        (GREY_DNCNN, 1, "denoise"),  # 3 passes of the grey net
        ({**GREY_DNCNN, "image_channels": 3}, 1, "denoise"),
        (BASELINE, 2, "sr"),
    ],
)
def test_model_macs_counts_every_conv_the_network_runs(spec, scale, task):
    assert costs.model_macs(spec, scale) == pytest.approx(counted_macs(spec, scale, task), rel=1e-4)


def test_score_loss_is_sized_for_the_network_the_rule_runs(store):
    """configs/paper.yaml's dn_s25 scorer: KAIR's grey DnCNN, not the trained scorer's EDSR."""
    cfg = config(device="cpu")
    cfg["models"]["grey"] = GREY_DNCNN
    cfg["scorer"]["weights"] = {"dn_s25": {"url": "https://x/dncnn_25.pth", "model": "grey"}}
    # grid.scorer_model is also what rule score_loss builds (rules/scoring.smk)
    assert scorer_model(cfg, "dn_s25") == "grey"
    assert scorer_model(cfg, "sr_x2") == cfg["scorer"]["model"]
    w = wildcards()
    w.task = "dn_s25"
    mem, minutes = job("score_loss", cfg, w, store)
    # by hand: the store's 20,000 patches of 96 px, one forward pass (2 FLOPs a MAC) each
    seconds = 2 * counted_macs(GREY_DNCNN, 1, "denoise") * 20_000 * 96**2 / costs.CPU_FLOPS
    assert minutes == math.ceil(costs.STARTUP + costs.SAFETY * seconds / 60)
    # a batch of 64 colour patches is 192 grey ones through 6 maps of 64 channels, float32
    maps_mb = 4 * 3 * 64 * 96**2 * 64 * 6 / costs.MB
    assert mem == math.ceil((costs.BASE_MB + costs.SAFETY * maps_mb) / 100) * 100


# ---------------------------------------------------------------------------------------------
# Training memory: the validation set


def test_the_validation_estimate_is_what_training_loads(tmp_path):
    """An ingested set (as rule ingest writes it), loaded as scripts/train.py loads it."""
    from patchmine.datasets import ingest, skimage_images
    from patchmine.evaluate import task_pairs
    from patchmine.tasks import Task

    ingest(skimage_images(["astronaut", "chelsea"]), tmp_path, [2])  # 512x512, 300x451
    for name in ("sr_x2", "dn_s25"):
        task = Task.parse(name)
        held = sum(a.nbytes for _, hr, lr in task_pairs(tmp_path, task) for a in (hr, lr))
        total, _ = input_sizes.manifest_pixels(tmp_path / "manifest.csv", task.scale)
        estimate = costs.validation_mb(total, task.scale, denoise=task.kind == "denoise") * costs.MB
        assert held <= estimate <= 1.01 * held, name  # modcrop's odd column aside


@pytest.mark.parametrize(
    "task, per_image",
    [("sr_x2", 3 * (1024**2 + 512**2)), ("dn_s25", 3 * 1024**2 * (1 + 4))],
)
def test_training_memory_holds_the_validation_set(tmp_path, task, per_image):
    """100 validation images of 1024² instead of 1: 99 more held as uint8 HR and LR (SR), or as
    uint8 clean and float32 noisy copies (denoising)."""
    w = wildcards()
    w.task = task
    asked = []
    for n in (1, 100):
        manifest = tmp_path / f"manifest_{n}.csv"
        rows = "".join(f"i{i},1024,1024,x\n" for i in range(n))
        manifest.write_text("name,height,width,source\n" + rows)
        files = Files(store="", validation=str(manifest), test="")
        asked.append(job("train", config(device="cuda"), w, files)[0])
    assert asked[1] - asked[0] == pytest.approx(costs.SAFETY * 99 * per_image / costs.MB, abs=100)


@pytest.mark.parametrize(
    "spec",
    [
        {"arch": "edsr", "blocks": 4, "channels": 8},
        {"arch": "oisr_rk2_s", "blocks": 3, "channels": 8},
        {"arch": "dncnn", "channels": 8, "layers": 5},
    ],
)
def test_saved_maps_bound_what_a_training_forward_keeps(spec):
    """Measured with autograd's saved-tensor hooks: every activation a forward keeps for the
    backward pass, in units of one ``channels`` x LR-pixels float32 map."""
    import torch

    from patchmine.models import build_model

    scale, side = (1, 12) if spec["arch"] == "dncnn" else (2, 12)
    model = build_model(spec, scale, "denoise" if spec["arch"] == "dncnn" else "sr")
    params = {p.data_ptr() for p in model.parameters()}
    kept: dict[int, int] = {}

    def pack(tensor):
        if tensor.data_ptr() not in params:
            kept[tensor.data_ptr()] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(torch.rand(1, 3, side, side) * 255)
    measured = sum(kept.values()) / (4 * spec["channels"] * side * side)
    assert measured <= costs.saved_maps(spec, scale) <= 2.5 * measured  # safe, not wasteful


def test_cpu_jobs_ask_memory_per_worker():
    """RE1: ingest decodes one image per worker (500 MB each beyond the 1500 MB base)."""
    assert res.cpu_mem_mb("ingest", 1) == 2000
    assert res.cpu_mem_mb("ingest", 8) == 5500
    assert res.cpu_mem_mb("patch_store", 4) == 1500 + 4 * 300


def test_a_patch_is_three_bytes_a_pixel_of_hr_and_lr():
    """RE2: uint8 RGB: a 96-px HR patch and its 48-px x2 LR take 3 * (9216 + 2304) bytes."""
    assert costs.patch_bytes(96, 2) == 34_560
    assert costs.patch_bytes(96, 3) == 30_720
    # paper scale: 150,000 such patches are 4.9 GB, times the 1.5 safety margin
    mem = costs.train_mem_mb({"arch": "edsr", "blocks": 16, "channels": 64}, 2, 96, 16, 150_000,
                           1e6, val_mb=0.0, on_gpu=True)  # fmt: skip
    assert mem >= 1.5 * 150_000 * 34_560 / 2**20


def test_image_jobs_grow_their_memory_with_the_largest_image(monkeypatch):
    """A 20,000 x 20,000 photograph took 3.3 GB in one store worker: a job sized for DIV2K
    (300 MB a worker) would be killed by SLURM without a word about which image did it. The
    plan notes each folder dataset's largest image from the headers it checks."""
    monkeypatch.setattr(input_sizes, "_LARGEST_IMAGE", {})
    base = job("patch_store", config(), threads=2)[0]
    assert base == res.cpu_mem_mb("patch_store", 2)  # nothing noted (a download): 300 MB a worker
    input_sizes.note_largest_image("d", 2040 * 1356)  # DIV2K-sized: the usual
    assert job("patch_store", config(), threads=2)[0] == base
    input_sizes.note_largest_image("d", 20_000 * 20_000)
    mem = job("patch_store", config(), threads=2)[0]
    assert mem >= costs.BASE_MB + 2 * 3.3 * 1024 * 0.95
    assert job("ingest", config())[0] > res.cpu_mem_mb("ingest", 1)
    assert job("select", config())[0] == res.cpu_mem_mb("select", 1)
    input_sizes.note_largest_image("other", 20_000 * 20_000)
    monkeypatch.setattr(input_sizes, "_LARGEST_IMAGE", {"other": 20_000 * 20_000})
    assert job("patch_store", config(), threads=2)[0] == base  # another dataset's image


def test_the_reference_job_holds_its_whole_test_set(tmp_path):
    """A denoising test set of DIV2K-valid's size (100 images of 2.8 megapixels, float32 noisy
    copies) needs about 4 GB: the fixed 2.5 GB of a light job would not do."""
    manifest = tmp_path / "manifest.csv"
    rows = "".join(f"i{n},1356,2040,x\n" for n in range(100))
    manifest.write_text("name,height,width,source\n" + rows)
    files = Files(store="", validation="", test=str(manifest))
    w = SimpleNamespace(task="dn_s25", testset="t")
    denoise = res.job_mem_mb("reference", config())(w, files, 1, 1)
    held = 100 * 1356 * 2040 * 15 / costs.MB  # clean uint8 + noisy float32, three channels
    assert denoise >= costs.BASE_MB + held
    w = SimpleNamespace(task="sr_x2", testset="t")
    sr = res.job_mem_mb("reference", config())(w, files, 1, 1)
    assert res.cpu_mem_mb("reference", 1) <= sr < denoise
    w = SimpleNamespace(task="dn_s25", testset="t")
    retried = [res.job_mem_mb("reference", config())(w, files, 1, a) for a in (1, 2, 3)]
    assert retried[0] < retried[1] < retried[2] <= 2.25 * retried[0] + 100
    one = tmp_path / "one.csv"  # one huge image: its uint8 output is held beside the input
    one.write_text("name,height,width,source\nbig,20000,20000,x\n")
    w = SimpleNamespace(task="sr_x2", testset="t")
    big = res.job_mem_mb("reference", config())(
        w, Files(store="", validation="", test=str(one)), 1, 1
    )
    lr = 20_000 * 20_000 / 4
    assert big >= costs.BASE_MB + costs.SAFETY * (lr * 3 * 5 + 3 * 20_000 * 20_000) / costs.MB
