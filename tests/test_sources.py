"""An image replaced by an older file is seen as changed (patchmine.sources)."""

import os
import shutil

import numpy as np
from PIL import Image

from patchmine.datasets import folder_images
from patchmine.sources import changed_sources, outdate_if_changed, record_path, record_sources
from patchmine.store import build_store


def _png(path, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _replace_keeping_an_old_time(path, seed, when=1_000_000_000):
    """What `cp -p`, `mv`, `rsync -a` or unpacking an archive do: new pixels, an old time."""
    _png(path.with_suffix(".new.png"), seed)
    os.utime(path.with_suffix(".new.png"), (when, when))
    os.replace(path.with_suffix(".new.png"), path)


def test_the_record_names_the_changed_file_and_only_it(tmp_path):
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    for i, f in enumerate(files):
        _png(f, i)
    made = tmp_path / "out" / "p8_s8.h5"
    record_sources(files, made)
    assert record_path(made) == tmp_path / "out" / "p8_s8.sources.json"
    made.write_bytes(b"store")
    assert changed_sources(made) == []
    _replace_keeping_an_old_time(files[1], seed=7)
    assert changed_sources(made) == [str(files[1])]
    files[0].unlink()  # gone: Snakemake sees the set of inputs change by itself
    assert changed_sources(made) == [str(files[1])]
    made.unlink()  # nothing made: nothing to outdate
    assert changed_sources(made) == []


def test_a_product_of_changed_images_is_dated_before_its_inputs(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        _png(folder / f"{i}.png", i)
    images = folder_images(folder)
    store = tmp_path / "results" / "p8_s8.h5"
    build_store(images, store, patch_size=8, stride=8, scales=[2])
    inputs = [str(im.path) for im in images]
    assert outdate_if_changed([store], inputs) == []
    untouched = store.stat().st_mtime
    assert untouched > max(os.stat(f).st_mtime for f in inputs)  # Snakemake: nothing to do

    _replace_keeping_an_old_time(folder / "1.png", seed=9)
    assert os.stat(folder / "1.png").st_mtime < untouched  # Snakemake alone would miss it
    assert outdate_if_changed([store], inputs) == [str(store)]
    assert store.stat().st_mtime < min(os.stat(f).st_mtime for f in inputs)
    again = store.stat().st_mtime
    assert outdate_if_changed([store], inputs) == [str(store)]  # a second plan: the same
    assert store.stat().st_mtime == again

    build_store(folder_images(folder), store, patch_size=8, stride=8, scales=[2])
    assert outdate_if_changed([store], inputs) == []  # made again from what is there now


def test_an_unchanged_copy_elsewhere_is_not_a_change(tmp_path):
    src = tmp_path / "a.png"
    _png(src, 0)
    made = tmp_path / "manifest.csv"
    record_sources([src], made)
    made.write_text("name\n")
    shutil.copy2(src, tmp_path / "b.png")  # another file; the recorded one is as it was
    assert changed_sources(made) == []
    record_path(made).write_text("{not json")
    assert changed_sources(made) == []  # unreadable: re-written by the job's next run


def test_a_product_that_cannot_be_redated_is_named_and_skipped(tmp_path, caplog, monkeypatch):
    src = tmp_path / "a.png"
    _png(src, 0)
    made = tmp_path / "theirs.h5"
    record_sources([src], made)
    made.write_bytes(b"store")
    _replace_keeping_an_old_time(src, seed=3)

    def refuse(*args, **kwargs):
        raise PermissionError("not ours")

    monkeypatch.setattr(os, "utime", refuse)  # another user's file, or one deleted meanwhile
    assert outdate_if_changed([made], [str(src)]) == []
    assert "cannot be re-dated (not ours)" in caplog.text


def test_a_file_with_braces_is_stood_for_by_the_nearest_folder_without_them():
    """Snakemake would read "{1}" in an input path as a wildcard: such files become a folder."""
    from patchmine.sources import snakemake_inputs

    files = ["/d/a.png", "/d/shot {1}.png", "/d/x{y}/z/b.png", "/d/x{y}/c.png", "/e/f.png"]
    assert snakemake_inputs(files) == ["/d/a.png", "/e/f.png", "/d"]
    assert snakemake_inputs(["/p {2024}/a.png"]) == ["/"]
