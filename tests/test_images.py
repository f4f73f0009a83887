"""Image reading conventions and the errors bad files give."""

import os
import stat

import numpy as np
import pytest
from PIL import Image

from patchmine.images import ImageError, image_size, read_image, write_png


def test_grey_is_repeated_to_three_channels(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(grey).save(tmp_path / "g.png")
    rgb = read_image(tmp_path / "g.png")
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], grey)


def test_alpha_is_dropped(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgba[:, :, :3])


def test_an_alpha_that_hid_pixels_is_named_and_an_opaque_one_is_not(tmp_path, caplog):
    """A cut-out saved as RGBA keeps whatever colour lies under its transparent part: the user
    is told how much of the image that is, for RGBA, grey+alpha and palette transparency."""
    rgba = np.full((4, 10, 4), 200, np.uint8)
    rgba[:, :, 3] = 255
    rgba[:, :3, 3] = 0  # 12 of 40 pixels transparent
    rgba[:, 3, 3] = 254  # 4 more barely see-through
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    Image.fromarray(rgba[:, :, [0, 3]], "LA").save(tmp_path / "grey.png")
    palette = Image.fromarray(np.zeros((4, 10), np.uint8), "P")
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.save(tmp_path / "pal.png", transparency=0)  # every pixel takes the transparent index
    rgba[:, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "opaque.png")
    with caplog.at_level("WARNING", logger="patchmine.images"):
        for name in ("cut", "grey", "pal", "opaque"):
            read_image(tmp_path / f"{name}.png")
    warned = {r.getMessage().split(":")[0]: r.getMessage() for r in caplog.records}
    assert sorted(warned) == sorted(str(tmp_path / f"{n}.png") for n in ("cut", "grey", "pal"))
    assert "40.0% of its pixels are transparent or partly so" in warned[str(tmp_path / "cut.png")]
    assert "40.0%" in warned[str(tmp_path / "grey.png")]
    assert "100.0%" in warned[str(tmp_path / "pal.png")]


def test_a_single_see_through_pixel_is_named(tmp_path, caplog):
    """Any pixel whose colour an alpha channel hid counts: one of 200 is 0.5% of the image."""
    rgba = np.full((10, 20, 4), 255, np.uint8)
    rgba[4, 7, 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "one.png")
    with caplog.at_level("WARNING", logger="patchmine.images"):
        read_image(tmp_path / "one.png")
    [record] = caplog.records
    assert "0.5% of its pixels are transparent or partly so" in record.getMessage()


def test_sixteen_bit_is_scaled_by_257(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "d.png")
    out = read_image(tmp_path / "d.png")
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 255, 128])


def test_truncated_file_error_names_the_file(tmp_path):
    good = np.zeros((64, 64, 3), np.uint8)
    write_png(tmp_path / "ok.png", good)
    data = (tmp_path / "ok.png").read_bytes()
    bad = tmp_path / "broken.png"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="broken.png"):
        read_image(bad)


def test_not_an_image_and_missing_file(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(ImageError, match="notes.png"):
        read_image(tmp_path / "notes.png")
    with pytest.raises(ImageError, match="absent.png: no such file"):
        read_image(tmp_path / "absent.png")


def test_write_png_round_trips_and_leaves_no_temporary(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    write_png(tmp_path / "sub" / "x.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "sub" / "x.png"), image)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["x.png"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_pngs_get_the_umask_permissions(tmp_path, umask):
    """Like any other output (a temporary file's 0600 would survive the rename)."""
    old = os.umask(umask)
    try:
        write_png(tmp_path / "x.png", np.zeros((2, 2, 3), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.png").stat().st_mode) == 0o666 & ~umask


def _with_chunk_before_iend(png: bytes, kind: bytes, data: bytes) -> bytes:
    """A PNG file with one more chunk just before IEND (after the image data)."""
    import struct
    import zlib

    chunk = struct.pack(">I", len(data)) + kind + data
    chunk += struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    end = png.rindex(b"IEND") - 4  # the IEND chunk's length field
    return png[:end] + chunk + png[end:]


def test_a_png_orientation_stored_after_the_image_data_is_seen_by_size_and_pixels(tmp_path):
    from patchmine.images import image_size

    stored = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(stored).save(tmp_path / "plain.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    late = _with_chunk_before_iend(
        (tmp_path / "plain.png").read_bytes(), b"eXIf", exif.tobytes(8)[6:]
    )
    (tmp_path / "late.png").write_bytes(late)
    assert late.index(b"eXIf") > late.index(b"IDAT")
    shown = read_image(tmp_path / "late.png")  # Pillow finds the chunk when it decodes
    np.testing.assert_array_equal(shown, np.rot90(stored, k=-1))
    assert image_size(tmp_path / "late.png") == (40, 30) == shown.shape[:2]
    assert image_size(tmp_path / "plain.png") == (30, 40)


def test_a_png_size_is_read_without_decoding_its_pixels(tmp_path, monkeypatch):
    """Sizes and greyness come from the header: decoding, as Pillow's getexif does to a PNG
    to look for an orientation after the image data, takes as long as reading the image."""
    from PIL import PngImagePlugin

    from patchmine.images import image_size, read_header

    Image.fromarray(np.zeros((30, 40), dtype=np.uint8)).save(tmp_path / "a.png")
    decoded = []
    load = PngImagePlugin.PngImageFile.load
    monkeypatch.setattr(
        PngImagePlugin.PngImageFile, "load", lambda img: decoded.append(1) or load(img)
    )
    assert image_size(tmp_path / "a.png") == (30, 40)
    assert read_header(tmp_path / "a.png").grey is True
    assert decoded == []
    assert read_image(tmp_path / "a.png").shape == (30, 40, 3) and decoded  # the spy sees loads


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_the_header_size_is_the_decoded_size_in_every_format(tmp_path, suffix, orientation):
    """Patch corners are placed from the header: it must agree with the pixels, whatever the
    format does with an EXIF orientation (Pillow 13 reports a TIFF's size already turned)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(path, exif=exif)
    turned = orientation in (6, 8)
    assert image_size(path) == read_image(path).shape[:2] == ((60, 40) if turned else (40, 60))


def test_a_32_bit_tiff_is_refused_rather_than_read_as_16_bit(tmp_path):
    """Values 0..255 in a 32-bit TIFF are no 16-bit image: divided by 257 they came out black.
    It is refused from its header too, so a folder's check before any job names it."""
    from patchmine.images import read_header

    Image.fromarray(np.full((8, 8), 200, np.int32)).save(tmp_path / "deep.tif")
    Image.fromarray(np.full((8, 8), 0.5, np.float32)).save(tmp_path / "float.tif")
    for read in (read_image, read_header):
        with pytest.raises(ImageError, match=r"deep\.tif: 32-bit integer pixels are not") as err:
            read(tmp_path / "deep.tif")
        assert "cannot be read as an image" not in str(err.value)  # the reason, not a wrapper
        with pytest.raises(ImageError, match=r"float\.tif: floating-point pixels are not"):
            read(tmp_path / "float.tif")
    sixteen = np.full((8, 8), 51400, np.uint16)  # 200 * 257
    Image.fromarray(sixteen).save(tmp_path / "sixteen.tif")
    assert (read_image(tmp_path / "sixteen.tif") == 200).all()


def test_a_file_of_several_frames_is_read_by_its_first_with_a_warning(tmp_path, caplog):
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (10, 20, 30)]
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:])
    assert (read_image(tmp_path / "pages.tif") == 10).all()
    assert "pages.tif holds 3 frames or pages: only the first is read" in caplog.text


def test_every_unreadable_file_is_named_at_once(tmp_path):
    """A phone dump with several broken files is fixed in one go, not one file per run."""
    from patchmine.images import read_headers

    write_png(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not a photograph")
    good = read_headers([tmp_path / "good.png"])
    assert [(h.height, h.width) for h in good] == [(8, 8)]
    files = [tmp_path / n for n in ("empty.png", "good.png", "notes.jpg")]
    with pytest.raises(ImageError, match=r"2 of 3 files cannot be read") as err:
        read_headers(files)
    assert "empty.png: cannot be read" in str(err.value)
    assert "notes.jpg: cannot be read" in str(err.value)
    assert "good.png" not in str(err.value)
    many = [tmp_path / f"e{i:02d}.png" for i in range(12)]  # ten named, the rest counted
    for path in many:
        path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"12 of 12 files cannot be read") as err:
        read_headers(many)
    assert str(err.value).count("cannot be read as an image (") == 10
    assert str(err.value).endswith("… and 2 more")


def test_running_out_of_memory_names_the_image_and_its_size(tmp_path, monkeypatch):
    from patchmine import images

    write_png(tmp_path / "big.png", np.zeros((30, 40, 3), np.uint8))

    def no_memory(path):
        raise MemoryError()

    monkeypatch.setattr(images, "_decode", no_memory)
    with pytest.raises(ImageError, match=r"big\.png: out of memory decoding its 40x30 pixels"):
        read_image(tmp_path / "big.png")


def test_an_orientation_given_in_xmp_alone_is_seen_by_size_and_pixels(tmp_path):
    """Pillow reads a PNG's orientation from its XMP packet when it has no EXIF: the header's
    size must follow, or the corners would be placed on the unturned picture."""
    from PIL import PngImagePlugin

    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        'tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp)
    Image.fromarray(np.zeros((40, 100, 3), np.uint8)).save(tmp_path / "x.png", pnginfo=info)
    assert image_size(tmp_path / "x.png") == read_image(tmp_path / "x.png").shape[:2] == (100, 40)


def test_a_phones_mpo_photograph_is_read_without_a_frames_warning(tmp_path, caplog):
    """An MPO JPEG (a photograph and its preview or gain map) is the photograph, not an
    animation."""
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (90, 10)]
    frames[0].save(tmp_path / "phone.jpg", format="MPO", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "phone.jpg") as img:
        assert img.format == "MPO" and img.n_frames == 2
    assert abs(int(read_image(tmp_path / "phone.jpg").mean()) - 90) <= 2
    assert "frames or pages" not in caplog.text
