"""numdream.images: reading every kind of file into (H, W, 3) uint8, and safe writing."""
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from numdream import images
from numdream.errors import ImageError
from numdream.images import (SAMPLES, check_not_input, check_output_path, default_output_path,
                             load_image, sample_path, save_image)

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _one_line_naming(err, path):
    msg = str(err.value)
    assert "\n" not in msg
    assert os.path.basename(str(path)) in msg
    return msg


# ---- bundled samples ----------------------------------------------------------------------

def test_samples_load_with_their_documented_shapes():
    assert sample_path() == SAMPLES["chelsea"]
    chelsea = load_image(sample_path("chelsea"))
    assert chelsea.shape == (300, 451, 3) and chelsea.flags.writeable
    assert load_image(sample_path("rocket")).shape == (427, 640, 3)
    licences = (images.DATA_DIR / "LICENSES.txt").read_text()
    assert "CC0" in licences and "public domain" in licences


def test_unknown_sample_lists_valid_names():
    with pytest.raises(ImageError, match="chelsea, rocket"):
        sample_path("dog")


# ---- modes --------------------------------------------------------------------------------

def test_exif_orientation_6_is_rotated_upright(tmp_path):
    # Stored 40 wide x 20 high with a red block top-left; orientation 6 = rotate 90 deg clockwise
    # to display, so the upright image is 20 wide x 40 high with the block top-right.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:10, :10] = RED
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())
    out = load_image(path)
    assert out.shape == (40, 20, 3)
    assert np.abs(out[5, 15].astype(int) - RED).max() < 40
    assert out[5, 5].max() < 40 and out[35, 15].max() < 40


def test_grayscale_L_repeats_into_three_channels(tmp_path):
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray)


def test_palette_with_transparency_composites_over_white(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 0 black (transparent), 1 red
    im.putpixel((1, 0), 1)
    im.save(tmp_path / "p.png", transparency=0)
    out = load_image(tmp_path / "p.png")
    assert tuple(out[0, 0]) == WHITE and tuple(out[0, 1]) == RED


def test_rgba_composites_over_white(tmp_path):
    rgba = np.array([[[255, 0, 0, 0], [255, 0, 0, 255], [0, 0, 0, 128]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert tuple(out[0, 0]) == WHITE and tuple(out[0, 1]) == RED
    assert tuple(out[0, 2]) == (127, 127, 127)  # 255 * (255 - 128) / 255, rounded


def test_la_composites_over_white(tmp_path):
    Image.fromarray(np.array([[[0, 0], [100, 255]]], np.uint8), "LA").save(tmp_path / "la.png")
    out = load_image(tmp_path / "la.png")
    assert tuple(out[0, 0]) == WHITE and tuple(out[0, 1]) == (100, 100, 100)


def test_cmyk_becomes_rgb(tmp_path):
    im = Image.new("CMYK", (2, 1), (0, 255, 255, 0))  # red
    im.putpixel((1, 0), (0, 0, 0, 255))  # black
    im.save(tmp_path / "c.tif")
    out = load_image(tmp_path / "c.tif")
    assert tuple(out[0, 0]) == RED and tuple(out[0, 1]) == (0, 0, 0)


@pytest.mark.parametrize("mode,ext", [("I;16", ".png"), ("I;16B", ".tif")])
def test_16bit_is_scaled_not_clipped(tmp_path, mode, ext):
    values = np.array([0, 255, 25700, 32768, 65535], np.uint16)
    raw = values.astype(">u2" if mode == "I;16B" else "<u2").tobytes()
    Image.frombytes(mode, (5, 1), raw).save(tmp_path / f"deep{ext}")
    with Image.open(tmp_path / f"deep{ext}") as im:
        assert im.mode == mode
    out = load_image(tmp_path / f"deep{ext}")
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 100, 128, 255])


def test_mode_I_is_taken_as_16bit():
    im = Image.fromarray(np.array([[0, 32768, 65535, 70000]], np.int32), "I")
    np.testing.assert_array_equal(load_image(im)[0, :, 1], [0, 128, 255, 255])


@pytest.mark.parametrize("values,expected", [
    ([0.0, 0.5, 1.0], [0, 128, 255]),      # [0, 1] scaled by 255
    ([0.0, 2.0, 200.0], [0, 2, 200]),      # [0, 255] kept
    ([-1.0, 0.0, 3.0], [0, 64, 255]),      # neither: a file's min..max is stretched
    ([-5.0, -5.0, -5.0], [0, 0, 0]),       # constant outside both: no division by zero
])
def test_float_F_images(tmp_path, values, expected):
    Image.fromarray(np.array([values], np.float32), "F").save(tmp_path / "f.tif")
    with Image.open(tmp_path / "f.tif") as im:
        assert im.mode == "F"
    np.testing.assert_array_equal(load_image(tmp_path / "f.tif")[0, :, 2], expected)


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (4, 4), RED), Image.new("RGB", (4, 4), BLUE)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    with Image.open(tmp_path / "anim.gif") as im:
        assert im.n_frames == 2
    out = load_image(tmp_path / "anim.gif")
    assert out.shape == (4, 4, 3) and (out == RED).all()


# ---- arrays and PIL images ----------------------------------------------------------------

@pytest.mark.parametrize("array,expected", [
    (np.array([[7, 200]], np.uint8), [[7, 7, 7], [200, 200, 200]]),
    (np.array([[[7], [200]]], np.int64), [[7, 7, 7], [200, 200, 200]]),
    (np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8), [[1, 2, 3], [4, 5, 6]]),
    (np.array([[[0.0, 0.5, 1.0]]]), [[0, 128, 255]]),
    (np.array([[[0.0, 2.0, 200.0]]], np.float32), [[0, 2, 200]]),
    (np.array([[[0, 32768, 65535]]], np.uint16), [[0, 128, 255]]),
    (np.array([[True, False]]), [[255] * 3, [0] * 3]),
    (np.array([[[255, 0, 0, 0], [255, 0, 0, 255]]], np.uint8), [WHITE, RED]),
    (np.array([[[9, 0], [9, 255]]], np.uint8), [WHITE, [9, 9, 9]]),
])
def test_arrays_become_rgb_uint8(array, expected):
    out = load_image(array)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.array([expected], np.uint8))


def test_array_result_is_a_copy():
    rgb = np.zeros((2, 2, 3), np.uint8)
    load_image(rgb)[:] = 9
    assert rgb.max() == 0


@pytest.mark.parametrize("bad,words", [
    (np.zeros(5, np.uint8), "shape (5,)"),
    (np.zeros((1, 2, 3, 3), np.uint8), "shape (1, 2, 3, 3)"),
    (np.zeros((3, 8, 9), np.uint8), "channels-first"),
    (np.zeros((0, 4, 3), np.uint8), "H, W > 0"),
    (np.array([[[0.0, 300.0, -1.0]]]), "[0, 1] or in [0, 255]"),
    (np.array([[[0.0, np.nan, 1.0]]]), "NaN"),
    (np.array([[[0, 256, 3]]], np.int32), "[0, 255]"),
    (np.array([["a", "b"]]), "dtype"),
    ("no/such/file.png", "no such file"),
    (42, "shape ()"),
])
def test_nonsense_sources_are_rejected_clearly(bad, words):
    with pytest.raises(ImageError) as err:
        load_image(bad)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_pil_image_source_is_converted():
    out = load_image(Image.new("LA", (3, 2), (50, 255)))
    assert out.shape == (2, 3, 3) and (out == 50).all()


# ---- errors while reading -----------------------------------------------------------------

@pytest.mark.parametrize("pixels,size", [(144, 12), (400, 20)])  # warning zone, error zone
def test_decompression_bomb_is_refused_with_counts(tmp_path, monkeypatch, pixels, size):
    default = Image.MAX_IMAGE_PIXELS
    assert default is not None and default > 10**7  # numdream must not disable the guard
    Image.new("RGB", (size, size)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "bomb.png")
    msg = _one_line_naming(err, "bomb.png")
    assert f"{pixels:,} pixels" in msg and "limit of 100" in msg


def _truncated(tmp_path, sample, name):
    data = sample_path(sample).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    return tmp_path / name


@pytest.mark.parametrize("make,words", [
    (lambda d: d / "missing.png", "no such file"),
    (lambda d: (d / "folder.png").mkdir() or d / "folder.png", "directory"),
    (lambda d: (d / "notes.png").write_text("hello") and d / "notes.png", "not an image"),
    (lambda d: _truncated(d, "chelsea", "half.png"), "truncated or corrupt"),
    (lambda d: _truncated(d, "rocket", "half.jpg"), "truncated or corrupt"),
])
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(ImageError) as err:
        load_image(path)
    assert words in _one_line_naming(err, path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_permission_denied_is_an_image_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(images.Image, "open", refuse)
    (tmp_path / "locked.png").write_bytes(b"\x89PNG")  # a regular file, which Pillow then cannot read
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "locked.png")
    assert "permission denied" in _one_line_naming(err, "locked.png")


# ---- saving -------------------------------------------------------------------------------

def _photo():
    return load_image(sample_path("chelsea"))[:64, :96]


@pytest.mark.parametrize("ext,max_error", [(".png", 0), (".bmp", 0), (".tif", 0),
                                           (".jpg", 12), (".JPEG", 12), (".webp", 12)])
def test_save_round_trip(tmp_path, ext, max_error):
    photo = _photo()
    save_image(tmp_path / f"out{ext}", photo)
    back = load_image(tmp_path / f"out{ext}")
    assert back.shape == photo.shape
    assert np.abs(back.astype(int) - photo).mean() <= max_error
    assert os.listdir(tmp_path) == [f"out{ext}"]  # no temp file left behind
    mask = os.umask(0o022)
    os.umask(mask)
    assert os.stat(tmp_path / f"out{ext}").st_mode & 0o777 == 0o666 & ~mask


def test_save_quality_changes_jpeg(tmp_path):
    save_image(tmp_path / "lo.jpg", _photo(), quality=10)
    save_image(tmp_path / "hi.jpg", _photo(), quality=95)
    assert os.path.getsize(tmp_path / "lo.jpg") < os.path.getsize(tmp_path / "hi.jpg")


@pytest.mark.parametrize("name,image,quality,words", [
    ("out.gif", None, 95, "valid extensions are .png, .jpg"),
    ("out", None, 95, "'(none)'"),
    ("out.png", np.zeros((4, 4, 3), np.float32), 95, "uint8 of shape (H, W, 3)"),
    ("out.png", np.zeros((4, 4, 2), np.uint8), 95, "uint8 of shape (H, W, 3)"),
    ("out.jpg", None, 0, "1..100"),
    ("nofolder/out.png", None, 95, "does not exist"),
])
def test_save_rejects_bad_requests(tmp_path, name, image, quality, words):
    with pytest.raises(ImageError) as err:
        save_image(tmp_path / name, _photo() if image is None else image, quality=quality)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert os.listdir(tmp_path) == []


def test_check_output_path_fails_before_the_dream(tmp_path):
    assert check_output_path(str(tmp_path / "ok.webp")) == tmp_path / "ok.webp"
    (tmp_path / "taken.png").mkdir()
    for name, words in [("taken.png", "is a directory"), ("out.txt", "valid extensions"),
                        ("missing/out.png", "does not exist")]:
        with pytest.raises(ImageError, match=words):
            check_output_path(tmp_path / name)
    assert os.listdir(tmp_path) == ["taken.png"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    save_image(target, _photo())
    before = _sha(target)

    def half_written(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("No space left on device")
    monkeypatch.setattr(Image.Image, "save", half_written)
    with pytest.raises(ImageError, match="No space left"):
        save_image(target, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ImageError):
        save_image(tmp_path / "new.png", _photo())
    assert os.listdir(tmp_path) == ["out.png"] and _sha(target) == before


# ---- output names and input protection ----------------------------------------------------

def test_default_output_path_is_beside_input_and_never_clobbers(tmp_path):
    photo = tmp_path / "photo.jpg"
    save_image(photo, _photo())
    assert default_output_path(photo) == tmp_path / "photo_dream.jpg"
    assert default_output_path(photo, ext=".png") == tmp_path / "photo_dream.png"
    assert default_output_path(photo, ext="webp") == tmp_path / "photo_dream.webp"
    (tmp_path / "photo_dream.jpg").write_bytes(b"mine")
    (tmp_path / "photo_dream_2.jpg").write_bytes(b"mine too")
    assert default_output_path(photo) == tmp_path / "photo_dream_3.jpg"
    assert default_output_path(photo, suffix="") == tmp_path / "photo_2.jpg"
    assert default_output_path(tmp_path / "clip.gif") == tmp_path / "clip_dream.png"


def test_default_output_of_a_sample_goes_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = default_output_path(sample_path("chelsea"))
    assert out == Path("chelsea_dream.png")
    save_image(out, _photo())
    assert default_output_path(sample_path("chelsea")) == Path("chelsea_dream_2.png")


def test_check_not_input_sees_through_spellings_and_links(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_image(tmp_path / "a.png", _photo())
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "a.png", tmp_path / "link.png")
    os.link(tmp_path / "a.png", tmp_path / "hard.png")
    same = ["./a.png", str(tmp_path / "a.png"), "sub/../a.png", "link.png", "hard.png"]
    for spelling in same:
        with pytest.raises(ImageError, match="is the input image"):
            check_not_input(spelling, "a.png")
        with pytest.raises(ImageError, match="is the input image"):
            check_not_input(str(tmp_path / "a.png"), spelling)
    check_not_input("b.png", "a.png")
    check_not_input("sub/a.png", "a.png")
    check_not_input("a.png", None)
    check_not_input("a.png", np.zeros((2, 2, 3), np.uint8))


def test_whole_flow_leaves_the_input_bytes_unchanged(tmp_path):
    photo = tmp_path / "photo.png"
    save_image(photo, _photo())
    before = _sha(photo)
    out = default_output_path(photo, suffix="")
    check_not_input(out, photo)
    save_image(out, 255 - load_image(photo))
    with pytest.raises(ImageError):
        check_not_input(photo, out.parent / "photo.png")
    assert _sha(photo) == before and _sha(out) != before
