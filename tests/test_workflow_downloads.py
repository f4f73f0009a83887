"""DIV2K and the benchmark sets fetched over HTTP (a loopback server), then the whole workflow."""

import hashlib
import io
import re
import shutil
import tarfile
import zipfile

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import BENCHMARK
from httpserver import LocalServer
from test_workflow import ROOT, snakemake

from patchmine.datasets import skimage_images
from patchmine.degrade import bicubic_lr
from patchmine.images import read_image, write_png


def _png_bytes(image) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _benchmark_tar(tmp_path) -> bytes:
    """benchmark/Set5 from ../shared when present, else a synthetic set in the same layout."""
    root = tmp_path / "bench_src" / "benchmark"
    if (BENCHMARK / "Set5").is_dir():
        shutil.copytree(BENCHMARK / "Set5", root / "Set5")
    else:
        for im in skimage_images(["chelsea", "coffee"]):
            hr = read_image(im.path)[:120, :160]
            write_png(root / "Set5" / "HR" / f"{im.name}.png", hr)
            write_png(root / "Set5" / "LR_bicubic" / "X2" / f"{im.name}x2.png", bicubic_lr(hr, 2))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        tf.add(root, arcname="benchmark")
    return buffer.getvalue()


def _published_weights() -> bytes:
    """A plain state dict in EDSR's published layout (as edsr_baseline_x2-*.pt is)."""
    import torch

    from patchmine.models import build_model

    torch.manual_seed(0)
    model = build_model({"arch": "edsr", "blocks": 1, "channels": 8}, scale=2, task="sr")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


#: Parameters of EDSR with 1 block of 8 channels at x2: head, block, body end, upsampler, tail.
_PARAMS = sum(
    n_in * 9 * n_out + n_out for n_in, n_out in ((3, 8), (8, 8), (8, 8), (8, 8), (8, 32), (8, 3))
)


def _evaluate_directly(weights, root):
    """Set5 scored in this process: the HR/LR files as ingested, the weights as downloaded."""
    from patchmine.evaluate import evaluate, task_pairs
    from patchmine.tasks import Task
    from patchmine.train import load_model

    task = Task.parse("sr_x2")
    model = load_model(weights, {"arch": "edsr", "blocks": 1, "channels": 8}, task, "cpu")
    return evaluate(model, task, task_pairs(root / "results" / "data" / "set5", task), "cpu")


@pytest.mark.slow
def test_downloaded_div2k_and_benchmark_run_end_to_end(tmp_path):
    photos = skimage_images(["astronaut", "ihc", "retina", "rocket"])
    hr = {
        f"{i:04d}": read_image(p.path)[:192, :256]
        for i, p in zip((1, 2, 3, 801), photos, strict=True)
    }
    train_hr = _zip(
        {f"DIV2K_train_HR/{n}.png": _png_bytes(im) for n, im in hr.items() if n < "0800"}
    )
    train_lr = _zip(
        {
            f"DIV2K_train_LR_bicubic/X2/{n}x2.png": _png_bytes(bicubic_lr(im, 2))
            for n, im in hr.items()
            if n < "0800"
        }
    )
    valid_hr = _zip({"DIV2K_valid_HR/0801.png": _png_bytes(hr["0801"])})
    weights = _published_weights()

    with LocalServer(lifetime=600) as server:
        server.serve("/div2k/DIV2K_train_HR.zip", train_hr, cut_after=len(train_hr) // 2)
        server.serve("/div2k/DIV2K_train_LR_bicubic_X2.zip", train_lr)
        server.serve("/div2k/DIV2K_valid_HR.zip", valid_hr, fail_first=1)
        server.serve("/edsr/benchmark.tar", _benchmark_tar(tmp_path))
        server.serve("/edsr/models/edsr_baseline_x2-1bc95232.pt", weights)
        config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
        config["data_dir"] = "data"
        published = {
            "url": server.url("/edsr/models/edsr_baseline_x2-1bc95232.pt"),
            "sha256": hashlib.sha256(weights).hexdigest(),
            "model": "tiny",
        }
        config["scorer"]["weights"] = {"sr_x2": published}
        # the same file, evaluated as a published model beside the runs (Table IV's "Baseline")
        config["published_models"] = {"theirs": {**published, "task": "sr_x2"}}
        div2k = {"source": "div2k", "download": True, "url": server.url("/div2k/")}
        config["datasets"] = {
            "tiny_train": {
                **div2k,
                "split": "train",
                "first": 1,
                "last": 3,
                "official_lr": [2],
                "sha256": {"DIV2K_train_HR.zip": hashlib.sha256(train_hr).hexdigest()},
            },
            "tiny_val": {**div2k, "split": "valid", "first": 801, "last": 801},
            "set5": {
                "source": "benchmark",
                "set": "Set5",
                "download": True,
                "url": server.url("/edsr/benchmark.tar"),
            },
        }
        config["experiments"]["tiny"].update(
            test=["set5"], criteria=["grad", "loss"], augment=[True], published_models=["theirs"]
        )
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        done = snakemake(tmp_path, "--cores", "2")
        assert done.returncode == 0, done.stderr[-4000:]
        resumed = server.requests_for("/div2k/DIV2K_train_HR.zip")

    assert len(resumed) == 2 and resumed[1].range and resumed[1].range.startswith("bytes=")
    archives = tmp_path / "data" / "archives"
    assert (archives / "DIV2K_train_HR.zip").read_bytes() == train_hr
    assert not list(archives.glob("*.part"))
    # the official LR files are used as given, not recomputed: the store's LR patches are crops
    given = read_image(tmp_path / "data/DIV2K_train_LR_bicubic/X2/0002x2.png")
    with h5py.File(tmp_path / "results/patches/tiny_train/p32_s64.h5", "r") as f:
        first = int(np.flatnonzero(f["image_id"][:] == 1)[0])
        y, x = int(f["y"][first]) // 2, int(f["x"][first]) // 2
        np.testing.assert_array_equal(f["lr_x2"][first], given[y : y + 16, x : x + 16])
    runs = pd.read_csv(tmp_path / "results" / "tables" / "tiny_runs.csv")
    assert list(runs.test_set) == ["set5", "set5"] and runs.psnr.between(15, 45).all()
    # the loss criterion was scored by the published weights: no scorer was trained
    assert (archives / "edsr_baseline_x2-1bc95232.pt").read_bytes() == weights
    assert not list((tmp_path / "results" / "runs").glob("**/all/kall"))
    log = (tmp_path / "results/logs/download/DIV2K_train_HR.zip.log").read_text()
    assert "100%" in log
    # the published model, fetched once for both uses, scored like a run on every test set
    assert len(server.requests_for("/edsr/models/edsr_baseline_x2-1bc95232.pt")) == 1
    theirs = pd.read_csv(tmp_path / "results" / "tables" / "tiny_published.csv")
    assert list(theirs.published) == ["theirs"] and list(theirs.test_set) == ["set5"]
    assert (theirs.weights == "published").all() and (theirs.params == _PARAMS).all()
    direct = _evaluate_directly(archives / "edsr_baseline_x2-1bc95232.pt", tmp_path)
    assert theirs.psnr[0] == pytest.approx(direct.psnr.mean(), abs=1e-6)  # per image: %.6f
    assert theirs.ssim[0] == pytest.approx(direct.ssim.mean(), abs=1e-6)

    # A mirror and a checksum given after the fact re-fetch nothing and re-run nothing
    valid = config["datasets"]["tiny_val"]
    valid["url"] = "http://mirror.invalid/div2k/"
    valid["sha256"] = {"DIV2K_valid_HR.zip": hashlib.sha256(valid_hr).hexdigest()}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    again = snakemake(tmp_path, "-n")
    assert again.returncode == 0, again.stderr[-2000:]
    jobs = set(re.findall(r"^(\w+)\s+\d+$", again.stdout, re.M)) - {"total"}
    assert jobs == {"config_page", "dataset_page", "all"}, again.stdout  # pages showing the config
    # and an archive fetched again (here forced) is not a reason to rebuild what was made of it
    forced = snakemake(tmp_path, "-n", "--forcerun", "download")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert re.search(r"download\s+5", forced.stdout), forced.stdout
    rebuilt = r"^(extract|ingest|patch_store|train|evaluate|evaluate_published)\s"
    assert not re.search(rebuilt, forced.stdout, re.M), forced.stdout


def test_a_wrong_checksum_is_downloaded_once_not_once_per_retry(tmp_path):
    """The rule's retries are for the network: a file whose SHA-256 came out wrong is not
    fetched again by the next attempt of the same run (archives are gigabytes)."""
    body = b"not the weights the config expects" * 1000
    wrong = hashlib.sha256(b"the real weights").hexdigest()
    with LocalServer(lifetime=120) as server:
        url = server.serve("/edsr/models/edsr_x2.pt", body)
        config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
        config["data_dir"] = "data"
        config["published_models"] = {
            "theirs": {"url": url, "sha256": wrong, "model": "tiny", "task": "sr_x2"}
        }
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        done = snakemake(tmp_path, "--cores", "1", "data/archives/edsr_x2.pt")
        requests = server.requests_for("/edsr/models/edsr_x2.pt")
    assert done.returncode != 0
    assert done.stderr.count("Trying to restart job") == 2  # the rule's three attempts ran
    assert len(requests) == 1
    log = (tmp_path / "results" / "logs" / "download" / "edsr_x2.pt.log").read_text()
    assert wrong in log and hashlib.sha256(body).hexdigest() in log and "previous attempt" in log
    assert not (tmp_path / "data" / "archives" / "edsr_x2.pt").exists()
