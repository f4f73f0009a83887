"""The public datasets the paper uses: archive names, addresses and the layout inside them.

DIV2K (Agustsson & Timofte, 2017) is served as one zip per split and kind::

    DIV2K_train_HR.zip               -> DIV2K_train_HR/0001.png … 0800.png      (~3.5 GB)
    DIV2K_valid_HR.zip               -> DIV2K_valid_HR/0801.png … 0900.png      (~450 MB)
    DIV2K_train_LR_bicubic_X2.zip    -> DIV2K_train_LR_bicubic/X2/0001x2.png …  (MATLAB-made LR)

EDSR's benchmark bundle ``benchmark.tar`` (~250 MB) holds ``benchmark/<set>/HR/<name>.png`` and
``benchmark/<set>/LR_bicubic/X<s>/<name>x<s>.png`` for Set5, Set14, B100 and Urban100.

The sizes above are approximate. A download is checked against the SHA-256 a dataset's
``sha256:`` gives for the archive or, for DIV2K from its official address, against
:data:`DIV2K_SHA256`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from patchmine.datasets import SourceImage

DIV2K_URL = "http://data.vision.ee.ethz.ch/cvl/DIV2K/"
BENCHMARK_URL = "https://cv.snu.ac.kr/research/EDSR/benchmark.tar"
DIV2K_IDS = {"train": (1, 800), "valid": (801, 900)}

#: SHA-256 of the DIV2K archives served at :data:`DIV2K_URL`, as TensorFlow Datasets records
#: them (``url_checksums/div2k.txt``, with their sizes: 3,530,603,713 / 448,993,893 /
#: 925,390,592 / 117,763,600 bytes). They guard the 4 GB that every other job is built from
#: against a truncated or altered transfer, without the user looking them up. Only archives
#: fetched from the official address are checked against them: a mirror may repack.
DIV2K_SHA256 = {
    "DIV2K_train_HR.zip": "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335",
    "DIV2K_valid_HR.zip": "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
    "DIV2K_train_LR_bicubic_X2.zip": (
        "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850"
    ),
    "DIV2K_valid_LR_bicubic_X2.zip": (
        "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57"
    ),
}


def div2k_archives(split: str, official_lr: list[int]) -> list[str]:
    """The archive names a DIV2K split needs: HR, plus the official LR per listed scale."""
    return [f"DIV2K_{split}_HR.zip"] + [
        f"DIV2K_{split}_LR_bicubic_X{s}.zip" for s in sorted(official_lr)
    ]


def div2k_images(
    root: str | Path,
    split: str,
    official_lr: list[int],
    first: int | None = None,
    last: int | None = None,
) -> list[SourceImage]:
    """DIV2K images ``first``..``last`` of ``split`` under ``root`` (the folder holding
    ``DIV2K_<split>_HR/``), each with its official LR files for the scales in ``official_lr``.

    Every expected file must exist: a missing one is named, since a silently smaller DIV2K
    would give a patch count and results that do not match the paper's.
    """
    if split not in DIV2K_IDS:
        raise ValueError(f"DIV2K split must be one of {sorted(DIV2K_IDS)}, got {split!r}")
    lo, hi = DIV2K_IDS[split]
    first, last = first or lo, last or hi
    if not lo <= first <= last <= hi:
        raise ValueError(f"DIV2K {split} holds images {lo}..{hi}; asked for {first}..{last}")
    root = Path(root)
    images, missing = [], []
    for i in range(first, last + 1):
        hr = root / f"DIV2K_{split}_HR" / f"{i:04d}.png"
        lr = {
            s: root / f"DIV2K_{split}_LR_bicubic" / f"X{s}" / f"{i:04d}x{s}.png"
            for s in official_lr
        }
        missing += [p for p in (hr, *lr.values()) if not p.is_file()]
        images.append(SourceImage(f"{i:04d}", hr, lr=lr, crop=True))
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise FileNotFoundError(f"DIV2K {split} is incomplete under {root}: {missing[0]}{more}")
    return images


def archive_name(url: str) -> str:
    """The file name a download is stored under: the last component of its URL's path (a query
    or fragment, as in ``…/edsr_x2.pt?dl=1``, is not part of it) or of a local path."""
    if "://" in url:
        url = urlsplit(url).path
    return url.rstrip("/").rsplit("/", 1)[-1]


def dataset_archives(spec: dict) -> dict[str, dict]:
    """{archive name: {"url", "sha256"}} a dataset downloads (empty when it reads a folder), with
    the checksum its ``sha256`` entry gives for the archive (or None)."""
    if not spec.get("download"):
        return {}
    checksums = spec.get("sha256", {})
    if spec["source"] == "div2k":
        base = spec.get("url", DIV2K_URL)
        base = base if base.endswith("/") else base + "/"
        names = div2k_archives(spec["split"], spec.get("official_lr", []))
        return {n: {"url": base + n, "sha256": checksums.get(n)} for n in names}
    if spec["source"] == "benchmark":
        url = spec.get("url", BENCHMARK_URL)
        name = archive_name(url)
        return {name: {"url": url, "sha256": checksums.get(name)}}
    raise ValueError(f"source {spec['source']!r} cannot be downloaded")


#: Dataset keys that say where its archives come from and how to check them, not what they hold.
DOWNLOAD_ONLY_KEYS = ("url", "sha256")


def dataset_content(spec: dict) -> dict:
    """A dataset entry without its download-only keys: what the jobs that read its images pass
    as ``params``, so that a new mirror or checksum does not re-run them."""
    return {key: value for key, value in spec.items() if key not in DOWNLOAD_ONLY_KEYS}


def download_sources(config: dict) -> list[tuple[str, str, str | None]]:
    """(config key of the URL, URL, sha256 or None) of every file a config downloads: published
    scorer weights, published models and dataset archives. One file may be named by several
    entries (``config.check_config`` makes sure they agree)."""
    return (
        [
            (f"scorer.weights.{task}.url", spec["url"], spec.get("sha256"))
            for task, spec in config.get("scorer", {}).get("weights", {}).items()
        ]
        + [
            (f"published_models.{name}.url", spec["url"], spec.get("sha256"))
            for name, spec in config.get("published_models", {}).items()
        ]
        + [
            (f"datasets.{name}.url", archive["url"], archive["sha256"])
            for name, spec in config.get("datasets", {}).items()
            for archive in dataset_archives(spec).values()
        ]
    )


def download_table(config: dict) -> dict[str, dict]:
    """{archive name: {"url", "sha256"}} of every file a config downloads (:func:`download_sources`;
    the checksum of whichever entry gives one, else :func:`published_sha256`). The download rule
    reads its entry from here at run time rather than through ``params``, so a new mirror URL or
    a checksum added after the fact does not make Snakemake delete a finished multi-GB archive
    and fetch it again."""
    table: dict[str, dict] = {}
    for _, url, sha256 in download_sources(config):
        entry = table.setdefault(archive_name(url), {"url": url, "sha256": None})
        entry["sha256"] = entry["sha256"] or sha256
    for entry in table.values():
        entry["sha256"] = entry["sha256"] or published_sha256(entry["url"])
    return table


def published_sha256(url: str) -> str | None:
    """The published checksum of a file at ``url``: :data:`DIV2K_SHA256` for a DIV2K archive at
    DIV2K's own address (over http or https), else None."""
    base, _, name = url.rpartition("/")
    official = DIV2K_URL.split("://", 1)[-1].rstrip("/")
    if base.split("://", 1)[-1] != official:
        return None
    return DIV2K_SHA256.get(name)


def dataset_root(spec: dict, data_dir: str) -> str:
    """Where a dataset's files are read from: its ``path``, or where its archives extract to."""
    if spec.get("path"):
        return spec["path"]
    if spec["source"] == "benchmark":
        return str(Path(data_dir) / "benchmark")
    return data_dir
