"""Movies in and out: decode a video, and encode frames (frames.py) into a GIF or an MP4.

    check_fps("zoom.gif", 12)                      # before a long run: a rate this format can store
    write_movie("zoom.mp4", frame_paths, fps=12)   # atomically; checked after encoding
    info = open_video("clip.mp4")                  # reader, fps, frame count, sound (codec or None)
    write_movie("dream.mp4", frame_paths, 12, audio=Audio("clip.mp4", start=1.5, duration=4.0, codec="aac"))

A movie lands under its final name only once it is whole and checked: ffmpeg's exit status and
the frames it reads back in the file (for a GIF, Pillow's), so a failed encode (a rate ffmpeg
refuses, a full disk) leaves no file and raises one NumdreamError line, and the frames stay.
An MP4 can take the sound of another video: the frames are encoded first (into a temp folder
beside the output), then ffmpeg muxes that video with the span of the other's audio track, the
stream copied when MP4 players take its codec, re-encoded to AAC otherwise.
Movies are read with imageio and written by imageio-ffmpeg's ffmpeg binary (the optional
``video`` extra, imported only by require_imageio and require_ffmpeg).
"""
import numbers
import re
import subprocess
import tempfile
from collections import namedtuple
from fractions import Fraction
from pathlib import Path

from PIL import Image

from .errors import NumdreamError
from .fileio import atomic_write, check_regular_file, one_line
from .images import load_image

MOVIE_FORMATS = (".gif", ".mp4")
# A GIF stores each frame's delay in whole hundredths of a second, 2 to 65535 of them (most
# viewers play a delay of 0 or 1 as 1/10 s): 50 fps at most, 100/65535 fps at least.
# ffmpeg's H.264 in MP4 refuses rates above 2**31 fps and, depending on the frame count, below
# about 1/20000 fps (measured with imageio-ffmpeg 0.8); 0.001 to 1000 fps keeps well inside.
FPS_RANGES = {".gif": (0.0016, 50.0), ".mp4": (0.001, 1000.0)}
_WHY = {".gif": "a GIF stores each frame's delay in whole 1/100 s, 2 to 65535 of them",
        ".mp4": "the range ffmpeg's H.264 encoder takes with room to spare"}
# Pillow holds every frame of a GIF it writes (palettised, a byte a pixel): bound their pixels
GIF_PIXELS = 4 * (Image.MAX_IMAGE_PIXELS or 89_478_485)
MP4_CRF = 10  # x264 quality (0 best, 51 worst); what imageio's quality=8 gave, which numdream used before
# Audio codecs copied into an MP4 as they are: those MP4 players commonly play. ffmpeg would mux
# more (PCM, FLAC, Opus), which many players then refuse to sound; those are re-encoded to AAC.
MP4_AUDIO_COPY = ("aac", "mp3", "alac", "ac3", "eac3")
AAC_BITRATE = "192k"

VideoInfo = namedtuple("VideoInfo", "reader fps count size audio")  # size (W, H); audio: a codec name or None
Audio = namedtuple("Audio", "source start duration codec")  # the sound to put in a movie: a span of a file


def require_imageio():
    """The imageio.v2 module, or one clear NumdreamError saying how to install it."""
    try:
        import imageio.v2 as imageio  # here, not at the top: the optional video extra
    except ImportError:
        raise NumdreamError("movies need imageio and imageio-ffmpeg, which are not installed; "
                            "run: pip install 'numdream[video]'") from None
    return imageio


def require_ffmpeg():
    """Path of the ffmpeg binary that imageio-ffmpeg brings (or $IMAGEIO_FFMPEG_EXE)."""
    require_imageio()
    try:
        import imageio_ffmpeg  # here, not at the top: the optional video extra
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as err:
        raise NumdreamError(f"movies need ffmpeg, which imageio-ffmpeg did not find ({one_line(err)}); "
                            "run: pip install 'numdream[video]'") from None


def check_movie_path(path, ext):
    """Fail before a long run if movie ``path`` does not end in ``ext`` or its folder is missing."""
    path = Path(path)
    if path.suffix.lower() != ext:
        raise NumdreamError(f"movie {str(path)!r} must end in {ext}")
    try:
        if not path.parent.is_dir():
            raise NumdreamError(f"cannot write movie {str(path)!r}: folder {str(path.parent)!r} does not exist")
        if path.is_dir():
            raise NumdreamError(f"cannot write movie {str(path)!r}: it is a directory")
    except OSError as err:  # pathlib raises for a name too long for the file system
        raise NumdreamError(f"cannot write movie {str(path)!r}: {one_line(err)}") from None
    return path


def check_fps(path, fps):
    """Refuse a frame rate that movie ``path``'s format cannot store (see FPS_RANGES)."""
    ext = Path(path).suffix.lower()
    low, high = FPS_RANGES[ext]
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not low <= fps <= high:
        raise NumdreamError(f"frame rate {fps!r} does not fit {str(path)!r}: {ext[1:].upper()} rates go "
                            f"from {low:g} to {high:g} fps ({_WHY[ext]})")
    return float(fps)


def check_movie_size(path, count, hw):
    """Refuse a GIF of ``count`` frames of hw = (H, W) pixels that would not fit GIF_PIXELS (an MP4
    is encoded one frame at a time, so any length fits)."""
    if Path(path).suffix.lower() == ".gif" and count * hw[0] * hw[1] > GIF_PIXELS:
        raise NumdreamError(f"a GIF of {count} frames of {hw[1]}x{hw[0]} pixels would hold "
                            f"{count * hw[0] * hw[1]:,} pixels in memory while it is written, more than "
                            f"the {GIF_PIXELS:,} allowed; make fewer or smaller frames, or an MP4")


def write_movie(path, frame_paths, fps, comment=None, audio=None):
    """Assemble PNG frames into a .gif or .mp4 at ``fps`` frames per second, atomically.

    comment: ASCII text kept in a GIF's comment extension (numdream's settings record).
    MP4 is H.264 in yuv420p, which needs even sizes: an odd last row or column is cropped.
    audio: an Audio (a span of another file's sound track) for an MP4, or None for no sound.
    returns: Path(path). Raises NumdreamError (one line) if ffmpeg or Pillow fails or the file
    does not read back with every frame (and the sound asked for); no file is left under ``path`` then.
    """
    path = Path(path)
    if path.suffix.lower() not in MOVIE_FORMATS:
        raise NumdreamError(f"movie {str(path)!r} must end in {' or '.join(MOVIE_FORMATS)}")
    if not frame_paths:
        raise NumdreamError(f"no frames to write into {str(path)!r}")
    fps = check_fps(path, fps)
    try:
        with atomic_write(path) as tmp:
            if path.suffix.lower() == ".gif":
                _write_gif(tmp, frame_paths, fps, comment)
            elif audio is None:
                _write_mp4(tmp, frame_paths, fps)
            else:  # the video first, then the sound muxed in; the folder goes whatever happens
                with tempfile.TemporaryDirectory(prefix=f".{path.stem[:100]}.", dir=path.parent) as work:
                    silent = str(Path(work) / "video.mp4")
                    _write_mp4(silent, frame_paths, fps)
                    _mux_audio(silent, audio, tmp)
                    _check_frame_count(tmp, len(frame_paths))
    except OverflowError:  # Pillow merges repeated frames into one, adding up their delays
        raise NumdreamError(f"cannot write movie {str(path)!r}: repeated frames merge into one whose "
                            f"delay passes a GIF's 655.35 s at {fps:g} fps; use a higher --fps") from None
    except (OSError, RuntimeError, ValueError) as err:
        raise NumdreamError(f"cannot write movie {str(path)!r}: {one_line(err)}") from None
    return path


def _write_gif(tmp, frame_paths, fps, comment=None):
    """All frames into GIF file ``tmp``; Pillow reads them one by one and keeps each palettised."""
    first = load_image(frame_paths[0])
    check_movie_size(tmp, len(frame_paths), first.shape[:2])
    rest = (Image.fromarray(load_image(p)) for p in frame_paths[1:])
    extra = {} if comment is None else {"comment": comment.encode("ascii")}
    Image.fromarray(first).save(tmp, format="GIF", save_all=True, append_images=rest, duration=1000 / fps,
                                loop=0, **extra)
    with Image.open(tmp) as gif:  # read every frame back: a short write fails here
        for index in range(gif.n_frames):
            gif.seek(index)
            gif.load()


def _write_mp4(tmp, frame_paths, fps):
    """Encode the frames as H.264 in yuv420p into file ``tmp`` with ffmpeg, one frame in memory at
    a time; raises RuntimeError unless ffmpeg exits 0 and the file holds every frame."""
    first = load_image(frame_paths[0])
    h, w = first.shape[0] // 2 * 2, first.shape[1] // 2 * 2
    rate = str(Fraction(fps).limit_denominator(1_000_000))
    command = [require_ffmpeg(), "-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{w}x{h}",
               "-pix_fmt", "rgb24", "-r", rate, "-i", "-", "-an", "-vcodec", "libx264",
               "-pix_fmt", "yuv420p", "-crf", str(MP4_CRF), "-v", "error", "-f", "mp4", tmp]
    with tempfile.TemporaryFile() as log:
        # its own session, so a Ctrl-C reaches numdream, which stops ffmpeg itself
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=log, start_new_session=True)
        try:
            for index, frame_file in enumerate(frame_paths):
                frame = first if index == 0 else load_image(frame_file)
                if frame.shape != first.shape:
                    raise ValueError(f"frame {str(frame_file)!r} is {frame.shape[1]}x{frame.shape[0]}, "
                                     f"the first is {first.shape[1]}x{first.shape[0]}")
                process.stdin.write(frame[:h, :w].tobytes())
            process.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped reading: its exit status and log say why
        except BaseException:
            process.kill()
            process.wait()
            raise
        status = process.wait()
        log.seek(0)
        said = log.read()[-2000:].decode("utf-8", "replace")
    if status != 0:
        raise RuntimeError(f"ffmpeg failed (exit status {status}): {one_line(said) or 'no message'}")
    _check_frame_count(tmp, len(frame_paths))


def _mux_audio(video, audio, out):
    """Write MP4 ``out``: the video stream of file ``video`` (copied) and ``audio.duration``
    seconds of the first sound track of ``audio.source`` from ``audio.start`` on, copied if its
    codec is in MP4_AUDIO_COPY and ffmpeg takes it, else re-encoded to AAC. Raises RuntimeError
    unless ffmpeg exits 0 and ``out`` holds a sound track."""
    codecs = (["copy"] if audio.codec in MP4_AUDIO_COPY else []) + ["aac"]
    for codec in codecs:
        command = [require_ffmpeg(), "-y", "-v", "error", "-i", video, "-ss", f"{audio.start:.6f}",
                   "-t", f"{audio.duration:.6f}", "-i", str(audio.source), "-map", "0:v:0", "-map", "1:a:0",
                   "-c:v", "copy", "-c:a", codec, *(["-b:a", AAC_BITRATE] if codec == "aac" else []),
                   "-f", "mp4", out]
        status, said = _run_ffmpeg(command)
        if status == 0:
            break
    if status != 0:
        raise RuntimeError(f"ffmpeg failed to add the sound of {str(audio.source)!r} (exit status {status}): "
                           f"{one_line(said) or 'no message'}; --no-audio leaves the sound out")
    if audio_codec(out) is None:
        raise RuntimeError(f"ffmpeg wrote a movie without the sound of {str(audio.source)!r}; "
                           "--no-audio leaves the sound out")


def _run_ffmpeg(command):
    """(exit status, the end of what it said) of an ffmpeg command, in a session of its own (a
    Ctrl-C reaches numdream, which stops ffmpeg itself)."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                   start_new_session=True)
        try:
            status = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        log.seek(0)
        return status, log.read()[-2000:].decode("utf-8", "replace")


def audio_codec(path):
    """The codec name of the first sound track of media file ``path`` ('aac', 'pcm_s16le'), or None
    if it has none, as ffmpeg describes the file."""
    _, said = _run_ffmpeg([require_ffmpeg(), "-hide_banner", "-i", str(path)])  # exits 1: no output named
    found = re.search(r"Stream #\d+:\d+\S*: Audio: ([\w-]+)", said)
    return found and found.group(1)


def _check_frame_count(movie, expected):
    """Raise RuntimeError unless the movie file holds ``expected`` video frames (counted by ffmpeg
    from the container, without decoding)."""
    import imageio_ffmpeg  # the optional video extra, as in require_ffmpeg
    try:
        found, _ = imageio_ffmpeg.count_frames_and_secs(movie)
    except (RuntimeError, OSError, ValueError) as err:
        raise RuntimeError(f"ffmpeg wrote a file it cannot read back ({one_line(err, limit=120)})") from None
    if found != expected:
        raise RuntimeError(f"ffmpeg wrote {found} frames of {expected}")


def open_video(path, count=True):
    """VideoInfo(reader, fps, count, size, audio) of a video file: reader yields uint8 (H, W, 3)
    frames; count is its number of frames (None with count=False: counting decodes the file);
    size its frames' (W, H); audio the codec of its sound track, or None."""
    imageio = require_imageio()
    check_regular_file(path, "video")
    where = f"cannot read video {str(path)!r}"
    try:
        reader = imageio.get_reader(path, format="FFMPEG")
        meta = reader.get_meta_data()
        fps = float(meta.get("fps") or 25.0)
        frames = reader.count_frames() if count else None
    except (OSError, RuntimeError, ValueError, IndexError) as err:
        raise NumdreamError(f"{where}: not a video ffmpeg can read ({one_line(err)})") from None
    audio = str(meta.get("audio_codec") or "").strip(" ,") or None  # imageio keeps ffmpeg's comma
    return VideoInfo(reader, fps, frames, tuple(meta.get("size") or (0, 0)), audio)
