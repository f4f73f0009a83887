"""The patch store holds exactly the patches that size and stride imply, cut from their place."""

import h5py
import numpy as np
import pytest

from patchmine.datasets import SourceImage, ingest, lr_path
from patchmine.images import read_image, write_png
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
    root = tmp_path / "data"
    ingest(images, root, scales=[2, 3])
    return root, sizes


def test_patch_count_matches_size_and_stride(dataset, tmp_path):
    root, sizes = dataset
    n = build_store(root, tmp_path / "s.h5", patch_size=24, stride=18, scales=[2, 3])
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
        # the small image (20 px high) gives no patch
        assert "small" not in {names[i] for i in f["image_id"][:]}


def test_every_patch_is_the_crop_of_its_images(dataset, tmp_path):
    root, _ = dataset
    build_store(root, tmp_path / "s.h5", patch_size=24, stride=18, scales=[2, 3])
    with open_store(tmp_path / "s.h5") as f:
        names = [s.decode() for s in f["images"][:]]
        hr_all, ids, ys, xs = f["hr"][:], f["image_id"][:], f["y"][:], f["x"][:]
        lrs = {s: f[f"lr_x{s}"][:] for s in (2, 3)}
    for i in range(len(ids)):
        name, y, x = names[ids[i]], int(ys[i]), int(xs[i])
        hr = read_image(root / "HR" / f"{name}.png")
        np.testing.assert_array_equal(hr_all[i], hr[y : y + 24, x : x + 24])
        for s in (2, 3):
            lr = read_image(lr_path(root, name, s))
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
    root, _ = dataset
    (root / "HR" / "b.png").write_bytes(b"corrupt")
    out = tmp_path / "s.h5"
    with pytest.raises(ValueError, match="b.png"):
        build_store(root, out, patch_size=24, stride=18, scales=[2])
    assert not out.exists()
    assert not list(tmp_path.glob("s.h5*"))
