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
