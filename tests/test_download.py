"""Downloader and archive extraction against a loopback HTTP server (no network needed).

The real archives live on servers the tests cannot reach, so each test serves small files of
the same names from 127.0.0.1 and makes the server misbehave the ways real ones do.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import shutil
import stat
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
from httpserver import LocalServer

from patchmine.archive import ArchiveError, UnsafeArchiveError, extract
from patchmine.download import ChecksumError, DownloadError, HTTPStatusError, download
from patchmine.locks import exclusive

BODY = random.Random(2207).randbytes(200_000)
DIGEST = hashlib.sha256(BODY).hexdigest()
HALF = len(BODY) // 2
FAST = {"backoff": 0.01, "timeout": 5, "chunk": 8192}  # quick retries, partial writes


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    srv = LocalServer(lifetime=60).start()
    yield srv
    srv.stop()


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="test.download")
    return logging.getLogger("test.download")


# --------------------------------------------------------------------------- download


def test_normal_download_verified(server, tmp_path, log, caplog):
    url = server.serve("/DIV2K_valid_HR.zip", BODY)
    dest = tmp_path / "raw" / "DIV2K_valid_HR.zip"
    out = download(url, dest, sha256=DIGEST, size=len(BODY), log=log, **FAST)
    assert out == dest and dest.read_bytes() == BODY
    assert not (tmp_path / "raw" / "DIV2K_valid_HR.zip.part").exists()
    [req] = server.requests_for("/DIV2K_valid_HR.zip")
    assert req.range is None and req.status == 200
    assert any("100%" in r.getMessage() for r in caplog.records)

    # A verified file is not fetched again.
    assert download(url, dest, sha256=DIGEST, log=log, **FAST) == dest
    assert len(server.requests_for("/DIV2K_valid_HR.zip")) == 1


def test_cut_transfer_resumes_with_range(server, tmp_path, log):
    url = server.serve("/benchmark.tar", BODY, cut_after=HALF)
    dest = tmp_path / "benchmark.tar"
    download(url, dest, sha256=DIGEST, log=log, **FAST)
    assert dest.read_bytes() == BODY
    first, second = server.requests_for("/benchmark.tar")
    assert first.range is None and first.status == 200
    assert second.range == f"bytes={HALF}-" and second.status == 206


def test_resume_after_interrupted_run(server, tmp_path, log):
    url = server.serve("/edsr_baseline_x2-1bc95232.pt", BODY)
    dest = tmp_path / "edsr_baseline_x2-1bc95232.pt"
    (tmp_path / (dest.name + ".part")).write_bytes(BODY[:1234])  # left by a killed run
    download(url, dest, sha256=DIGEST, size=len(BODY), log=log, **FAST)
    assert dest.read_bytes() == BODY
    [req] = server.requests_for("/edsr_baseline_x2-1bc95232.pt")
    assert req.range == "bytes=1234-" and req.status == 206


def test_timeout_mid_body_is_retried_and_resumed(server, tmp_path, log):
    url = server.serve("/slow.zip", BODY, cut_after=HALF, stall=1.0)
    dest = tmp_path / "slow.zip"
    download(url, dest, sha256=DIGEST, log=log, backoff=0.01, timeout=0.2, chunk=8192)
    assert dest.read_bytes() == BODY
    # What the socket buffer held at the timeout may be lost; the rest must not be refetched.
    resumed_at = int(server.requests_for("/slow.zip")[1].range.removeprefix("bytes=")[:-1])
    assert 0 < resumed_at <= HALF


def test_server_without_range_support_restarts(server, tmp_path, log):
    url = server.serve("/norange.zip", BODY, ranges=False, cut_after=HALF)
    dest = tmp_path / "norange.zip"
    (tmp_path / "norange.zip.part").write_bytes(b"stale bytes from elsewhere")
    download(url, dest, sha256=DIGEST, log=log, **FAST)
    assert dest.read_bytes() == BODY
    reqs = server.requests_for("/norange.zip")
    assert [r.status for r in reqs] == [200, 200]
    assert all(r.range is not None for r in reqs)  # asked to resume, got the whole file


def test_a_web_page_instead_of_the_archive_is_refused_and_not_kept(server, tmp_path, log):
    """A login or error page answered with 200: never saved under the archive's name, where a
    rerun would take it as downloaded and every extraction would fail."""
    page = b"<!DOCTYPE html><html><body>Please log in</body></html>"
    url = server.serve("/DIV2K_valid_HR.zip", page, content_type="text/html; charset=utf-8")
    dest = tmp_path / "DIV2K_valid_HR.zip"
    with pytest.raises(DownloadError, match="answered with a web page") as info:
        download(url, dest, log=log, **FAST)
    assert "DIV2K_valid_HR.zip" in str(info.value) and not dest.exists()
    assert len(server.requests_for("/DIV2K_valid_HR.zip")) == 1  # not retried: it would repeat
    page_url = server.serve("/index.html", page, content_type="text/html")
    assert download(page_url, tmp_path / "index.html", log=log, **FAST).read_bytes() == page


def test_checksum_mismatch_leaves_nothing(server, tmp_path, log):
    url = server.serve("/DIV2K_train_HR.zip", BODY)
    dest = tmp_path / "DIV2K_train_HR.zip"
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ChecksumError) as info:
        download(url, dest, sha256=wrong, log=log, **FAST)
    message = str(info.value)
    assert "DIV2K_train_HR.zip" in message and wrong in message and DIGEST in message
    assert not dest.exists() and not (tmp_path / "DIV2K_train_HR.zip.part").exists()


def test_a_retry_does_not_fetch_a_file_whose_checksum_was_wrong_again(server, tmp_path, log):
    url = server.serve("/DIV2K_train_HR.zip", BODY)
    dest = tmp_path / "DIV2K_train_HR.zip"
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ChecksumError):
        download(url, dest, sha256=wrong, log=log, **FAST)
    with pytest.raises(ChecksumError) as again:
        download(url, dest, sha256=wrong, log=log, refetch_mismatch=False, **FAST)
    assert len(server.requests_for("/DIV2K_train_HR.zip")) == 1
    assert wrong in str(again.value) and DIGEST in str(again.value)
    assert "previous attempt" in str(again.value)

    # Another checksum (the config was corrected) or a first attempt fetches again.
    download(url, dest, sha256=DIGEST, log=log, refetch_mismatch=False, **FAST)
    assert dest.read_bytes() == BODY and len(server.requests_for("/DIV2K_train_HR.zip")) == 2
    assert not (tmp_path / "DIV2K_train_HR.zip.mismatch.json").exists()
    dest.unlink()
    with pytest.raises(ChecksumError):
        download(url, dest, sha256=wrong, log=log, **FAST)
    with pytest.raises(ChecksumError):
        download(url, dest, sha256=wrong, log=log, refetch_mismatch=True, **FAST)
    assert len(server.requests_for("/DIV2K_train_HR.zip")) == 4

    # A first attempt forgets older runs' findings: a retry after it failed on the network
    # must not report a mismatch that this run never saw.
    server.stop()
    with pytest.raises(DownloadError) as offline:
        download(url, dest, sha256=wrong, log=log, retries=1, **FAST)
    assert not isinstance(offline.value, ChecksumError)
    with pytest.raises(DownloadError) as retried:
        download(url, dest, sha256=wrong, log=log, retries=1, refetch_mismatch=False, **FAST)
    assert not isinstance(retried.value, ChecksumError)


def test_size_mismatch_is_refused_early(server, tmp_path, log):
    url = server.serve("/x.zip", BODY)
    with pytest.raises(ChecksumError, match="size"):
        download(url, tmp_path / "x.zip", size=len(BODY) + 1, log=log, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_404_is_clear_and_not_retried(server, tmp_path, log):
    url = server.url("/missing.zip")
    with pytest.raises(HTTPStatusError) as info:
        download(url, tmp_path / "missing.zip", log=log, **FAST)
    assert info.value.status == 404 and url in str(info.value) and "404" in str(info.value)
    assert len(server.requests_for("/missing.zip")) == 1
    assert list(tmp_path.iterdir()) == []


def test_5xx_twice_then_success(server, tmp_path, log, caplog):
    url = server.serve("/flaky.zip", BODY, fail_first=2, fail_status=503)
    dest = tmp_path / "flaky.zip"
    download(url, dest, sha256=DIGEST, log=log, **FAST)
    assert dest.read_bytes() == BODY
    assert [r.status for r in server.requests_for("/flaky.zip")] == [503, 503, 200]
    assert sum("retry" in r.getMessage() for r in caplog.records) == 2


def test_persistent_5xx_gives_up(server, tmp_path, log):
    url = server.serve("/down.zip", BODY, fail_first=100, fail_status=500)
    with pytest.raises(DownloadError, match="giving up after 3"):
        download(url, tmp_path / "down.zip", retries=2, log=log, **FAST)
    assert len(server.requests_for("/down.zip")) == 3


def test_416_with_complete_part_is_accepted(server, tmp_path, log):
    url = server.serve("/done.zip", BODY)
    dest = tmp_path / "done.zip"
    (tmp_path / "done.zip.part").write_bytes(BODY)
    download(url, dest, sha256=DIGEST, log=log, **FAST)
    assert dest.read_bytes() == BODY
    assert [r.status for r in server.requests_for("/done.zip")] == [416]


def test_416_with_oversized_part_restarts(server, tmp_path, log):
    url = server.serve("/big.zip", BODY)
    dest = tmp_path / "big.zip"
    (tmp_path / "big.zip.part").write_bytes(BODY + b"junk")
    download(url, dest, sha256=DIGEST, log=log, **FAST)
    assert dest.read_bytes() == BODY
    assert [r.status for r in server.requests_for("/big.zip")] == [416, 200]


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_local_files_are_copied_and_verified(tmp_path, log, form):
    src = tmp_path / "disk" / "DIV2K_valid_HR.zip"
    src.parent.mkdir()
    src.write_bytes(BODY)
    url = str(src) if form == "path" else src.as_uri()
    dest = download(url, tmp_path / "raw" / "DIV2K_valid_HR.zip", sha256=DIGEST, log=log)
    assert dest.read_bytes() == BODY
    with pytest.raises(DownloadError, match="no such file"):
        download(str(src) + ".nope", tmp_path / "raw" / "other.zip", log=log)


def test_unsupported_scheme(tmp_path):
    with pytest.raises(DownloadError, match="unsupported URL scheme"):
        download("gopher://example/x", tmp_path / "x")


def test_a_download_by_another_workflow_is_waited_for_and_not_repeated(
    server, tmp_path, log, waits
):
    """Two workflows sharing one data folder: the second waits for the first, then finds its
    file verified instead of writing into the same .part at once."""
    url = server.serve("/DIV2K_train_HR.zip", BODY)
    dest = tmp_path / "DIV2K_train_HR.zip"
    waiting = waits("test.download")
    with exclusive(dest.with_name(dest.name + ".lock"), what="the other download"):
        ours = _Thread(download, url, dest, sha256=DIGEST, log=log, **FAST)
        assert waiting.wait(30), "the second download did not wait"
        assert not server.requests_for("/DIV2K_train_HR.zip")
        dest.write_bytes(BODY)  # the other workflow's download, verified and renamed
    assert ours.result(30) == dest
    assert not server.requests_for("/DIV2K_train_HR.zip")
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]  # no .part, no lock left


class _Thread(threading.Thread):
    """Runs ``call`` in the background; ``result`` joins and returns (or raises) its outcome."""

    def __init__(self, call, *args, **kwargs):
        super().__init__(daemon=True)
        self._run = lambda: call(*args, **kwargs)
        self._outcome = None
        self.start()

    def run(self):
        try:
            self._outcome = (True, self._run())
        except BaseException as exc:  # handed to the test's thread by result()
            self._outcome = (False, exc)

    def result(self, timeout: float):
        self.join(timeout)
        assert not self.is_alive(), "still waiting"
        ok, value = self._outcome
        if not ok:
            raise value
        return value


# --------------------------------------------------------------------------- archives

PNG = b"\x89PNG\r\n\x1a\n"


def _tar(path: Path, members, mode: str = "w") -> Path:
    """Write a tar from (name, kind, payload) triples; kinds: file, sym, hard, dev, dir."""
    types = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "dev": tarfile.CHRTYPE}
    with tarfile.open(path, mode) as tf:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
                continue
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            else:
                info.type, info.linkname = types[kind], payload or ""
            tf.addfile(info)
    return path


def _zip(path: Path, members) -> Path:
    """Write a zip from (name, kind, payload) triples; kinds: file, sym."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, kind, payload in members:
            if kind == "sym":
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, payload)
            else:
                zf.writestr(name, payload)
    return path


DIV2K = [
    ("DIV2K_train_HR/", "dir", b""),
    ("DIV2K_train_HR/0001.png", "file", PNG + b"one"),
    ("DIV2K_train_HR/0002.png", "file", PNG + b"two"),
    ("DIV2K_train_LR_bicubic/X2/0001x2.png", "file", PNG + b"lr1"),
]
BENCH = [
    ("benchmark/Set5/HR/baby.png", "file", PNG + b"baby"),
    ("benchmark/Set5/LR_bicubic/X2/babyx2.png", "file", PNG + b"babyx2"),
    ("benchmark/Set5/latest.png", "sym", "HR/baby.png"),  # a safe, inside link
]


def test_zip_extraction_div2k_layout(tmp_path):
    archive = _zip(tmp_path / "DIV2K_train_HR.zip", [m for m in DIV2K if m[1] != "dir"])
    target = tmp_path / "data" / "div2k"
    files = extract(archive, target)
    assert files == [target / m[0] for m in DIV2K if m[1] == "file"]
    for name, _, payload in DIV2K[1:]:
        assert (target / name).read_bytes() == payload
    assert sorted(p.name for p in target.parent.iterdir()) == ["div2k"]
    assert sorted(p.name for p in target.iterdir()) == ["DIV2K_train_HR", "DIV2K_train_LR_bicubic"]


def test_a_killed_extractions_staging_is_cleared_and_others_are_left(tmp_path):
    archive = _zip(tmp_path / "DIV2K_train_HR.zip", [m for m in DIV2K if m[1] != "dir"])
    data = tmp_path / "data"
    killed = data / ".extract-DIV2K_train_HR.zip-1x2y3z" / "stage"
    killed_before = tmp_path / ".data.extract-DIV2K_train_HR.zip-7a8b9c" / "stage"  # older layout
    running = data / ".extract-DIV2K_train_LR_bicubic_X2.zip-4u5v6w" / "stage"
    for stage in (killed, killed_before, running):
        stage.mkdir(parents=True)
        (stage / "0001.png").write_bytes(PNG)
    extract(archive, data)
    left = {"DIV2K_train_HR", "DIV2K_train_LR_bicubic", running.parent.name}
    assert sorted(p.name for p in data.iterdir()) == sorted(left)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([archive.name, "data"])


def test_an_extraction_of_the_same_archive_by_another_workflow_is_waited_for(tmp_path, waits):
    """Two workflows sharing one data folder: the second neither clears the first's staging
    (which a killed extraction's would look like) nor mixes its files in; it waits."""
    archive = _zip(tmp_path / "DIV2K_train_HR.zip", [m for m in DIV2K if m[1] != "dir"])
    data = tmp_path / "data"
    theirs = data / ".extract-DIV2K_train_HR.zip-0other" / "stage"
    theirs.mkdir(parents=True)
    waiting = waits("patchmine.archive")
    with exclusive(data / ".extract-DIV2K_train_HR.zip.lock", what="the other extraction"):
        ours = _Thread(extract, archive, data)
        assert waiting.wait(30), "the second extraction did not wait"
        assert theirs.is_dir() and not (data / "DIV2K_train_HR").exists()
        shutil.rmtree(theirs.parent)  # the other workflow finishes
    assert ours.result(30) == [data / m[0] for m in DIV2K if m[1] == "file"]
    # no staging, no lock file
    assert sorted(p.name for p in data.iterdir()) == ["DIV2K_train_HR", "DIV2K_train_LR_bicubic"]


@pytest.mark.parametrize("mode,suffix", [("w:gz", ".tar.gz"), ("w:gz", ".tgz"), ("w", ".tar")])
def test_tar_extraction_layouts(tmp_path, mode, suffix):
    archive = _tar(tmp_path / f"benchmark{suffix}", DIV2K + BENCH, mode)
    target = tmp_path / "data"
    files = extract(archive, target)
    assert target / "DIV2K_train_HR/0001.png" in files
    assert (target / "benchmark/Set5/LR_bicubic/X2/babyx2.png").read_bytes() == PNG + b"babyx2"
    link = target / "benchmark/Set5/latest.png"
    assert link.is_symlink() and link.read_bytes() == PNG + b"baby"


def test_members_prefix_and_merge_into_existing_folder(tmp_path):
    archive = _zip(tmp_path / "both.zip", [m for m in DIV2K if m[1] != "dir"])
    target = tmp_path / "data"
    (target / "DIV2K_train_HR").mkdir(parents=True)
    (target / "DIV2K_train_HR" / "0002.png").write_bytes(b"old")
    (target / "keep.txt").write_text("mine")
    files = extract(archive, target, members_prefix="DIV2K_train_HR/")
    assert files == [target / "DIV2K_train_HR/0001.png", target / "DIV2K_train_HR/0002.png"]
    assert (target / "DIV2K_train_HR/0002.png").read_bytes() == PNG + b"two"
    assert (target / "keep.txt").read_text() == "mine"
    assert not (target / "DIV2K_train_LR_bicubic").exists()
    with pytest.raises(ArchiveError, match="no member starts with"):
        extract(archive, target, members_prefix="DIV2K_valid_HR/")


GOOD = ("DIV2K_train_HR/0001.png", "file", PNG)  # listed first: validation must precede writing

UNSAFE = {
    "tar-dotdot": ("tar", "../evil.txt", [("../evil.txt", "file", b"x")]),
    "zip-dotdot": ("zip", "../evil.txt", [("../evil.txt", "file", b"x")]),
    "tar-absolute": ("tar", "{abs}", [("{abs}", "file", b"x")]),
    "zip-absolute": ("zip", "{abs}", [("{abs}", "file", b"x")]),
    "tar-symlink-out": ("tar", "link", [("link", "sym", "../../outside")]),
    "tar-symlink-abs": ("tar", "link", [("link", "sym", "/etc/passwd")]),
    "zip-symlink-out": ("zip", "link", [("link", "sym", "../outside")]),
    "tar-hardlink-out": ("tar", "hard", [("hard", "hard", "../outside")]),
    "tar-through-link": ("tar", "d/evil.txt", [("d", "sym", "."), ("d/evil.txt", "file", b"x")]),
    "tar-link-chain": ("tar", "a", [("sub/l", "sym", ".."), ("a", "sym", "sub/l/../..")]),
    "tar-device": ("tar", "dev", [("dev", "dev", None)]),
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_unsafe_members_are_refused_before_writing(tmp_path, case):
    fmt, member, members = UNSAFE[case]
    absolute = str(tmp_path / "abs-evil.txt")
    member = member.format(abs=absolute)
    members = [(n.format(abs=absolute), k, p) for n, k, p in members]
    archive = tmp_path / f"bad.{fmt}"
    if fmt == "tar":
        _tar(archive, [GOOD, *members])
    else:
        _zip(archive, [GOOD, *[(n, k, p or b"") for n, k, p in members]])
    target = tmp_path / "data" / "out"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("mine")

    with pytest.raises(UnsafeArchiveError) as info:
        extract(archive, target)
    assert repr(member) in str(info.value) and str(archive) in str(info.value)
    assert info.value.member == member
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["out"]
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "abs-evil.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name, "data"]


def test_unsafe_archive_leaves_new_target_absent(tmp_path):
    archive = _tar(tmp_path / "bad.tar.gz", [GOOD, ("../evil.txt", "file", b"x")], "w:gz")
    with pytest.raises(UnsafeArchiveError, match=r"'\.\./evil\.txt'"):
        extract(archive, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz"]


def test_not_an_archive(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(ArchiveError, match="not a zip or tar"):
        extract(junk, tmp_path / "out")


def test_a_file_replaced_on_the_server_mid_download_is_not_spliced(server, tmp_path, log, caplog):
    """No checksum configured (the paper config has none): the resume asks `If-Range` with the
    first response's ETag, and gets the new version whole instead of its tail."""
    new = random.Random(7).randbytes(len(BODY))
    url = server.serve("/DIV2K_train_HR.zip", BODY, cut_after=HALF, changed_after_cut=new)
    dest = tmp_path / "DIV2K_train_HR.zip"
    download(url, dest, log=log, **FAST)
    assert dest.read_bytes() == new
    first, second = server.requests_for("/DIV2K_train_HR.zip")
    assert second.range == f"bytes={HALF}-" and second.if_range is not None
    assert second.status == 200
    assert any("changed on the server" in r.getMessage() for r in caplog.records)
    assert [p.name for p in tmp_path.iterdir()] == ["DIV2K_train_HR.zip"]  # no .part, no validator


def test_a_folder_made_meanwhile_by_another_extraction_is_merged_into(tmp_path, monkeypatch):
    """DIV2K's X2 and X3 zips both hold DIV2K_train_LR_bicubic/: extracted at once, each may
    plan that folder as new, and the second rename then meets a folder that is not empty."""
    archive = _zip(
        tmp_path / "x3.zip", [("DIV2K_train_LR_bicubic/X3/0001x3.png", "file", PNG + b"3")]
    )
    data = tmp_path / "data"
    shared = data / "DIV2K_train_LR_bicubic"
    real_lexists = os.path.lexists

    def other_job_wins_the_race(path):
        if Path(path) == shared and not shared.exists():
            (shared / "X2").mkdir(parents=True)  # the X2 extraction, right after our check
            (shared / "X2" / "0001x2.png").write_bytes(PNG + b"2")
            return False
        return real_lexists(path)

    data.mkdir()
    monkeypatch.setattr(os.path, "lexists", other_job_wins_the_race)
    extract(archive, data)
    assert (shared / "X3" / "0001x3.png").read_bytes() == PNG + b"3"
    assert (shared / "X2" / "0001x2.png").read_bytes() == PNG + b"2"


def test_a_damaged_file_already_in_place_is_fetched_again(tmp_path):
    """An archive of the right size but other bytes (a disk error, a truncated copy padded by a
    tool) is not taken as downloaded when its checksum is known."""
    body = b"x" * 5000
    source = tmp_path / "src.zip"
    source.write_bytes(body)
    dest = tmp_path / "out" / "a.zip"
    dest.parent.mkdir()
    dest.write_bytes(b"y" * 5000)
    download(source, dest, sha256=hashlib.sha256(body).hexdigest(), size=5000)
    assert dest.read_bytes() == body


def test_the_checksum_is_checked_even_when_the_size_is_right(tmp_path):
    source = tmp_path / "src.zip"
    source.write_bytes(b"x" * 5000)
    with pytest.raises(ChecksumError, match="sha256"):
        download(source, tmp_path / "a.zip", sha256="0" * 64, size=5000)
    assert not (tmp_path / "a.zip").exists()


def test_the_member_check_alone_refuses_a_link_out_of_the_archive(tmp_path):
    """Members are checked before extraction (the only guard before Python 3.11.4), and the
    tar 'data' filter refuses them again while extracting: each layer must hold alone."""
    from patchmine import archive

    path = _tar(tmp_path / "hard.tar", [("d/hard", "hard", "../outside")])  # from the root
    with tarfile.open(path) as tar, pytest.raises(UnsafeArchiveError):
        archive._check(archive._tar_entries(tar), path)


@pytest.mark.skipif(
    not hasattr(tarfile, "data_filter"),
    reason="this Python (before 3.11.4) has no tar 'data' filter: the member check guards alone",
)
def test_the_data_filter_alone_refuses_a_link_out_of_the_archive(tmp_path, monkeypatch):
    from patchmine import archive

    path = _tar(tmp_path / "link.tar", [("link", "sym", "/etc/passwd")])
    monkeypatch.setattr(archive, "_check", lambda entries, source: None)
    with pytest.raises(UnsafeArchiveError):
        extract(path, tmp_path / "out")
    assert not (tmp_path / "out" / "link").exists()
