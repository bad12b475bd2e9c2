"""Hostile files and paths: what is not a regular file (FIFO, device, folder, socket, link loop)
given as an image, a guide, a video or a zoom start; names too long for the file system; and
OSErrors (a full disk, a read-only file system) that reach the CLI's boundary. Each is refused
in one line naming the path and what it is, before anything opens it, and nothing blocks."""
import errno
import os
import signal

import numpy as np
import pytest

import numdream
from hostile_cli import DREAM, NOT_REGULAR, fingerprint, refused_in_process, write_clip, write_photo, write_tiny_model
from numdream import fileio
from numdream.errors import ImageError, NumdreamError
from numdream.fileio import check_regular_file, os_error_text

LONG = "n" * 300  # longer than the 255 bytes a name may have on Linux file systems


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


@pytest.fixture
def no_hang():
    """Fail a test that blocks (on a FIFO, say) instead of hanging the whole run."""
    def expired(signum, frame):
        raise AssertionError("blocked for 30 s: something opened a FIFO or read a device")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# ---- check_regular_file on its own ------------------------------------------------------------

@pytest.mark.parametrize("kind", NOT_REGULAR)
@pytest.mark.parametrize("what", ["image", "guide image", "settings file"])
def test_check_regular_file_names_what_the_path_is(tmp_path, no_hang, kind, what):
    path = tmp_path / "thing.png"
    words = NOT_REGULAR[kind](path)
    with pytest.raises(ImageError) as err:
        check_regular_file(path, what, ImageError)
    message = str(err.value)
    assert message.startswith(f"cannot read {what} {str(path)!r}: ") and words in message
    assert "\n" not in message


def test_check_regular_file_takes_a_file_and_a_link_to_one(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    os.symlink("a.png", tmp_path / "link.png")
    assert check_regular_file(tmp_path / "a.png", "image") == tmp_path / "a.png"
    assert check_regular_file(str(tmp_path / "link.png"), "image") == tmp_path / "link.png"


@pytest.mark.parametrize("path, words", [
    ("missing.png", "no such file"),
    ("plain/inside.png", "a part of the path is a file"),
    (LONG + ".png", "name is too long"),
])
def test_check_regular_file_names_a_path_that_leads_nowhere(tmp_path, path, words):
    (tmp_path / "plain").write_bytes(b"x")
    with pytest.raises(NumdreamError, match=words):
        check_regular_file(tmp_path / path, "image")


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_not_opened(tmp_path, no_hang, monkeypatch):
    """open_regular_file checks the open descriptor too: a path replaced between the check and
    the open cannot make it block."""
    path = tmp_path / "photo.png"
    path.write_bytes(b"x")
    real_check = fileio.check_regular_file

    def check_then_swap(p, what, error, where=None):
        real_check(p, what, error, where)
        os.unlink(p)
        os.mkfifo(p)
        return p
    monkeypatch.setattr(fileio, "check_regular_file", check_then_swap)
    with pytest.raises(NumdreamError, match="FIFO"):
        fileio.open_regular_file(path, "image")


# ---- through the CLI and the API: every command that reads an image --------------------------

COMMANDS = {  # command -> argv with IN for the hostile path, before the shared dream flags
    "dream": ["dream", "IN", "-o", "OUT/out.png"],
    "guide": ["dream", "PHOTO", "--guide", "IN", "-o", "OUT/out.png"],
    "mask": ["dream", "PHOTO", "--mask", "IN", "-o", "OUT/out.png"],
    "like": ["dream", "PHOTO", "--like", "IN", "-o", "OUT/out.png"],
    "zoom": ["zoom", "IN", "-o", "OUT/frames", "--frames", "1"],
    "gallery": ["gallery", "IN", "-o", "OUT/sheet.png", "--layer", "mixed"],
    "video": ["video", "IN", "-o", "OUT/out.mp4"],
}


@pytest.mark.parametrize("kind", NOT_REGULAR)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_non_regular_input_is_one_line_and_nothing_is_written(tmp_path, capsys, tiny_h5, no_hang, kind, command):
    photo = write_photo(tmp_path / "photo.png")
    hostile = tmp_path / ("clip.mp4" if command == "video" else "thing.png")
    words = NOT_REGULAR[kind](hostile)
    out = tmp_path / "out"
    out.mkdir()
    before = fingerprint(tmp_path)
    fill = {"IN": str(hostile), "PHOTO": str(photo)}
    argv = [fill.get(a, a.replace("OUT", str(out))) for a in COMMANDS[command]]
    if command == "gallery":
        argv += ["--model", str(tiny_h5), "--octaves", "1", "--steps", "1", "-q"]
    else:
        argv += ["--model", str(tiny_h5), *DREAM]
    refused_in_process(argv, capsys, repr(str(hostile)), words)
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize("kind", NOT_REGULAR)
def test_the_api_refuses_them_as_images_and_guides(tmp_path, no_hang, kind):
    path = tmp_path / "thing.png"
    words = NOT_REGULAR[kind](path)
    with pytest.raises(ImageError, match=words):
        numdream.load_image(path)
    model = numdream.load_model(write_tiny_model(tmp_path / "tiny.h5"))
    with pytest.raises(ImageError, match=words):
        numdream.dream(np.zeros((20, 20, 3), np.uint8), model=model, layers="mixed", objective="guide",
                       guide=str(path), progress=False)


# ---- names too long, and OSErrors at the boundary ---------------------------------------------

@pytest.mark.parametrize("argv, fragments", [
    (["dream", "PHOTO", "-o", f"{LONG}.png"], ["cannot write image", "name is too long"]),
    (["dream", "PHOTO", "-o", f"dir/{LONG}.jpg"], ["cannot write image"]),
    (["zoom", "PHOTO", "-o", LONG, "--frames", "1"], ["frames folder", "name is too long"]),
    (["zoom", "PHOTO", "-o", "frames", "--gif", f"{LONG}.gif"], ["cannot write movie", "too long"]),
    (["video", "clip.mp4", "-o", f"{'v' * 250}.mp4"], ["name is too long"]),
    (["gallery", "PHOTO", "-o", f"{LONG}.png", "--layer", "mixed"], ["name is too long"]),
    (["batch", "photos", "-o", LONG], ["name is too long"]),
])
def test_a_name_too_long_is_one_line(tmp_path, capsys, tiny_h5, monkeypatch, argv, fragments):
    monkeypatch.chdir(tmp_path)
    photo = write_photo(tmp_path / "photo.png")
    (tmp_path / "dir").mkdir()
    (tmp_path / "photos").mkdir()
    write_photo(tmp_path / "photos" / "a.png")
    write_clip(tmp_path / "clip.mp4")
    before = fingerprint(tmp_path)
    argv = [str(photo) if a == "PHOTO" else a for a in argv]
    flags = ["--octaves", "1", "--steps", "1", "-q"] if argv[0] == "gallery" else DREAM
    refused_in_process([*argv, "--model", str(tiny_h5), *flags], capsys, *fragments)
    assert fingerprint(tmp_path) == before


def test_a_long_input_name_is_not_made_longer(tmp_path, capsys, tiny_h5):
    photo = write_photo(tmp_path / ("p" * 250 + ".png"))
    refused_in_process(["dream", str(photo), "--model", str(tiny_h5), *DREAM], capsys, "name it with -o")


OS_ERRORS = [(errno.ENOSPC, "the disk is full (ENOSPC)"), (errno.EROFS, "read-only (EROFS)"),
             (errno.EACCES, "permission denied (EACCES)"), (errno.ENAMETOOLONG, "too long"),
             (errno.EDQUOT, "quota"), (errno.EIO, "input/output error")]


@pytest.mark.parametrize("code, words", OS_ERRORS)
def test_an_oserror_writing_the_output_names_the_file(tmp_path, capsys, tiny_h5, monkeypatch, code, words):
    """The disk fills (or turns read-only) as the output is written: os.replace fails."""
    photo = write_photo(tmp_path / "photo.png")

    def fail(src, dst):
        raise OSError(code, os.strerror(code))  # no file name: as from a write() on a descriptor
    monkeypatch.setattr(fileio.os, "replace", fail)
    before = fingerprint(tmp_path)
    line = refused_in_process(["dream", str(photo), "-o", str(tmp_path / "out.png"), "--model", str(tiny_h5),
                               *DREAM], capsys, "out.png")
    assert fingerprint(tmp_path) == before and os.strerror(code) in line


@pytest.mark.parametrize("code, words", OS_ERRORS)
def test_an_oserror_that_reaches_the_top_is_one_line(tmp_path, capsys, tiny_h5, monkeypatch, code, words):
    """A frames folder's settings record cannot be written: the OSError goes up to the CLI's
    boundary, which names the path and says what happened."""
    photo = write_photo(tmp_path / "photo.png")
    real = fileio._create_temp

    def fail(path):
        if path.name == "numdream-frames.json":
            raise OSError(code, os.strerror(code), str(path))
        return real(path)
    monkeypatch.setattr(fileio, "_create_temp", fail)
    line = refused_in_process(["zoom", str(photo), "-o", str(tmp_path / "frames"), "--frames", "1",
                               "--model", str(tiny_h5), *DREAM], capsys, "numdream-frames.json", words)
    assert line.startswith("numdream zoom: error: ")


def test_os_error_text_names_both_paths_and_the_errno():
    err = OSError(errno.EXDEV, "Invalid cross-device link", "/a/x.png", None, "/b/y.png")
    assert os_error_text(err) == "'/a/x.png' -> '/b/y.png': Invalid cross-device link (EXDEV)"
    assert os_error_text(OSError("no errno")) == "no errno"
