"""The patch store holds exactly the patches that size and stride imply, cut from their place."""

import h5py
import numpy as np
import pandas as pd
import pytest

from patchmine.datasets import SourceImage
from patchmine.degrade import bicubic_lr
from patchmine.images import ImageError, read_image, write_png
from patchmine.store import build_store, check_geometry, open_store, patch_corners, read_rows


def _expected_count(height, width, size, stride, step):
    height, width = height - height % step, width - width % step
    rows = (height - size) // stride + 1 if height >= size else 0
    cols = (width - size) // stride + 1 if width >= size else 0
    return rows * cols


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    sizes = {"a": (101, 77), "b": (64, 130), "small": (20, 200)}
    images = []
    for name, (h, w) in sizes.items():
        write_png(tmp_path / "src" / f"{name}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        images.append(SourceImage(name, tmp_path / "src" / f"{name}.png"))
    return images, sizes


def test_patch_count_matches_size_and_stride(dataset, tmp_path):
    images, sizes = dataset
    n = build_store(
        images, tmp_path / "s.h5", 24, 18, [2, 3], workers=2, summary_path=tmp_path / "s.csv"
    )
    expected = sum(_expected_count(h, w, 24, 18, 6) for h, w in sizes.values())
    assert n == expected
    with open_store(tmp_path / "s.h5") as f:
        assert f["hr"].shape == (expected, 24, 24, 3)
        assert f["lr_x2"].shape == (expected, 12, 12, 3)
        assert f["lr_x3"].shape == (expected, 8, 8, 3)
        assert f["hr"].dtype == np.uint8
        assert int(f.attrs["patch_size"]) == 24 and int(f.attrs["stride"]) == 18
        assert list(f.attrs["scales"]) == [2, 3]
        names = [s.decode() for s in f["images"][:]]
        assert names == ["a", "b", "small"]
        # the small image (20 px high) gives no patch, and the summary says so
        assert "small" not in {names[i] for i in f["image_id"][:]}
    summary = pd.read_csv(tmp_path / "s.csv")
    assert summary.patches.sum() == expected
    assert summary.set_index("name").loc["small", "skipped"].startswith("smaller than one 24")


def test_every_patch_is_the_crop_of_its_images(dataset, tmp_path):
    images, _ = dataset
    build_store(images, tmp_path / "s.h5", patch_size=24, stride=18, scales=[2, 3])
    paths = {im.name: im.path for im in images}
    with open_store(tmp_path / "s.h5") as f:
        names = [s.decode() for s in f["images"][:]]
        hr_all, ids, ys, xs = f["hr"][:], f["image_id"][:], f["y"][:], f["x"][:]
        lrs = {s: f[f"lr_x{s}"][:] for s in (2, 3)}
    for i in range(len(ids)):
        name, y, x = names[ids[i]], int(ys[i]), int(xs[i])
        hr = read_image(paths[name])
        np.testing.assert_array_equal(hr_all[i], hr[y : y + 24, x : x + 24])
        for s in (2, 3):
            lr = bicubic_lr(hr, s)  # the LR image of the whole (cropped) HR image
            np.testing.assert_array_equal(
                lrs[s][i], lr[y // s : y // s + 24 // s, x // s : x // s + 24 // s]
            )


def test_corners_stay_inside_the_area_every_scale_covers():
    ys, xs = patch_corners(100, 50, 24, 12, scales=(2, 3))
    assert ys.max() + 24 <= 96 and xs.max() + 24 <= 48
    assert len(ys) == _expected_count(100, 50, 24, 12, 6)


def test_geometry_must_align_with_every_scale():
    check_geometry(96, 120, [2, 3, 4])
    with pytest.raises(ValueError, match="multiples of every scale"):
        check_geometry(96, 100, [3])


def test_read_rows_equals_fancy_indexing(tmp_path):
    data = np.random.default_rng(2).integers(0, 256, (500, 4, 4, 3), dtype=np.uint8)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f.create_dataset("d", data=data, chunks=(16, 4, 4, 3))
    idx = np.sort(np.random.default_rng(3).choice(500, 77, replace=False))
    with h5py.File(tmp_path / "d.h5", "r") as f:
        np.testing.assert_array_equal(read_rows(f["d"], idx, block=64), data[idx])
        with pytest.raises(ValueError, match="strictly increasing"):
            read_rows(f["d"], idx[::-1])


def test_failed_build_leaves_no_store(dataset, tmp_path):
    images, _ = dataset
    data = images[1].path.read_bytes()
    images[1].path.write_bytes(data[: len(data) // 2])  # truncated: the header still reads
    out = tmp_path / "s.h5"
    with pytest.raises(ValueError, match="b.png"):
        build_store(images, out, patch_size=24, stride=18, scales=[2], workers=2)
    assert not out.exists()
    assert not list(tmp_path.glob("s.h5*"))


def test_a_patch_larger_than_every_image_is_refused_naming_the_largest(dataset, tmp_path):
    """a (101x77 HR, min side 77) is the largest image by its short side: b is 64 high."""
    images, _ = dataset
    with pytest.raises(ValueError) as info:
        build_store(images, tmp_path / "s.h5", 96, 96, [2], dataset_name="mine_1a2b3c")
    message = str(info.value)
    assert message.startswith("mine_1a2b3c: none of its 3 images")
    assert f"{images[0].path}, is 77x101 pixels" in message and "patch_size" in message
    assert not list(tmp_path.glob("s.h5*"))


def test_a_store_appears_under_its_name_only_when_complete(tmp_path, monkeypatch):
    """A job killed while cutting leaves no truncated store that a rerun would take as done."""
    from patchmine import store

    write_png(tmp_path / "a.png", np.random.default_rng(0).integers(0, 256, (48, 48, 3), np.uint8))
    out = tmp_path / "s.h5"
    cut, seen = store._cut_image, []

    def watching(*args, **kwargs):
        seen.append(out.exists())
        return cut(*args, **kwargs)

    monkeypatch.setattr(store, "_cut_image", watching)
    build_store([SourceImage("a", tmp_path / "a.png")], out, 24, 24, [2])
    assert seen == [False] and out.exists()


def test_pixels_of_another_size_than_the_header_are_refused_by_name(tmp_path, monkeypatch):
    """Corners come from the header; a file whose pixels disagree (a reader's bug, a format's
    quirk) must stop the store naming it, not fail on an index deep inside numpy."""
    from patchmine import store

    write_png(tmp_path / "a.png", np.zeros((48, 96, 3), np.uint8))
    monkeypatch.setattr(store, "image_size", lambda path: (96, 48))  # the size turned
    with pytest.raises(ImageError, match=r"a\.png: its header says 48x96 pixels but it decodes"):
        build_store([SourceImage("a", tmp_path / "a.png")], tmp_path / "s.h5", 24, 24, [2])
    assert not list(tmp_path.glob("s.h5*"))
    monkeypatch.setattr(store, "image_size", lambda path: (48, 48))  # the width alone wrong
    with pytest.raises(ImageError, match=r"says 48x48 pixels but it decodes to 96x48"):
        build_store([SourceImage("a", tmp_path / "a.png")], tmp_path / "s.h5", 24, 24, [2])


def test_a_store_being_written_by_another_process_is_not_deleted(tmp_path):
    """A job left running (its Snakemake killed) holds the temporary store open: a rerun that
    cannot open it must fail without deleting the other job's file."""
    import h5py

    write_png(tmp_path / "a.png", np.zeros((48, 48, 3), np.uint8))
    out = tmp_path / "s.h5"
    with h5py.File(tmp_path / "s.h5.tmp", "w") as other:  # HDF5 locks it against a second writer
        other.attrs["writer"] = "the job left running"
        with pytest.raises(OSError):
            build_store([SourceImage("a", tmp_path / "a.png")], out, 24, 24, [2])
        assert (tmp_path / "s.h5.tmp").exists()
    assert not out.exists()
