"""numdream.fileio: atomic writes, one-line error text, file digests."""
import hashlib
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from numdream import fileio, images, modelfile, movie
from numdream.fileio import ONE_LINE_LIMIT, atomic_write, file_digest, one_line
from tiny_model import tiny_spec


@pytest.fixture
def umask():
    """Set the process umask for one test (it is process-global), then restore it."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


def _write(path, data, fail=None):
    """Write ``data`` through atomic_write, raising ``fail`` half-way if given."""
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(data[: len(data) // 2])
        if fail is not None:
            raise fail
        f.write(data[len(data) // 2:])


# ---- atomic_write -------------------------------------------------------------------------------

def test_a_write_lands_whole_under_the_final_name_and_leaves_nothing_else(tmp_path):
    _write(tmp_path / "out.bin", b"new contents")
    assert (tmp_path / "out.bin").read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["out.bin"]
    _write(str(tmp_path / "out.bin"), b"replaced")  # a str path, over an existing file
    assert (tmp_path / "out.bin").read_bytes() == b"replaced"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_the_temp_file_is_hidden_beside_the_target_with_its_extension(tmp_path):
    (tmp_path / "movie.mp4").write_bytes(b"old")
    with atomic_write(tmp_path / "movie.mp4") as tmp:
        tmp = Path(tmp)
        assert tmp.parent == tmp_path and tmp.name.startswith(".movie.") and tmp.suffix == ".mp4"
        assert tmp.read_bytes() == b"" and (tmp_path / "movie.mp4").read_bytes() == b"old"
        tmp.write_bytes(b"new")
    assert not tmp.exists() and (tmp_path / "movie.mp4").read_bytes() == b"new"


@pytest.mark.parametrize("fail", [OSError("No space left on device"), ValueError("bad"), KeyboardInterrupt()])
def test_a_write_that_raises_midway_keeps_the_old_file_and_leaves_no_temp(tmp_path, fail):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old contents")
    with pytest.raises(type(fail)):
        _write(target, b"new contents", fail=fail)
    assert target.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["out.bin"]
    with pytest.raises(type(fail)):
        _write(tmp_path / "new.bin", b"never", fail=fail)
    assert os.listdir(tmp_path) == ["out.bin"]  # no new file, not even an empty one


def test_a_failed_fsync_never_replaces_the_file(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old contents")

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        _write(target, b"new contents")
    assert target.read_bytes() == b"old contents" and os.listdir(tmp_path) == ["out.bin"]


def test_a_failed_rename_leaves_no_temp(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        _write(tmp_path / "taken", b"data")  # os.replace cannot put a file over a folder
    assert os.listdir(tmp_path) == ["taken"] and os.listdir(tmp_path / "taken") == []


def test_the_file_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        info = os.fstat(fd)
        synced.append(("folder" if stat.S_ISDIR(info.st_mode) else "file", info.st_ino,
                       target.read_bytes()))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", recording_fsync)
    _write(target, b"new")
    assert [(kind, content) for kind, _, content in synced] == [("file", b"old"), ("folder", b"new")]
    assert synced[0][1] == os.stat(target).st_ino      # the file synced is the one now in place
    assert synced[1][1] == os.stat(tmp_path).st_ino    # and the folder synced is its folder


def test_a_folder_that_cannot_be_synced_is_not_an_error(tmp_path, monkeypatch):
    real_fsync = os.fsync

    def no_folder_fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(22, "Invalid argument")
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", no_folder_fsync)
    _write(tmp_path / "out.bin", b"data")
    assert (tmp_path / "out.bin").read_bytes() == b"data"


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_the_file_gets_the_mode_a_plain_open_gives(tmp_path, umask, mask, mode):
    umask(mask)
    _write(tmp_path / "atomic.bin", b"data")
    with open(tmp_path / "plain.bin", "wb"):
        pass
    assert stat.S_IMODE(os.stat(tmp_path / "atomic.bin").st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / "plain.bin").st_mode) == mode


def test_an_existing_private_file_is_replaced_with_the_usual_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o600)
    _write(target, b"new")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


def test_the_umask_is_never_touched(tmp_path, monkeypatch):
    """Reading the umask means setting it (os.umask is process-global): another thread would
    create its files with the wrong mode in between. atomic_write lets the kernel apply it."""
    def no_umask(mask):
        raise AssertionError("os.umask called")
    monkeypatch.setattr(os, "umask", no_umask)
    _write(tmp_path / "out.bin", b"data")
    assert (tmp_path / "out.bin").read_bytes() == b"data"


@pytest.mark.parametrize("stem", ["x" * 240, "\u00e9" * 120, "\U0001f600" * 60])
def test_a_long_name_still_fits_the_name_limit(tmp_path, stem):
    name = stem + ".png"  # 244 bytes in UTF-8: the temp name must not pass 255 either
    _write(tmp_path / name, b"data")
    assert os.listdir(tmp_path) == [name]


# ---- every numdream writer goes through it --------------------------------------------------------

def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _save_image(path, monkeypatch):
    def half_then_interrupt(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(images.Image.Image, "save", half_then_interrupt)
    images.save_image(path, np.zeros((4, 4, 3), np.uint8))


def _write_model(path, monkeypatch):
    def half_then_interrupt(f, spec):
        f.attrs["format"] = "numdream-model"
        raise KeyboardInterrupt
    monkeypatch.setattr(modelfile, "_write_contents", half_then_interrupt)
    modelfile.write_model(path, tiny_spec())


def _write_movie(path, monkeypatch):
    pytest.importorskip("imageio.v2")
    frame = path.parent / "frame.png"
    images.save_image(frame, np.zeros((4, 4, 3), np.uint8))
    monkeypatch.setattr(movie, "load_image", _interrupt)
    movie.write_movie(path, [frame], fps=5)


@pytest.mark.parametrize("name, write", [("out.png", _save_image), ("model.h5", _write_model),
                                         ("movie.gif", _write_movie)])
def test_an_interrupted_numdream_write_keeps_the_old_file(tmp_path, monkeypatch, name, write):
    target = tmp_path / name
    target.write_bytes(b"the user's old file")
    before = set(os.listdir(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        write(target, monkeypatch)
    assert target.read_bytes() == b"the user's old file"
    assert set(os.listdir(tmp_path)) - before <= {"frame.png"}  # no temp file left


# ---- one_line ----------------------------------------------------------------------------------

def test_one_line_joins_lines_and_collapses_whitespace():
    err = OSError("Unable to open file\n\n  (truncated:\teof = 96)\r\n")
    assert one_line(err) == "Unable to open file (truncated: eof = 96)"
    assert one_line(err, with_type=True) == "OSError: Unable to open file (truncated: eof = 96)"


@pytest.mark.parametrize("err", [KeyError(), ValueError(""), RuntimeError(" \n\t ")])
def test_an_empty_message_gives_the_exception_type(err):
    assert one_line(err) == type(err).__name__
    assert one_line(err, with_type=True) == type(err).__name__


def test_a_short_message_is_kept_whole():
    text = "y" * ONE_LINE_LIMIT
    assert one_line(ValueError(text)) == text


def test_a_huge_message_keeps_its_start_and_end_within_the_limit():
    log = "ffmpeg version 6.0 " + "\n".join(f"frame={i} fps=0.0 q=0.0" for i in range(5000))
    err = RuntimeError(log + "\nConversion failed!")
    text = one_line(err)
    assert len(text) <= ONE_LINE_LIMIT and "\n" not in text
    assert text.startswith("ffmpeg version 6.0 frame=0") and text.endswith("Conversion failed!")
    assert " ... " in text
    assert len(one_line(err, limit=60)) <= 60
    assert one_line(err, with_type=True).startswith("RuntimeError: ffmpeg version")


def test_the_writers_report_through_one_line(tmp_path, monkeypatch):
    def no_space(self, fp, *args, **kwargs):
        raise OSError("No space\nleft on device")
    monkeypatch.setattr(images.Image.Image, "save", no_space)
    with pytest.raises(images.ImageError) as err:
        images.save_image(tmp_path / "out.png", np.zeros((4, 4, 3), np.uint8))
    assert str(err.value) == f"cannot write image {str(tmp_path / 'out.png')!r}: No space left on device"


# ---- file_digest --------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 5, (1 << 20) + 7, 3 << 20])
@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
def test_file_digest_matches_hashlib(tmp_path, size, algorithm):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert file_digest(path, algorithm) == hashlib.new(algorithm, data).hexdigest()
    assert file_digest(str(path), algorithm=algorithm) == hashlib.new(algorithm, data).hexdigest()


def test_file_digest_defaults_to_sha256(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"numdream")
    assert file_digest(tmp_path / "a.txt") == hashlib.sha256(b"numdream").hexdigest()


def test_file_digest_refuses_an_unknown_algorithm(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x")
    with pytest.raises(ValueError):
        file_digest(tmp_path / "a.txt", "sha-one")


def test_fileio_is_the_only_writer():
    """No other numdream module makes its own temp files or reads the umask."""
    root = Path(fileio.__file__).parent
    for path in root.rglob("*.py"):
        if path.name != "fileio.py":
            source = path.read_text(encoding="utf-8")
            assert "mkstemp" not in source and "os.umask" not in source and "os.replace" not in source, path
