"""Every dataset source ends up in one canonical layout, or stops with a message naming the file."""

import csv
import fnmatch
import re
import struct
import zlib

import numpy as np
import pytest
from conftest import BENCHMARK, need
from PIL import Image

from patchmine.datasets import (
    benchmark_images,
    case_insensitive,
    folder_images,
    hr_path,
    ingest,
    load_pairs,
    lr_path,
    mark_results_folder,
    read_manifest,
    skimage_images,
)
from patchmine.degrade import bicubic_lr
from patchmine.images import ImageError, is_plain_rgb_png, read_image, write_png
from patchmine.pairs import paired_images


def _image(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_real_benchmark_set_uses_its_matlab_lr_and_makes_missing_scales(tmp_path):
    need(BENCHMARK / "Set5")
    images = benchmark_images(BENCHMARK, "Set5")
    assert [im.name for im in images] == ["baby", "bird", "butterfly", "head", "woman"]
    assert all(set(im.lr) == {2} for im in images)
    ingest(images, tmp_path / "set5", scales=[2, 3])
    for im in images:
        given = read_image(im.lr[2])
        np.testing.assert_array_equal(read_image(lr_path(tmp_path / "set5", im.name, 2)), given)
        hr = read_image(im.path)
        made = read_image(lr_path(tmp_path / "set5", im.name, 3))
        np.testing.assert_array_equal(made, bicubic_lr(hr, 3))
    pairs = load_pairs(tmp_path / "set5", 2)
    assert [p[0] for p in pairs] == ["baby", "bird", "butterfly", "head", "woman"]


def test_grey_benchmark_image_is_ingested_as_rgb(tmp_path):
    need(BENCHMARK / "Set14" / "HR" / "bridge.png")
    bridge = [im for im in benchmark_images(BENCHMARK, "Set14") if im.name == "bridge"]
    ingest(bridge, tmp_path / "s", scales=[2])
    hr = read_image(tmp_path / "s" / "HR" / "bridge.png")
    assert hr.ndim == 3 and np.array_equal(hr[..., 0], hr[..., 2])


def test_synthetic_benchmark_tree(tmp_path):
    root = tmp_path / "benchmark"
    hr = _image((30, 41, 3))
    write_png(root / "Mine" / "HR" / "a.png", hr)
    write_png(root / "Mine" / "LR_bicubic" / "X2" / "ax2.png", bicubic_lr(hr, 2))
    images = benchmark_images(root, "Mine")
    assert images[0].lr == {2: root / "Mine" / "LR_bicubic" / "X2" / "ax2.png"}
    rows = ingest(images, tmp_path / "out", scales=[2, 4])
    assert rows[0]["height"] == 30 and rows[0]["width"] == 41
    assert read_image(lr_path(tmp_path / "out", "a", 4)).shape == (7, 10, 3)


def test_wrong_sized_benchmark_lr_is_named(tmp_path):
    root = tmp_path / "benchmark"
    write_png(root / "Mine" / "HR" / "a.png", _image((30, 40, 3)))
    write_png(root / "Mine" / "LR_bicubic" / "X2" / "ax2.png", _image((14, 20, 3)))
    with pytest.raises(ImageError, match="ax2.png"):
        ingest(benchmark_images(root, "Mine"), tmp_path / "out", scales=[2])


def _pairs_tree(tmp_path, scale=2, lr_name="{name}_lr", sizes=None):
    sizes = sizes or {"p1": (40, 50), "p2": (33, 47)}
    for i, (name, (h, w)) in enumerate(sizes.items()):
        write_png(tmp_path / "hr" / f"{name}.png", _image((h, w, 3), i))
        lr = _image((h // scale, w // scale, 3), 10 + i)  # "real" LR: not a bicubic of HR
        write_png(tmp_path / "lr" / (lr_name.format(name=name, scale=scale) + ".png"), lr)
    return tmp_path / "hr", tmp_path / "lr"


def test_pairs_are_matched_by_name_and_keep_their_real_lr(tmp_path):
    hr, lr = _pairs_tree(tmp_path, lr_name="{name}x{scale}")
    images = paired_images(hr, lr, 2, lr_name="{name}x{scale}")
    ingest(images, tmp_path / "out", scales=[2])
    for im in images:
        np.testing.assert_array_equal(
            read_image(lr_path(tmp_path / "out", im.name, 2)), read_image(im.lr[2])
        )
    assert [row["name"] for row in read_manifest(tmp_path / "out")] == ["p1", "p2"]


def test_realsr_pairs_share_one_folder_and_are_told_apart_by_hr_name(tmp_path):
    """RealSR (Cai et al. 2019): Canon_001_HR.png beside Canon_001_LR2.png, one folder."""
    folder = tmp_path / "Canon" / "Train" / "2"
    folder.mkdir(parents=True)
    for i in (1, 2):
        write_png(folder / f"Canon_00{i}_HR.png", _image((40, 50, 3), i))
        write_png(folder / f"Canon_00{i}_LR2.png", _image((20, 25, 3), 10 + i))
    images = paired_images(folder, folder, 2, lr_name="{name}_LR{scale}", hr_name="{name}_HR")
    assert [(im.name, im.path.name, im.lr[2].name) for im in images] == [
        ("Canon_001", "Canon_001_HR.png", "Canon_001_LR2.png"),
        ("Canon_002", "Canon_002_HR.png", "Canon_002_LR2.png"),
    ]
    ingest(images, tmp_path / "out", scales=[2])
    got = read_image(lr_path(tmp_path / "out", "Canon_002", 2))
    np.testing.assert_array_equal(got, read_image(folder / "Canon_002_LR2.png"))
    with pytest.raises(ValueError, match=r"no image's name fits hr_name '\{name\}_GT'"):
        paired_images(folder, folder, 2, lr_name="{name}_LR{scale}", hr_name="{name}_GT")


def test_pair_without_partner_is_named(tmp_path):
    hr, lr = _pairs_tree(tmp_path)
    (lr / "p2_lr.png").unlink()
    with pytest.raises(ValueError, match=r"p2\.png.*p2_lr"):
        paired_images(hr, lr, 2, lr_name="{name}_lr")


def test_pair_with_wrong_scale_is_named(tmp_path):
    hr, lr = _pairs_tree(tmp_path, sizes={"odd": (40, 50)})
    write_png(lr / "odd_lr.png", _image((13, 16, 3)))
    with pytest.raises(ImageError, match=r"odd\.png / .*odd_lr\.png.*40x50.*13x16"):
        ingest(paired_images(hr, lr, 2, lr_name="{name}_lr"), tmp_path / "out", scales=[2])


def test_pair_crop_rule(tmp_path):
    hr, lr = _pairs_tree(tmp_path, sizes={"o": (33, 47)})  # HR one pixel over 2 x LR
    ingest(paired_images(hr, lr, 2, lr_name="{name}_lr"), tmp_path / "a", scales=[2])
    with pytest.raises(ImageError, match="crop is off"):
        ingest(paired_images(hr, lr, 2, lr_name="{name}_lr", crop=False), tmp_path / "b", [2])


def test_empty_folder_and_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="empty holds no images"):
        folder_images(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        folder_images(tmp_path / "nowhere")


def test_files_that_share_a_name_are_named(tmp_path):
    from PIL import Image

    write_png(tmp_path / "a.png", _image((20, 20, 3)))
    Image.fromarray(_image((20, 20, 3))).save(tmp_path / "a.jpg")
    write_png(tmp_path / "b.png", _image((20, 20, 3)))
    with pytest.raises(ValueError, match=r"share a name.*a\.jpg; .*a\.png"):
        folder_images(tmp_path)
    assert [im.name for im in folder_images(tmp_path, "*.png")] == ["a", "b"]


def test_a_camera_dump_names_a_repeated_file_after_its_subfolder(tmp_path, caplog):
    """A camera starts IMG_0001 again in each DCIM folder: those files are told apart by their
    subfolders (every other keeps its own name), and a name made so that another file already
    has is still refused."""
    for sub, seed in (("100CANON", 0), ("101CANON", 1)):
        write_png(tmp_path / "DCIM" / sub / "IMG_0001.png", _image((20, 20, 3), seed))
    write_png(tmp_path / "DCIM" / "IMG_0001.png", _image((20, 20, 3), 2))
    write_png(tmp_path / "DCIM" / "100CANON" / "IMG_0002.png", _image((20, 20, 3), 3))
    with caplog.at_level("INFO", logger="patchmine.datasets"):
        images = folder_images(tmp_path / "DCIM", "**/*")
    assert {im.name: im.path.relative_to(tmp_path / "DCIM").as_posix() for im in images} == {
        "IMG_0001": "IMG_0001.png",
        "100CANON_IMG_0001": "100CANON/IMG_0001.png",
        "101CANON_IMG_0001": "101CANON/IMG_0001.png",
        "IMG_0002": "100CANON/IMG_0002.png",
    }
    assert "2 files share their name with a file in another subfolder" in caplog.text
    assert "100CANON/IMG_0001.png -> 100CANON_IMG_0001" in caplog.text
    write_png(tmp_path / "DCIM" / "100CANON_IMG_0001.png", _image((20, 20, 3), 4))
    with pytest.raises(
        ValueError,
        match=r"share a name.*100CANON/IMG_0001\.png; .*DCIM/100CANON_IMG_0001\.png; rename",
    ):
        folder_images(tmp_path / "DCIM", "**/*")


def test_small_images_are_skipped_and_counted(tmp_path):
    write_png(tmp_path / "in" / "big.png", _image((64, 64, 3)))
    write_png(tmp_path / "in" / "tiny.png", _image((20, 90, 3)))
    rows = ingest(folder_images(tmp_path / "in"), tmp_path / "out", scales=[2], min_size=48)
    assert [r["name"] for r in rows] == ["big"]
    with open(tmp_path / "out" / "skipped.csv") as handle:
        skipped = list(csv.DictReader(handle))
    assert [(s["name"], s["height"], s["width"]) for s in skipped] == [("tiny", "20", "90")]
    assert "48" in skipped[0]["reason"]


def test_corrupt_image_in_a_folder_is_named_and_earlier_output_kept(tmp_path):
    write_png(tmp_path / "in" / "a.png", _image((40, 40, 3)))
    (tmp_path / "in" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ImageError, match="b.png"):
        ingest(folder_images(tmp_path / "in"), tmp_path / "out", scales=[2], workers=2)
    assert not (tmp_path / "out" / "manifest.csv").exists()  # incomplete set is never "done"


def test_unknown_skimage_name():
    with pytest.raises(ValueError, match="mona"):
        skimage_images(["coffee", "mona"])


def test_plain_rgb_pngs_are_copied_byte_for_byte_and_others_converted(tmp_path):
    from PIL import Image

    write_png(tmp_path / "in" / "rgb.png", _image((40, 40, 3)))
    Image.fromarray(_image((40, 40), 3)).save(tmp_path / "in" / "grey.png")
    ingest(folder_images(tmp_path / "in"), tmp_path / "out", scales=[2], workers=2)
    copied = (tmp_path / "out" / "HR" / "rgb.png").read_bytes()
    assert copied == (tmp_path / "in" / "rgb.png").read_bytes()
    grey = read_image(tmp_path / "out" / "HR" / "grey.png")
    assert grey.shape == (40, 40, 3)
    np.testing.assert_array_equal(grey[..., 1], read_image(tmp_path / "in" / "grey.png")[..., 0])


def _png16(path, values):
    """A 16-bit RGB PNG written by hand (IHDR bit depth 16, colour type 2, rows unfiltered)."""
    rows = np.asarray(values, dtype=">u2")
    height, width, _ = rows.shape
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(height))

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_a_16_bit_colour_png_is_ingested_as_8_bit(tmp_path):
    values = np.random.default_rng(2).integers(0, 65536, (12, 10, 3))
    _png16(tmp_path / "in" / "deep.png", values)
    assert not is_plain_rgb_png(tmp_path / "in" / "deep.png")  # so it is not copied as is
    ingest(folder_images(tmp_path / "in"), tmp_path / "out", scales=[2])
    written = hr_path(tmp_path / "out", "deep")
    assert written.read_bytes()[24] == 8  # IHDR bit depth
    np.testing.assert_array_equal(read_image(written), values >> 8)  # Pillow keeps the high byte


def test_an_image_shorter_than_the_scale_is_skipped_by_name(tmp_path):
    write_png(tmp_path / "in" / "sliver.png", _image((3, 20, 3)))
    write_png(tmp_path / "in" / "fine.png", _image((8, 8, 3)))
    rows = ingest(folder_images(tmp_path / "in"), tmp_path / "out", scales=[4])
    assert [r["name"] for r in rows] == ["fine"]
    skipped = (tmp_path / "out" / "skipped.csv").read_text()
    assert "sliver" in skipped and "smaller than 4 pixels" in skipped


def test_two_lr_partners_for_one_hr_image_are_an_error_naming_both(tmp_path):
    write_png(tmp_path / "hr" / "a.png", _image((8, 8, 3)))
    write_png(tmp_path / "lr" / "a.png", _image((4, 4, 3)))
    Image.fromarray(_image((4, 4, 3))).save(tmp_path / "lr" / "a.bmp")
    with pytest.raises(ValueError, match=r"more than one LR.*hr/a\.png: .*a\.bmp, .*a\.png"):
        paired_images(tmp_path / "hr", tmp_path / "lr", 2)


def test_hidden_files_are_skipped_and_other_files_named(tmp_path, caplog):
    write_png(tmp_path / "a.png", _image((20, 20, 3)))
    (tmp_path / "._a.png").write_bytes(b"\x00\x05\x16\x07" + bytes(20))  # macOS AppleDouble
    (tmp_path / "notes.txt").write_text("not an image")
    Image.fromarray(_image((20, 20), 1)).save(tmp_path / "b.pgm")  # Netpbm grey
    Image.fromarray(_image((20, 20, 3), 2)).save(tmp_path / "c.jfif", format="JPEG")
    (tmp_path / "more").mkdir()
    write_png(tmp_path / "more" / "d.png", _image((20, 20, 3), 3))
    with caplog.at_level("WARNING"):
        images = folder_images(tmp_path)
    assert [im.name for im in images] == ["a", "b", "c"]
    assert "1 files are not read" in caplog.text and "notes.txt" in caplog.text
    assert "1 subfolders are not read" in caplog.text and "'**/*' reads them" in caplog.text
    assert "._a" not in caplog.text
    assert [im.name for im in folder_images(tmp_path, "**/*")] == ["a", "b", "c", "d"]
    only_sub = tmp_path / "only_sub"
    (only_sub / "inner").mkdir(parents=True)
    write_png(only_sub / "inner" / "e.png", _image((20, 20, 3)))
    with pytest.raises(ValueError, match=r"holds no images .* subfolders \(inner\)"):
        folder_images(only_sub)


@pytest.mark.parametrize(
    "pattern",
    ["*", "*.png", "IMG_[0-9]*.JPG", "[a-c]*", "[!x]*.tif", "[]a]*", "[!]a]*", "a[b*", "[^X]*"],
)
def test_a_pattern_matches_as_fnmatch_does_when_told_to_ignore_case(pattern):
    """The reference is fnmatch's own translation matched with re.IGNORECASE (what Python 3.12's
    ``glob(case_sensitive=False)`` does)."""
    names = ["a.png", "A.PNG", "IMG_0001.JPG", "img_0002.jpg", "IMG_x.JPG", "b.Png", "C.tif"]
    names += ["x.TIF", "X.tif", "]a.png", "]A.png", "a[b.png", "A[B.PNG", "^x.tif", "z.tif"]
    ours = re.compile(fnmatch.translate(case_insensitive(pattern)))
    reference = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
    for name in names:
        assert bool(ours.fullmatch(name)) == bool(reference.fullmatch(name)), name


def test_a_folders_pattern_ignores_case(tmp_path):
    for i, name in enumerate(["IMG_0001.JPG", "img_0002.jpg", "scan.png"]):
        Image.fromarray(_image((20, 20, 3), i)).save(tmp_path / name, format="PNG")
    (tmp_path / "Raw").mkdir()
    Image.fromarray(_image((20, 20, 3), 5)).save(tmp_path / "Raw" / "c.PNG")
    assert [im.name for im in folder_images(tmp_path, "*.jpg")] == ["IMG_0001", "img_0002"]
    assert [im.name for im in folder_images(tmp_path, "raw/*.png")] == ["c"]


def test_a_folder_read_with_subfolders_never_reads_patchmines_results(tmp_path):
    # mining `.` with '**/*' from the working directory: results/ lies inside the folder read
    for sub, name in [(".", "a.png"), ("trip", "b.png"), ("results/mined/x/png/HR", "c.png")]:
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
        Image.fromarray(_image((20, 20, 3))).save(tmp_path / sub / name)
    assert len(folder_images(tmp_path, "**/*")) == 3  # not marked: an ordinary folder
    mark_results_folder(tmp_path / "results")
    mark_results_folder(tmp_path / "results")  # idempotent
    assert [im.name for im in folder_images(tmp_path, "**/*")] == ["a", "b"]
    # the results themselves, named as the folder, are read as asked
    assert [im.name for im in folder_images(tmp_path / "results", "**/*")] == ["c"]


def test_results_that_cannot_be_written_are_left_unmarked(tmp_path, caplog):
    folder = tmp_path / "archived"
    folder.write_text("a file where the results folder would be")  # mkdir fails, as read-only
    mark_results_folder(folder)
    assert "cannot mark" in caplog.text


def test_exif_orientation_is_applied_to_pixels_and_sizes(tmp_path):
    from patchmine.images import image_size

    stored = _image((30, 40, 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise, as phones store portraits
    Image.fromarray(stored).save(tmp_path / "portrait.png", exif=exif)
    shown = read_image(tmp_path / "portrait.png")
    np.testing.assert_array_equal(shown, np.rot90(stored, k=-1))
    assert image_size(tmp_path / "portrait.png") == (40, 30) == shown.shape[:2]
    assert not is_plain_rgb_png(tmp_path / "portrait.png")  # re-encoded upright, never copied
    ingest(folder_images(tmp_path), tmp_path / "out", scales=[2])
    np.testing.assert_array_equal(read_image(hr_path(tmp_path / "out", "portrait")), shown)


def test_photographs_above_pillows_bomb_limit_are_read(tmp_path):
    from patchmine.images import image_size

    big = Image.new("1", (14_000, 13_000))  # 182 megapixels, 23 MB as bits
    big.save(tmp_path / "big.png")
    assert image_size(tmp_path / "big.png") == (13_000, 14_000)


def test_a_matlab_lr_of_an_uncropped_hr_is_cropped_onto_the_same_grid(tmp_path):
    from patchmine.imresize import imresize

    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
    hr = _image((41, 51, 3))
    lr = imresize(hr, 0.5)  # MATLAB's imresize(hr, 0.5): ceil(41/2) x ceil(51/2)
    assert lr.shape[:2] == (21, 26)
    write_png(hr_dir / "p.png", hr)
    write_png(lr_dir / "p_lr.png", lr)
    ingest(paired_images(hr_dir, lr_dir, 2, lr_name="{name}_lr"), tmp_path / "out", scales=[2])
    np.testing.assert_array_equal(read_image(lr_path(tmp_path / "out", "p", 2)), lr[:20, :25])
    ((name, hr_read, lr_read),) = load_pairs(tmp_path / "out", 2)
    assert hr_read.shape[:2] == (40, 50) and lr_read.shape[:2] == (20, 25)


def test_a_set_used_only_for_denoising_is_ingested_without_lr(tmp_path):
    write_png(tmp_path / "src" / "a.png", _image((30, 40, 3)))
    rows = ingest(folder_images(tmp_path / "src"), tmp_path / "out", scales=[], min_size=8)
    assert [r["name"] for r in rows] == ["a"]
    assert not (tmp_path / "out" / "LR_bicubic").exists()


def test_an_ingested_lr_of_the_wrong_width_is_named(tmp_path):
    root = tmp_path / "set"
    write_png(root / "HR" / "a.png", _image((20, 20, 3)))
    write_png(root / "LR_bicubic" / "X2" / "ax2.png", _image((10, 9, 3)))
    (root / "manifest.csv").write_text("name,height,width,source\na,20,20,x\n")
    with pytest.raises(ImageError, match=r"ax2\.png: LR size \(10, 9\)"):
        load_pairs(root, 2)


def test_links_that_are_not_read_are_named(tmp_path, caplog):
    """A link leading nowhere, and a linked folder (not walked into, by '**/*' either), would
    otherwise leave images out without a word."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "elsewhere").mkdir()
    write_png(tmp_path / "photos" / "a.png", np.zeros((8, 8, 3), np.uint8))
    write_png(tmp_path / "elsewhere" / "b.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "photos" / "more").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "photos" / "gone.png").symlink_to(tmp_path / "nothing.png")
    for pattern in ("*", "**/*"):
        caplog.clear()
        assert [im.name for im in folder_images(tmp_path / "photos", pattern)] == ["a"]
        assert "1 links lead nowhere and are not read: gone.png" in caplog.text
        assert "1 linked folders are not followed" in caplog.text and ": more" in caplog.text
        assert "'**/*' reads them" not in caplog.text  # it would not
