"""Frames on disk, the half of a movie that the zoom and video commands share (movie.py makes
the movie of them).

A movie is made one numbered PNG at a time (``frame_00000.png``, ``frame_00001.png``, ...) in a
frames folder, each written atomically, so an interrupted run resumes after the last frame on
disk. The folder is numdream's own, and numdream deletes nothing else:

- it is made by numdream (claim_frames_folder), never a folder that was there before, never one
  reached through a symbolic link, and marked by ``numdream-frames.json``, the record of the
  settings that made its frames, written as the folder is made; resuming with other settings
  is refused instead of splicing two different movies;
- a run holds a lock on it (an flock on ``.numdream-frames.lock``, which the kernel drops when
  the process ends, a crash included), so two runs cannot interleave their frames;
- remove_frames_folder deletes only numdream's files in it (the frames, their temp files, the
  record and the lock), then the folder itself if nothing else is left.
"""
import contextlib
import errno
import fcntl
import json
import os
import re
import stat
from pathlib import Path

import numpy as np

from .errors import ImageError, NumdreamError
from .fileio import atomic_write, file_kind, one_line, os_reason, resolved, temp_target
from .images import load_image

FRAME_NAME = "frame_{:05d}.png"
FRAME_PATTERN = re.compile(r"frame_\d{5}\.png")
MAX_FRAMES = 100_000   # frame names have five digits
SETTINGS_NAME = "numdream-frames.json"
LOCK_NAME = ".numdream-frames.lock"
RECORD_LIMIT = 1 << 20  # bytes: a settings record is a few hundred; a larger one is not numdream's


def frame_seed(seed, index):
    """The dream seed of frame ``index``: a fixed function of the run's seed and the index, so a
    resumed run draws exactly the jitter an uninterrupted one would have."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def frame_path(folder, index):
    return Path(folder) / FRAME_NAME.format(index)


def saved_frame(folder, index):
    """Frame ``index`` of ``folder`` as uint8 (H, W, 3) if an earlier run left it there readable,
    else None (a damaged frame is made again)."""
    path = frame_path(folder, index)
    if not path.is_file():
        return None
    try:
        return load_image(path)
    except ImageError:
        return None


def resume_point(folder, first=0, stop=MAX_FRAMES):
    """(done, last) for the frames already in ``folder`` from frame ``first`` on: frames
    first .. done-1 all exist (done <= stop), and ``last`` is frame done-1 as uint8 (H, W, 3)
    (None when done is first).

    Frames are written atomically, so a frame on disk is whole; one that still cannot be read
    (damaged later) is made again, and so is everything after it.
    """
    done = first
    while done < stop and frame_path(folder, done).is_file():
        done += 1
    while done > first:
        try:
            return done, load_image(frame_path(folder, done - 1))
        except ImageError:
            done -= 1
    return first, None


# ---- the frames folder ---------------------------------------------------------------------------

@contextlib.contextmanager
def claim_frames_folder(folder, settings, adopt_empty=False, restart=False):
    """Make (or reopen) numdream's frames folder ``folder`` for a run with ``settings`` (a
    JSON-able dict), locked for the run; yields Path(folder).

    A missing folder is made (one level) and marked with the settings. An existing one is used
    only if numdream made it (a real folder holding numdream-frames.json, not a link), no other
    run holds it, and its frames (any of them) were made with the same settings (a folder without
    frames takes the new ones). Anything else is one NumdreamError line, and nothing in the folder is touched.
    adopt_empty: also take an existing empty folder (and mark it): zoom's folder is one the user
    names, and may have made for the frames; an empty folder holds nothing to lose.
    restart: for a run that never resumes (visualize's --every frames): frames that an earlier run
    of the same command (settings["command"]) left are accepted whatever their settings, and the
    run calls replace_frames before its first frame, so running a command again needs no new
    folder, and a run stopped before its first frame leaves the earlier frames as they were.
    Frames another command made are still refused.
    """
    folder = Path(folder)
    settings = json.loads(json.dumps(settings))  # tuples become lists, as they read back
    made = _make_folder(folder)
    if not made:
        _check_numdreams(folder, adopt_empty)
    lock = _lock(folder, create=True)
    try:
        record = folder / SETTINGS_NAME
        if not made and holds_frames(folder):  # any frame: an atlas makes its tiles in any order
            old = _read_record(folder)
            if not (restart and old.get("command") == settings.get("command")):
                _compare(folder, old, settings)
        else:
            with atomic_write(record) as tmp:
                Path(tmp).write_text(json.dumps(settings, indent=1), encoding="utf-8")
        yield folder
    finally:
        os.close(lock)  # drops the flock


def replace_frames(folder, settings):
    """Delete the frames in ``folder`` (numdream's own files only; claimed with restart=True) and
    record ``settings`` for the frames that take their place. Call it inside claim_frames_folder."""
    _remove_frames(folder)
    with atomic_write(folder / SETTINGS_NAME) as tmp:
        Path(tmp).write_text(json.dumps(json.loads(json.dumps(settings)), indent=1), encoding="utf-8")


def check_frames_folder(folder, adopt_empty=False):
    """Fail early, before a long run, where claim_frames_folder would (a folder numdream did not
    make, a name the file system refuses, a missing parent); touches nothing."""
    folder = Path(folder)
    try:
        os.lstat(folder)
    except FileNotFoundError:
        if not folder.parent.is_dir():
            raise NumdreamError(f"cannot make frames folder {str(folder)!r}: folder {str(folder.parent)!r} "
                                "does not exist") from None
        return
    except OSError as err:
        raise NumdreamError(f"cannot make frames folder {str(folder)!r}: {os_reason(err)}") from None
    _check_numdreams(folder, adopt_empty)


def remove_frames_folder(folder):
    """Delete numdream's own files in frames folder ``folder`` (frames, their temp files, the
    settings record, the lock), then the folder if it is left empty; a file someone else put
    there stays, and so does the folder around it. Call it inside claim_frames_folder."""
    folder = Path(folder)
    _remove_frames(folder, with_record=True)
    os.unlink(folder / LOCK_NAME)  # last: a run that opens it now finds it gone once locked
    with contextlib.suppress(OSError):
        os.rmdir(folder)  # only if empty


def _remove_frames(folder, with_record=False):
    """Delete the frames in ``folder`` and their temp files (and the settings record if asked)."""
    ours = lambda name: FRAME_PATTERN.fullmatch(name) or (with_record and name == SETTINGS_NAME)  # noqa: E731
    for entry in os.scandir(folder):
        target = temp_target(entry.name)
        if (ours(entry.name) or (target and ours(target))) and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)


def remove_frame_temps(folder):
    """Delete the temp files of frames in ``folder`` that writers stopped mid-write left (a Dask
    worker stopped on Ctrl-C); frames and everything else stay."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            target = temp_target(entry.name)
            if target and FRAME_PATTERN.fullmatch(target) and not entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def holds_frames(folder):
    """Whether ``folder`` (an existing folder) holds any frame_NNNNN.png."""
    return any(FRAME_PATTERN.fullmatch(entry.name) for entry in os.scandir(folder))


def _make_folder(folder):
    """True if this call made ``folder``; False if something was there already."""
    try:
        os.mkdir(folder)
        return True
    except FileExistsError:
        return False
    except OSError as err:
        parent = folder.parent
        reason = (f"folder {str(parent)!r} does not exist" if err.errno == errno.ENOENT
                  else os_reason(err))
        raise NumdreamError(f"cannot make frames folder {str(folder)!r}: {reason}") from None


def _check_numdreams(folder, adopt_empty):
    """Refuse a path numdream did not make as a frames folder: a link, a file, an unmarked folder
    (unless it is empty and ``adopt_empty``)."""
    where = f"frames folder {str(folder)!r}"
    mode = os.lstat(folder).st_mode
    if stat.S_ISLNK(mode):
        raise NumdreamError(f"{where} is a symbolic link; numdream writes frames only into a "
                            "folder it made itself: choose another name")
    if not stat.S_ISDIR(mode):
        raise NumdreamError(f"{where} exists and is {file_kind(mode)}, not a folder: choose another name")
    marked = any(os.path.isfile(folder / name) and not os.path.islink(folder / name)
                 for name in (SETTINGS_NAME, LOCK_NAME))
    if not marked and not (adopt_empty and not os.listdir(folder)):
        raise NumdreamError(f"{where} exists and numdream did not make it (it holds no {SETTINGS_NAME}); "
                            "numdream keeps its frames in a folder of its own, so that it never "
                            "overwrites or deletes other files: move that folder away, or choose another name")


def _lock(folder, create):
    """An open descriptor of the folder's lock file, flocked (exclusive, without waiting)."""
    path = folder / LOCK_NAME
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as err:
        raise NumdreamError(f"cannot lock frames folder {str(folder)!r}: {os_reason(err)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise NumdreamError(f"frames folder {str(folder)!r} is in use by another numdream run; "
                            "wait for it to end, or write to another folder") from None
    try:
        same = os.path.samestat(os.fstat(fd), os.lstat(path))
    except OSError:
        same = False
    if not same:  # the run before removed the folder's files between our open and our lock
        os.close(fd)
        raise NumdreamError(f"frames folder {str(folder)!r} was being removed by another numdream "
                            "run; run the command again")
    return fd


def _read_record(folder):
    """The settings dict of a frames folder's record; a damaged record is one NumdreamError line."""
    record = folder / SETTINGS_NAME
    where = f"the settings record {str(record)!r}"
    fix = "it was changed outside numdream: delete the folder, or write to another folder"
    try:
        if not os.path.lexists(record):
            raise NumdreamError(f"frames folder {str(folder)!r} holds frames but not their settings record "
                                f"{SETTINGS_NAME}; {fix}")
        if not stat.S_ISREG(os.lstat(record).st_mode) or os.lstat(record).st_size > RECORD_LIMIT:
            raise NumdreamError(f"{where} is not a settings file numdream wrote; {fix}")
        old = json.loads(record.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as err:  # bad JSON, bad UTF-8, nesting too deep
        raise NumdreamError(f"{where} is not valid JSON ({one_line(err, limit=80)}); {fix}") from None
    if not isinstance(old, dict):
        raise NumdreamError(f"{where} holds a JSON {type(old).__name__}, not the object numdream "
                            f"writes; {fix}")
    return old


def _compare(folder, old, settings):
    """Refuse frames made with other settings. Models are compared by digest; a record written
    before digests names its model by path, compared as a resolved path."""
    for key in sorted(set(old) | set(settings)):
        then, now = old.get(key), settings.get(key)
        if key == "model" and then != now and "model_path" not in old and settings.get("model_path"):
            # a record from before digests names its model file by its path, as spelled then
            then, now = str(resolved(str(then))), settings["model_path"]
        if key != "model_path" and then != now:
            raise NumdreamError(
                f"{str(folder)!r} holds frames made with other settings ({key}: "
                f"{one_line(repr(old.get(key)), limit=60)} then, {one_line(repr(settings.get(key)), limit=60)} "
                "now); resume with the same settings, or write to another folder")
