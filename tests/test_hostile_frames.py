"""Data loss, first: frames folders numdream did not make, damaged settings records, encodes that
fail, and two runs in one folder. numdream may delete only files it made, leaves no movie under
its final name unless it is whole, and keeps the frames when the encode fails."""
import json
import os
import subprocess
import sys

import pytest

from hostile_cli import (DREAM, ROOT, exit_status, fingerprint, make_fifo, make_socket,
                         refused_in_process, write_clip, write_photo, write_tiny_model)
from numdream import movie
from numdream.frames import LOCK_NAME, SETTINGS_NAME, claim_frames_folder, frame_path

pytest.importorskip("imageio.v2")  # the test extra installs it; CI fails on skips


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture(scope="module")
def bindir(tmp_path_factory):
    """A folder for fake ffmpeg programs, outside the folders the tests fingerprint."""
    folder = tmp_path_factory.mktemp("bin")
    os.symlink(movie.require_ffmpeg(), folder / "real-ffmpeg")
    return folder


def video(clip, out, tiny_h5, *flags):
    return ["video", str(clip), "-o", str(out), "--model", str(tiny_h5), *DREAM, *flags]


def zoom(photo, folder, tiny_h5, *flags):
    return ["zoom", str(photo), "-o", str(folder), "--frames", "2", "--model", str(tiny_h5), *DREAM, *flags]


def user_files(folder):
    """A folder of a user's own files, named as numdream's frames would be, too."""
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "frame_00000.png").write_bytes(b"my own picture")
    (folder / ".hidden").write_bytes(b"secret")
    return folder


# ---- a frames folder numdream did not make is refused, and nothing in it is touched ----------

FOREIGN = {  # name -> builder of holiday_frames (beside holiday.mp4), and the words of the refusal
    "folder-of-user-files": (lambda p: user_files(p), "numdream did not make it"),
    "empty-folder": (lambda p: p.mkdir(), "numdream did not make it"),
    "only-hidden-files": (lambda p: (p.mkdir(), (p / ".DS_Store").write_bytes(b"x")), "numdream did not make it"),
    "link-to-user-files": (lambda p: os.symlink(user_files(p.with_name("mine")), p), "symbolic link"),
    "link-to-numdream-folder": (lambda p: os.symlink(_marked(p.with_name("other")), p), "symbolic link"),
    "dangling-link": (lambda p: os.symlink("nowhere", p), "symbolic link"),
    "file": (lambda p: p.write_bytes(b"a file"), "a regular file, not a folder"),
    "fifo": (lambda p: make_fifo(p), "FIFO"),
    "socket": (lambda p: make_socket(p), "socket"),
    "record-is-a-link": (lambda p: (p.mkdir(), os.symlink("/etc/hostname", p / SETTINGS_NAME)),
                         "numdream did not make it"),
    "record-is-a-folder": (lambda p: (p.mkdir(), (p / SETTINGS_NAME).mkdir()), "numdream did not make it"),
}


def _marked(folder):
    with claim_frames_folder(folder, {"command": "video", "input": "elsewhere"}):
        pass
    return folder


@pytest.mark.parametrize("case", FOREIGN)
def test_video_refuses_a_frames_folder_it_did_not_make(tmp_path, capsys, clip, tiny_h5, case):
    make, words = FOREIGN[case]
    make(tmp_path / "holiday_frames")
    before = fingerprint(tmp_path)
    refused_in_process(video(clip, tmp_path / "holiday.mp4", tiny_h5), capsys, "holiday_frames", words)
    assert fingerprint(tmp_path) == before  # not a file written, moved or deleted


@pytest.mark.parametrize("case", [c for c in FOREIGN if c not in ("empty-folder", "only-hidden-files")])
def test_zoom_refuses_a_folder_it_did_not_make_but_an_empty_one(tmp_path, capsys, tiny_h5, case):
    photo = write_photo(tmp_path / "photo.png")
    make, words = FOREIGN[case]
    make(tmp_path / "frames")
    before = fingerprint(tmp_path)
    refused_in_process(zoom(photo, tmp_path / "frames", tiny_h5), capsys, "frames", words)
    assert fingerprint(tmp_path) == before


def test_zoom_takes_an_empty_folder_the_user_made(tmp_path, capsys, tiny_h5):
    photo = write_photo(tmp_path / "photo.png")
    (tmp_path / "frames").mkdir()
    assert exit_status(zoom(photo, tmp_path / "frames", tiny_h5), capsys) == 0
    assert sorted(os.listdir(tmp_path / "frames")) == [LOCK_NAME, "frame_00000.png", "frame_00001.png", SETTINGS_NAME]



# ---- deleting only its own files -----------------------------------------------------------------

def test_video_deletes_only_its_own_files_and_keeps_the_folder_of_a_users_file(tmp_path, capsys, clip, tiny_h5):
    out, folder = tmp_path / "holiday.mp4", tmp_path / "holiday_frames"
    argv = video(clip, out, tiny_h5)
    assert exit_status([*argv, "--keep-frames"], capsys) == 0
    out.unlink()
    (folder / "notes.txt").write_text("added by the user")
    (folder / "subfolder").mkdir()
    (folder / "frame_00001.png.bak").write_bytes(b"the user's copy")
    (folder / ".frame_00001.0123456789ab.tmp.png").write_bytes(b"left by a killed run")
    assert exit_status(argv, capsys) == 0  # resumes from the frames there, encodes, cleans up
    assert sorted(os.listdir(folder)) == ["frame_00001.png.bak", "notes.txt", "subfolder"]
    assert (folder / "notes.txt").read_text() == "added by the user"
    assert out.is_file() and not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_video_removes_its_folder_when_only_its_files_were_there(tmp_path, capsys, clip, tiny_h5):
    out = tmp_path / "holiday.mp4"
    assert exit_status(video(clip, out, tiny_h5), capsys) == 0
    assert sorted(os.listdir(tmp_path)) == ["holiday.mp4"]


# ---- a damaged settings record is one line, and the folder stays as it was -------------------

RECORDS = {
    "invalid-json": b"{not json",
    "empty": b"",
    "a-list": b"[1, 2, 3]",
    "a-string": b'"zoom"',
    "a-number": b"12",
    "null": b"null",
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
    "bad-utf8": b'{"command": "\xff\xfe"}',
    "huge": b'{"pad": "' + b"x" * (1 << 21) + b'"}',
    "wrong-types": json.dumps({"command": ["zoom"], "seed": "zero", "zoom": {"a": 1}}).encode(),
    "nan": b'{"command": "zoom", "zoom": NaN}',
    "other-keys": b'{"numdream": true}',
    "missing": None,  # deleted, while the frames and the lock stay
}
READABLE = ("wrong-types", "nan", "other-keys")  # valid JSON objects: refused as other settings


@pytest.mark.parametrize("case", RECORDS)
@pytest.mark.parametrize("command", ["zoom", "video"])
def test_a_damaged_settings_record_is_one_line(tmp_path, capsys, clip, tiny_h5, case, command):
    photo = write_photo(tmp_path / "photo.png")
    folder = tmp_path / ("frames" if command == "zoom" else "out_frames")
    argv = zoom(photo, folder, tiny_h5) if command == "zoom" else video(clip, tmp_path / "out.mp4", tiny_h5)
    assert exit_status([*argv, "--keep-frames"] if command == "video" else argv, capsys) == 0
    (tmp_path / "out.mp4").unlink(missing_ok=True)
    if RECORDS[case] is None:
        (folder / SETTINGS_NAME).unlink()
    else:
        (folder / SETTINGS_NAME).write_bytes(RECORDS[case])
    before = fingerprint(tmp_path)
    refused_in_process(argv, capsys, "other settings" if case in READABLE else SETTINGS_NAME)
    assert fingerprint(tmp_path) == before


# ---- a failed encode: no movie under its name, frames kept, one line, non-zero --------------

FPS = {  # --fps -> words of the refusal (before any dreaming)
    "1e10": "MP4 rates go from 0.001 to 1000", "1e-10": "MP4 rates go from 0.001 to 1000",
    "2000": "from 0.001 to 1000", "0.0001": "from 0.001 to 1000",
    "0": "> 0.0", "-5": "> 0.0", "nan": "> 0.0", "inf": "> 0.0", "1e400": "> 0.0", "abc": "> 0.0",
}


@pytest.mark.parametrize("fps", FPS)
def test_video_fps_outside_what_ffmpeg_takes_is_refused_at_once(tmp_path, capsys, clip, tiny_h5, fps):
    refused_in_process(video(clip, tmp_path / "out.mp4", tiny_h5, "--fps", fps), capsys, FPS[fps])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("movie_flag, fps, words", [
    ("--mp4", "1e10", "MP4 rates go from 0.001 to 1000"), ("--mp4", "1e-10", "MP4 rates"),
    ("--gif", "0.001", "GIF rates go from 0.0016 to 50"), ("--gif", "1e10", "GIF rates"),
    ("--gif", "51", "whole 1/100 s"), ("--gif", "0.0015", "GIF rates"), ("--mp4", "0.0005", "MP4 rates"),
])
def test_zoom_fps_outside_what_the_format_takes_is_refused_at_once(tmp_path, capsys, tiny_h5, movie_flag, fps, words):
    photo = write_photo(tmp_path / "photo.png")
    before = fingerprint(tmp_path)
    ext = movie_flag.replace("--", ".")
    refused_in_process(zoom(photo, tmp_path / "frames", tiny_h5, movie_flag, str(tmp_path / f"z{ext}"),
                            "--fps", fps), capsys, words)
    assert fingerprint(tmp_path) == before


def fake_ffmpeg(bindir, name, script):
    """An ffmpeg that runs ``script`` (sh) when asked to encode, the real one otherwise."""
    path = bindir / name
    path.write_text(f'#!/bin/sh\nreal={bindir / "real-ffmpeg"}\ncase "$*" in *libx264*) {script};; esac\n'
                    'exec "$real" "$@"\n')
    path.chmod(0o755)
    return str(path)


ENCODES = {  # how ffmpeg fails -> words of the error line
    "disk-full": ('cat >/dev/null; echo "av_interleaved_write_frame(): No space left on device" >&2; exit 1',
                  "No space left on device"),
    "exit-0-nothing-written": ("cat >/dev/null; exit 0", "cannot read back"),
    "exit-0-junk-written": ('cat >/dev/null; for a; do last=$a; done; echo junk > "$last"; exit 0', "cannot read back"),
    "killed": ("kill -9 $$", "exit status -9"),
    "stops-reading": ("exit 3", "exit status 3"),
    "writes-one-frame-of-four": ('head -c 9216 | "$real" "$@"; exit 0', "wrote 1 frames of 4"),
}


@pytest.mark.parametrize("case", ENCODES)
def test_a_failed_video_encode_keeps_the_frames_and_leaves_no_movie(tmp_path, capsys, clip, tiny_h5, bindir,
                                                                    monkeypatch, case):
    script, words = ENCODES[case]
    fake = fake_ffmpeg(bindir, case, script)
    out = tmp_path / "out.mp4"
    argv = video(clip, out, tiny_h5)
    monkeypatch.setattr(movie, "require_ffmpeg", lambda: fake)
    refused_in_process(argv, capsys, "cannot write movie", "out.mp4", words)
    assert sorted(os.listdir(tmp_path)) == ["out_frames"]  # no movie, no temp file
    assert all(frame_path(tmp_path / "out_frames", t).is_file() for t in range(4))
    monkeypatch.undo()  # the real ffmpeg again: the run resumes from the kept frames and finishes
    assert exit_status(argv, capsys) == 0 and sorted(os.listdir(tmp_path)) == ["out.mp4"]


@pytest.mark.parametrize("case", ["disk-full", "exit-0-nothing-written", "killed"])
def test_a_failed_zoom_encode_leaves_no_movie(tmp_path, capsys, tiny_h5, bindir, monkeypatch, case):
    photo = write_photo(tmp_path / "photo.png")
    fake = fake_ffmpeg(bindir, "zoom-" + case, ENCODES[case][0])
    monkeypatch.setattr(movie, "require_ffmpeg", lambda: fake)
    refused_in_process(zoom(photo, tmp_path / "frames", tiny_h5, "--mp4", str(tmp_path / "z.mp4")), capsys,
                       "cannot write movie", ENCODES[case][1])
    assert sorted(os.listdir(tmp_path)) == ["frames", "photo.png"]


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), OverflowError("int too big")])
def test_a_failed_gif_write_leaves_no_gif(tmp_path, capsys, tiny_h5, monkeypatch, error):
    photo = write_photo(tmp_path / "photo.png")

    save = movie.Image.Image.save

    def fail(image, target, format=None, **kwargs):
        if format != "GIF":
            return save(image, target, format=format, **kwargs)
        with open(target, "wb") as f:  # half a GIF, then the disk is full
            f.write(b"GIF89a")
        raise error
    monkeypatch.setattr(movie.Image.Image, "save", fail)
    refused_in_process(zoom(photo, tmp_path / "frames", tiny_h5, "--gif", str(tmp_path / "z.gif")), capsys,
                       "cannot write movie")
    assert sorted(os.listdir(tmp_path)) == ["frames", "photo.png"]


def test_a_gif_too_large_to_hold_is_refused_before_dreaming(tmp_path, capsys, tiny_h5):
    refused_in_process(["zoom", "--init", "noise", "--size", "4000x4000", "-o", str(tmp_path / "f"), "--frames", "30",
                        "--gif", str(tmp_path / "z.gif"), "--model", str(tiny_h5), *DREAM], capsys, "GIF of 30 frames")
    assert os.listdir(tmp_path) == []


# ---- one run at a time in a frames folder ---------------------------------------------------

@pytest.mark.parametrize("command", ["zoom", "video"])
def test_a_folder_in_use_is_refused_at_once(tmp_path, capsys, clip, tiny_h5, command):
    photo = write_photo(tmp_path / "photo.png")
    folder = tmp_path / ("frames" if command == "zoom" else "out_frames")
    argv = zoom(photo, folder, tiny_h5) if command == "zoom" else video(clip, tmp_path / "out.mp4", tiny_h5)
    with claim_frames_folder(folder, {"command": command}):
        before = fingerprint(tmp_path)
        refused_in_process(argv, capsys, repr(str(folder)), "in use by another numdream run")
        assert fingerprint(tmp_path) == before


def test_a_lock_dies_with_its_process(tmp_path, capsys, tiny_h5):
    """flock is released by the kernel when the holder dies, even by SIGKILL."""
    photo = write_photo(tmp_path / "photo.png")
    holder = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                               "from numdream.frames import claim_frames_folder; import time\n"
                               f"with claim_frames_folder({str(tmp_path / 'frames')!r}, {{}}):\n"
                               "    print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    refused_in_process(zoom(photo, tmp_path / "frames", tiny_h5), capsys, "in use")
    holder.kill()
    holder.wait()
    assert exit_status(zoom(photo, tmp_path / "frames", tiny_h5), capsys) == 0


@pytest.mark.slow
def test_two_zooms_started_together_never_interleave(tmp_path, tiny_h5):
    photo = write_photo(tmp_path / "photo.png")
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMDREAM_BACKEND="numpy")
    argv = [[sys.executable, "-m", "numdream", *zoom(photo, tmp_path / "frames", tiny_h5, "--zoom", z)]
            for z in ("0.1", "0.3")]
    runs = [subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True) for args in argv]
    results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    won = [i for i, (code, _) in enumerate(results) if code == 0]
    assert len(won) == 1, results  # the other ran into the lock, or the winner's finished frames
    code, err = results[1 - won[0]]
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "in use" in err or "other settings" in err
    record = json.loads((tmp_path / "frames" / SETTINGS_NAME).read_text())
    assert record["zoom"] == (0.1, 0.3)[won[0]]
