"""Real-world LR/HR pairs: every file accounted for, every unfit pair named before any decoding."""

import numpy as np
import pytest
import yaml

from patchmine.datasets import ingest
from patchmine.images import ImageError, write_png
from patchmine.pairs import check_given_lr, lr_fits, paired_images


def _png(path, shape, seed=0):
    write_png(path, np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))


def test_the_size_rule_is_the_canonical_grid():
    """LR = HR // s, or MATLAB's ceil(HR / s) of an uncropped HR; exactly s x LR with crop off."""
    fit = [((40, 50), (20, 25)), ((41, 51), (20, 25)), ((41, 51), (21, 26))]
    fit += [((41, 50), (20, 25)), ((41, 50), (21, 25))]  # ceil in one direction only
    for hr, lr in fit:
        assert lr_fits(hr, lr, 2, crop=True)
    # one more row and column only where MATLAB rounds up (40x50 has no partial pixel at x2)
    unfit = [((42, 50), (20, 25)), ((40, 50), (40, 50)), ((20, 25), (40, 50)), ((40, 50), (21, 26))]
    for hr, lr in unfit:
        assert not lr_fits(hr, lr, 2, crop=True)
    assert lr_fits((40, 50), (20, 25), 2, crop=False)
    assert not lr_fits((41, 50), (20, 25), 2, crop=False)
    assert lr_fits((40, 50), (13, 16), 3, crop=True) and not lr_fits((40, 52), (13, 16), 3, True)


def test_files_that_pair_with_nothing_are_named(tmp_path, caplog):
    hr, lr = tmp_path / "hr", tmp_path / "lr"
    for name in ("p1", "p2"):
        _png(hr / f"{name}_HR.png", (8, 8, 3))
        _png(lr / f"{name}_LR2.png", (4, 4, 3))
    _png(hr / "p3_hr.png", (8, 8, 3))  # a case apart from hr_name: left out, and said so
    _png(lr / "p3_hr_LR2.png", (4, 4, 3))  # its partner: nobody's
    _png(lr / "p1_LR4.png", (2, 2, 3))  # another scale's partner, not a stray
    _png(lr / "notes.png", (4, 4, 3))
    with caplog.at_level("WARNING"):
        pairs = paired_images(hr, lr, 2, lr_name="{name}_LR{scale}", hr_name="{name}_HR")
    assert [im.name for im in pairs] == ["p1", "p2"]
    assert "1 image file(s) in" in caplog.text and "p3_hr.png" in caplog.text
    assert "matched with case" in caplog.text
    strays = next(r.getMessage() for r in caplog.records if "no HR image's x2" in r.getMessage())
    assert "2 image file(s)" in strays and "notes.png" in strays and "p3_hr_LR2.png" in strays
    assert "p1_LR4" not in caplog.text


def test_in_one_folder_an_images_lr_partner_is_not_an_image(tmp_path, caplog):
    """hr_name left at "{name}" beside lr_name "{name}_LR": a_LR.png is a's partner, not an HR
    image wanting a partner a_LR_LR."""
    for name in ("a", "b"):
        _png(tmp_path / f"{name}.png", (8, 8, 3))
        _png(tmp_path / f"{name}_LR.png", (4, 4, 3))
    with caplog.at_level("WARNING"):
        pairs = paired_images(tmp_path, tmp_path, 2, lr_name="{name}_LR")
    assert [(im.name, im.lr[2].name) for im in pairs] == [("a", "a_LR.png"), ("b", "b_LR.png")]
    assert caplog.text == ""


def test_an_lr_partner_lies_in_the_subfolder_that_mirrors_its_hr_image(tmp_path):
    for sub, name in (("Canon", "c1"), ("Nikon", "n1")):
        _png(tmp_path / "HR" / sub / f"{name}.png", (8, 8, 3))
        _png(tmp_path / "LR" / sub / f"{name}.png", (4, 4, 3))
    pairs = paired_images(tmp_path / "HR", tmp_path / "LR", 2, pattern="**/*")
    assert {im.name: im.lr[2] for im in pairs} == {
        "c1": tmp_path / "LR" / "Canon" / "c1.png",
        "n1": tmp_path / "LR" / "Nikon" / "n1.png",
    }
    (tmp_path / "LR" / "Nikon" / "n1.png").rename(tmp_path / "LR" / "n1.png")
    with pytest.raises(ValueError, match=r"1 of 2 HR image\(s\) .*expected .*LR/Nikon/n1\.\*"):
        paired_images(tmp_path / "HR", tmp_path / "LR", 2, pattern="**/*")


def test_one_name_in_two_subfolders_pairs_in_each_and_is_told_apart(tmp_path, caplog):
    """RealSR keeps Canon_001_HR.png under both 2/ and 3/: each pairs with the LR of its own
    subfolder, by the file's own name, and the two images get names of their own."""
    for scale_folder, seed in (("2", 0), ("3", 1)):
        _png(tmp_path / scale_folder / "Canon_001_HR.png", (8, 8, 3), seed)
        _png(tmp_path / scale_folder / "Canon_001_LR2.png", (4, 4, 3), seed)
    with caplog.at_level("INFO", logger="patchmine.datasets"):
        pairs = paired_images(
            tmp_path, tmp_path, 2, pattern="**/*", hr_name="{name}_HR", lr_name="{name}_LR{scale}"
        )
    (renamed,) = [
        r.getMessage() for r in caplog.records if "named after their subfolder" in r.getMessage()
    ]
    assert renamed.endswith(
        "2 files share their name with a file in another subfolder and are "
        "named after their subfolder too: 2/Canon_001_HR.png -> 2_Canon_001, "
        "3/Canon_001_HR.png -> 3_Canon_001"
    )  # the images only, not their LR partners
    assert [(im.name, im.path, im.lr[2]) for im in pairs] == [
        ("2_Canon_001", tmp_path / "2" / "Canon_001_HR.png", tmp_path / "2" / "Canon_001_LR2.png"),
        ("3_Canon_001", tmp_path / "3" / "Canon_001_HR.png", tmp_path / "3" / "Canon_001_LR2.png"),
    ]


def test_missing_partners_are_counted_and_a_few_named_with_what_is_there(tmp_path):
    for i in range(12):
        _png(tmp_path / "hr" / f"{i:04d}.png", (8, 8, 3))
        _png(tmp_path / "lr" / f"{i:04d}x2.png", (4, 4, 3))
    with pytest.raises(ValueError) as raised:
        paired_images(tmp_path / "hr", tmp_path / "lr", 2, lr_name="{name}_x{scale}")
    message = str(raised.value)
    assert message.startswith("12 of 12 HR image(s) have no LR partner named by lr_name")
    assert "0000_x2.*" in message and "and 7 more" in message
    assert "files there: 0000x2.png" in message  # what lr_name should have made
    assert len(message) < 1500


def test_every_unfit_pair_is_named_before_any_is_decoded(tmp_path, monkeypatch):
    sizes = {"a": (20, 20), "b": (9, 10), "c": (15, 20)}  # HR 40x40: b and c do not fit x2
    for name, lr_size in sizes.items():
        _png(tmp_path / "hr" / f"{name}.png", (40, 40, 3))
        _png(tmp_path / "lr" / f"{name}.png", (*lr_size, 3))
    pairs = paired_images(tmp_path / "hr", tmp_path / "lr", 2)
    monkeypatch.setattr("patchmine.datasets.read_image", lambda path: pytest.fail("decoded"))
    with pytest.raises(ImageError) as raised:
        ingest(pairs, tmp_path / "out", scales=[2])
    message = str(raised.value)
    assert "b.png: HR is 40x40 but LR is 9x10" in message
    assert "and 1 more pair(s): " in message and message.endswith("c.png")
    assert not (tmp_path / "out" / "HR").exists()


def test_lr_files_as_large_as_their_hr_images_get_a_hint(tmp_path):
    for name in ("a", "b"):
        _png(tmp_path / "hr" / f"{name}.png", (40, 40, 3))
        _png(tmp_path / "lr" / f"{name}.png", (40, 40, 3))  # upsampled back to the HR size
    with pytest.raises(ImageError, match=r"as large as their HR images .*swapped.*downscale"):
        check_given_lr(paired_images(tmp_path / "hr", tmp_path / "lr", 2))


def test_a_colour_partner_of_a_grey_image_is_named(tmp_path, caplog):
    _png(tmp_path / "hr" / "g.png", (8, 8))
    _png(tmp_path / "lr" / "g.png", (4, 4, 3))
    _png(tmp_path / "hr" / "c.png", (8, 8, 3))
    _png(tmp_path / "lr" / "c.png", (4, 4, 3))
    with caplog.at_level("WARNING"):
        check_given_lr(paired_images(tmp_path / "hr", tmp_path / "lr", 2))
    assert "1 pair(s) mix a grey and a colour image" in caplog.text
    assert "g.png (grey)" in caplog.text and "c.png" not in caplog.text


def test_a_plan_names_unfit_pairs_before_any_job_runs(tmp_path):
    from test_workflow import snakemake

    _png(tmp_path / "hr" / "a.png", (64, 64, 3))
    _png(tmp_path / "lr" / "a.png", (30, 32, 3))
    config = {
        "datasets": {"real": {"source": "pairs", "hr": "hr", "lr": "lr", "scale": 2}},
        "mine": {"images": "real", "patch_size": 32},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    dry = snakemake(tmp_path, "-n", "mine")
    assert dry.returncode != 0
    assert "a.png: HR is 64x64 but LR is 30x32" in dry.stdout + dry.stderr
    # LR files that are no images are all named at once too, not one per run
    _png(tmp_path / "hr" / "b.png", (64, 64, 3))
    for name in ("a.png", "b.png"):
        (tmp_path / "lr" / name).write_bytes(b"")
    dry = snakemake(tmp_path, "-n", "mine")
    said = dry.stdout + dry.stderr
    assert dry.returncode != 0 and "2 of 4 files cannot be read as images" in said, said[-2000:]
    assert "lr/a.png: cannot be read" in said and "lr/b.png: cannot be read" in said


def test_one_folder_spelt_two_ways_is_still_one_folder(tmp_path, caplog):
    folder = tmp_path / "RealSR"
    for name in ("a", "b"):
        _png(folder / f"{name}_HR.png", (8, 8, 3))
        _png(folder / f"{name}_LR2.png", (4, 4, 3))
    other = tmp_path / "RealSR" / ".." / "RealSR"
    with caplog.at_level("WARNING"):
        pairs = paired_images(folder, other, 2, lr_name="{name}_LR{scale}", hr_name="{name}_HR")
    assert [im.name for im in pairs] == ["a", "b"] and caplog.text == ""
