"""Outputs are whole or absent: a write that fails keeps the old file and leaves no temporary."""

from pathlib import Path

import pytest

from patchmine.atomic import atomic_path


def test_a_finished_write_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "manifest.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and not target.exists()
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert list(target.parent.iterdir()) == [target]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("finished earlier")
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_text("half of it")
            raise OSError("disk full")
    assert target.read_text() == "finished earlier"
    assert list(tmp_path.iterdir()) == [target]


def test_unique_temporaries_are_hidden_and_distinct(tmp_path):
    """Threads writing PNGs into one folder must not share a temporary file, and a folder
    reader (which skips hidden files) must never take one for an image."""
    target = tmp_path / "a.png"
    with atomic_path(target, unique=True) as first, atomic_path(target, unique=True) as second:
        assert first != second
        assert first.name.startswith(".") and second.name.startswith(".")
        first.write_bytes(b"1")
        second.write_bytes(b"2")
    assert target.read_bytes() == b"1"  # the outer block ended last
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_the_datasets_manifest_survives_a_failed_rewrite(tmp_path, monkeypatch):
    from patchmine import datasets

    path = Path(tmp_path / "manifest.csv")
    datasets._write_csv(path, [{"name": "a"}], ["name"])
    before = path.read_text()
    with pytest.raises(ValueError):  # a row with a field the header lacks
        datasets._write_csv(path, [{"name": "b", "other": 1}], ["name"])
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.csv"]


def test_what_a_killed_store_job_left_is_named_with_its_size(tmp_path):
    """SIGKILL leaves a store's temporary file that no rerun with other settings comes back for:
    the warning at the start of a run names it, the biggest first, with what it weighs."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    from patchmine.atomic import describe_leftovers, leftovers

    store = tmp_path / "patches" / "photos" / "p96_s48.h5"
    writer = textwrap.dedent(
        f"""
        import sys, time, h5py, numpy as np
        with h5py.File({str(store) + ".tmp"!r}, "w") as f:
            f["hr"] = np.ones((3_000_000,), np.uint8)
            f.flush()
            print("written", flush=True)
            time.sleep(60)
        """
    )
    job = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    store.parent.mkdir(parents=True)
    assert job.stdout.readline().strip() == "written"
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    png = tmp_path / "mined" / "png.tmp" / "HR"
    png.mkdir(parents=True)
    (png / "a.png").write_bytes(b"x" * 1000)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / ".a.png.0123456789ab.tmp").write_bytes(b"y")
    (tmp_path / "runs" / "model.pt").write_bytes(b"z" * 10_000)  # finished: not a leftover

    found = leftovers(tmp_path)
    assert [path.name for path, _ in found] == [
        "p96_s48.h5.tmp",
        "png.tmp",
        ".a.png.0123456789ab.tmp",
    ]
    assert found[0][1] == (store.parent / "p96_s48.h5.tmp").stat().st_size > 3_000_000
    assert found[1][1] == 1000
    message = describe_leftovers(found)
    assert message.startswith("3 temporary file(s) left by stopped jobs hold 3.0 MB: ")
    assert f"{store}.tmp (3.0 MB)" in message and "png.tmp (1.0 kB)" in message
    assert ".a.png.0123456789ab.tmp (1 B)" in message and "more" not in message  # all 3 named
    assert describe_leftovers(leftovers(tmp_path / "runs" / "none")) is None


def test_a_warning_names_the_three_biggest_and_counts_the_rest(tmp_path):
    from patchmine.atomic import describe_leftovers, leftovers

    for i in range(5):
        (tmp_path / f"s{i}.h5.tmp").write_bytes(b"x" * (i + 1) * 2000)
    message = describe_leftovers(leftovers(tmp_path))
    assert message.startswith("5 temporary file(s) left by stopped jobs hold 30.0 kB: ")
    assert "s4.h5.tmp (10.0 kB), " in message and "s2.h5.tmp (6.0 kB) and 2 more." in message
    assert "s1.h5.tmp" not in message


def test_a_link_named_like_a_temporary_is_not_a_leftover(tmp_path):
    """No killed write leaves a link, and deleting one frees nothing: the folder of images it
    points to must not be counted (nor named for deletion)."""
    from patchmine.atomic import leftovers

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(b"x" * 5000)
    results = tmp_path / "results"
    results.mkdir()
    (results / "photos.tmp").symlink_to(photos, target_is_directory=True)
    (results / "a.png.tmp").symlink_to(photos / "a.png")
    (results / "s.h5.tmp").write_bytes(b"y" * 10)
    assert leftovers(results) == [(results / "s.h5.tmp", 10)]


def test_leftovers_are_warned_of_and_a_clean_folder_says_nothing(tmp_path, caplog):
    from patchmine.atomic import warn_of_leftovers

    (tmp_path / "done.h5").write_bytes(b"x")
    with caplog.at_level("WARNING", logger="patchmine.atomic"):
        warn_of_leftovers(tmp_path)
        assert caplog.records == []
        (tmp_path / "p96_s48.h5.tmp").write_bytes(b"x" * 2000)
        warn_of_leftovers(tmp_path)
    [record] = caplog.records
    assert record.levelname == "WARNING" and "p96_s48.h5.tmp (2.0 kB)" in record.getMessage()


def test_a_run_starts_by_naming_what_killed_jobs_left(tmp_path):
    """The warning reaches the user at the start of a real run (the workflow's onstart)."""
    import shutil
    import subprocess
    import sys

    from conftest import snakemake_env

    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / "tests" / "data" / "tiny_config.yaml", tmp_path / "config.yaml")
    left = tmp_path / "results" / "patches" / "old" / "p48_s24.h5.tmp"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"x" * 5000)
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"),
         "--directory", str(tmp_path), "--cores", "1", "results/data/tiny_val/manifest.csv"],
        capture_output=True, text=True, env=snakemake_env(PYTHONPATH=str(root)), cwd=root,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "1 temporary file(s) left by stopped jobs hold 5.0 kB: "
        "results/patches/old/p48_s24.h5.tmp (5.0 kB)"
    ) in done.stdout + done.stderr
