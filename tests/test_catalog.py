"""Which checksum guards each download: the config's, else DIV2K's published one at its address."""

import hashlib

import pytest
import yaml
from httpserver import LocalServer
from test_config import ROOT

from patchmine.catalog import DIV2K_SHA256, download_table, published_sha256
from patchmine.download import ChecksumError, download


def _div2k(split="train", **spec):
    return {"datasets": {"div2k": {"source": "div2k", "split": split, "download": True, **spec}}}


def test_the_paper_config_checks_every_div2k_archive_it_downloads():
    """configs/paper.yaml gives no DIV2K checksum: all four GB are still verified."""
    config = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    table = download_table(config)
    div2k = {name: entry for name, entry in table.items() if name.startswith("DIV2K_")}
    assert sorted(div2k) == ["DIV2K_train_HR.zip", "DIV2K_valid_HR.zip"]
    for name, entry in div2k.items():
        assert entry["sha256"] == DIV2K_SHA256[name]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_official_address_over_either_scheme_gets_the_published_checksum(scheme):
    spec = {"url": f"{scheme}://data.vision.ee.ethz.ch/cvl/DIV2K", "official_lr": [2]}
    table = download_table(_div2k("valid", **spec))
    assert table == {
        name: {"url": f"{scheme}://data.vision.ee.ethz.ch/cvl/DIV2K/{name}", "sha256": sha}
        for name, sha in DIV2K_SHA256.items()
        if "valid" in name
    }


def test_a_mirror_is_not_held_to_the_published_checksum():
    """A mirror may repack the zips; it is checked only against what the config gives."""
    table = download_table(_div2k(url="https://mirror.example.org/cvl/DIV2K/"))
    assert table["DIV2K_train_HR.zip"]["sha256"] is None
    assert published_sha256("https://mirror.example.org/cvl/DIV2K/DIV2K_train_HR.zip") is None
    assert published_sha256("https://data.vision.ee.ethz.ch/cvl/DIV2K/other.zip") is None


def test_the_configs_own_checksum_wins():
    mine = "ab" * 32
    table = download_table(_div2k(sha256={"DIV2K_train_HR.zip": mine}))
    assert table["DIV2K_train_HR.zip"]["sha256"] == mine


def test_published_checksums_are_sha256_digests():
    assert all(len(sha) == 64 and int(sha, 16) >= 0 for sha in DIV2K_SHA256.values())
    assert len(set(DIV2K_SHA256.values())) == len(DIV2K_SHA256)


def test_a_download_of_other_bytes_is_refused_by_the_tables_checksum(tmp_path):
    """The table's entry is what the download rule passes on: bytes that are not DIV2K's are
    refused, and the file is not left in place."""
    body = b"a truncated or altered DIV2K_valid_HR.zip"
    with LocalServer(lifetime=60) as server:
        url = server.serve("/cvl/DIV2K/DIV2K_valid_HR.zip", body)
        entry = download_table(_div2k("valid"))["DIV2K_valid_HR.zip"]
        dest = tmp_path / "DIV2K_valid_HR.zip"
        with pytest.raises(ChecksumError, match=entry["sha256"]) as info:
            download(url, dest, sha256=entry["sha256"], retries=1, backoff=0.01)
    assert hashlib.sha256(body).hexdigest() in str(info.value)
    assert not dest.exists()
