"""Frames on disk, and movies in and out: what the zoom and video commands share.

A movie is made one numbered PNG at a time (``frame_00000.png``, ``frame_00001.png``, ...) in a
frames folder, each written atomically, so an interrupted run resumes after the last frame on
disk. A small ``numdream-frames.json`` in the folder records the settings that made the frames:
resuming with other settings is refused instead of splicing two different movies.

Movies are read and written with imageio (the optional ``video`` extra; imageio-ffmpeg brings
its own ffmpeg binary), imported only by require_imageio.
"""
import json
from pathlib import Path

import numpy as np

from .errors import ImageError, NumdreamError
from .fileio import atomic_write, one_line
from .images import load_image

FRAME_NAME = "frame_{:05d}.png"
SETTINGS_NAME = "numdream-frames.json"
MOVIE_FORMATS = (".gif", ".mp4")


def require_imageio():
    """The imageio.v2 module, or one clear NumdreamError saying how to install it."""
    try:
        import imageio.v2 as imageio  # here, not at the top: the optional video extra
    except ImportError:
        raise NumdreamError("movies need imageio and imageio-ffmpeg, which are not installed; "
                            "run: pip install 'numdream[video]'") from None
    return imageio


def frame_seed(seed, index):
    """The dream seed of frame ``index``: a fixed function of the run's seed and the index, so a
    resumed run draws exactly the jitter an uninterrupted one would have."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def frame_path(folder, index):
    return Path(folder) / FRAME_NAME.format(index)


def resume_point(folder):
    """(count, last) for the frames already in ``folder``: frames 0 .. count-1 all exist, and
    ``last`` is frame count-1 as uint8 (H, W, 3) (None when count is 0).

    Frames are written atomically, so a frame on disk is whole; one that still cannot be read
    (damaged later) is made again, and so is everything after it.
    """
    count = 0
    while frame_path(folder, count).is_file():
        count += 1
    while count:
        try:
            return count, load_image(frame_path(folder, count - 1))
        except ImageError:
            count -= 1
    return 0, None


def check_settings(folder, settings, started=None):
    """Record ``settings`` (a JSON-able dict) in ``folder``, or refuse if the frames already there
    were made with other settings. The folder is created (one level) if missing.

    started(folder) says whether the folder holds work made with the recorded settings (default:
    frame 0 exists, for frames made in order); with none, the record is simply replaced.
    """
    folder = Path(folder)
    if not folder.is_dir():
        if folder.exists():
            raise NumdreamError(f"frames folder {str(folder)!r} is a file, not a folder")
        if not folder.parent.is_dir():
            raise NumdreamError(f"cannot make frames folder {str(folder)!r}: "
                                f"folder {str(folder.parent)!r} does not exist")
        folder.mkdir()
    settings = json.loads(json.dumps(settings))  # tuples become lists, as they read back
    record = folder / SETTINGS_NAME
    made = frame_path(folder, 0).is_file() if started is None else started(folder)
    if record.is_file() and made:
        old = json.loads(record.read_text(encoding="utf-8"))
        for key in sorted(set(old) | set(settings)):
            if old.get(key) != settings.get(key):
                raise NumdreamError(
                    f"{str(folder)!r} holds frames made with other settings ({key}: "
                    f"{old.get(key)!r} then, {settings.get(key)!r} now); resume with the same "
                    "settings, or write to another folder")
        return
    with atomic_write(record) as tmp:
        Path(tmp).write_text(json.dumps(settings, indent=1), encoding="utf-8")


def check_movie_path(path, ext):
    """Fail before a long run if movie ``path`` does not end in ``ext`` or its folder is missing."""
    path = Path(path)
    if path.suffix.lower() != ext:
        raise NumdreamError(f"movie {str(path)!r} must end in {ext}")
    if not path.parent.is_dir():
        raise NumdreamError(f"cannot write movie {str(path)!r}: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise NumdreamError(f"cannot write movie {str(path)!r}: it is a directory")
    return path


def write_movie(path, frame_paths, fps):
    """Assemble PNG frames into a .gif or .mp4 at ``fps`` frames per second, atomically.

    MP4 is H.264 in yuv420p, which needs even sizes: an odd last row or column is cropped.
    """
    imageio = require_imageio()
    path = Path(path)
    if path.suffix.lower() not in MOVIE_FORMATS:
        raise NumdreamError(f"movie {str(path)!r} must end in {' or '.join(MOVIE_FORMATS)}")
    if not frame_paths:
        raise NumdreamError(f"no frames to write into {str(path)!r}")
    try:
        with atomic_write(path) as tmp:
            if path.suffix.lower() == ".gif":
                frames = [load_image(p) for p in frame_paths]
                imageio.mimsave(tmp, frames, format="GIF", duration=1000 / fps, loop=0)
            else:
                _write_mp4(imageio, tmp, frame_paths, fps)
    except (OSError, RuntimeError, ValueError) as err:
        raise NumdreamError(f"cannot write movie {str(path)!r}: {one_line(err)}") from None
    return path


def _write_mp4(imageio, tmp, frame_paths, fps):
    """Encode the frames as H.264 in yuv420p into file ``tmp``, one frame in memory at a time."""
    writer = imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8,
                                pixelformat="yuv420p", macro_block_size=1)
    try:
        for p in frame_paths:
            frame = load_image(p)
            writer.append_data(frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2])
    finally:
        writer.close()


def open_video(path):
    """(reader, fps, count) for a video file; reader yields uint8 (H, W, 3) frames."""
    imageio = require_imageio()
    where = f"cannot read video {str(path)!r}"
    if not Path(path).is_file():
        raise NumdreamError(f"{where}: no such file")
    try:
        reader = imageio.get_reader(path, format="FFMPEG")
        fps = float(reader.get_meta_data().get("fps") or 25.0)
        count = reader.count_frames()
    except (OSError, RuntimeError, ValueError, IndexError) as err:
        raise NumdreamError(f"{where}: not a video ffmpeg can read ({one_line(err)})") from None
    return reader, fps, count
