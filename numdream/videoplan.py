"""Which frames of a video a dream covers, and which of them depend on each other.

    plan = frame_plan(count=240, in_fps=24, start=parse_time("1.5"), end=parse_time("12f"), fps=12)
    plan.sources          # the input frame shown as each output frame: (36, 38, ...) skips, repeats
    plan.audio_start      # seconds into the input where the dreamed span starts, for its sound
    plan.duration         # seconds the output lasts: len(sources) / fps
    chunks(len(plan.sources), cuts=[20, 61])     # [(0, 20), (20, 61), (61, N)]: dreamed apart

A time is seconds (``1.5``), minutes and seconds (``0:01.5``, ``1:02:03`` with hours), or a frame
number of the input (``12f``). --start is the first frame shown at or after it; --end is
exclusive: the frames before it (``--start 12f --end 24f`` dreams input frames 12 to 23).
Resampling to another rate shows, at each output time k / fps, the input frame on screen then,
so frames are dropped (a lower rate) or repeated (a higher one) and the video keeps its duration
and stays in step with its sound.
"""
import math
import numbers
import re
from dataclasses import dataclass

from .errors import NumdreamError
from .frames import MAX_FRAMES

# 1e-6 of a frame: a time given in seconds that lands on a frame (1.5 s at 8 fps, 12.000000001
# in floating point) means that frame, not the next.
_FRAME_SLACK = 1e-6
_CLOCK = re.compile(r"(?:(\d{1,9}):)?(\d{1,9}):(\d{1,2}(?:\.\d{0,9})?)")   # [h:]m:s(.fraction)
TIME_HELP = "seconds (1.5), [hours:]minutes:seconds (0:01.5) or an input frame number (12f)"


@dataclass(frozen=True)
class TimePoint:
    """A point in a video: ``seconds`` or an input ``frame`` number (exactly one of them)."""
    seconds: float = None
    frame: int = None

    def frame_index(self, fps):
        """The first input frame at or after this point (frame i is shown from i / fps on)."""
        if self.frame is not None:
            return self.frame
        return max(0, math.ceil(self.seconds * fps - _FRAME_SLACK))

    def __str__(self):
        return f"{self.frame}f" if self.frame is not None else f"{self.seconds:g} s"


def parse_time(value, name="time"):
    """A TimePoint from a number of seconds (>= 0) or a string in one of TIME_HELP's forms.

    name: the option, for the error message ('--start'). Raises NumdreamError (one line).
    """
    if isinstance(value, TimePoint) or value is None:
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if math.isfinite(value) and 0 <= value <= 1e9:
            return TimePoint(seconds=float(value))
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d{1,9}f", text):
            return TimePoint(frame=int(text[:-1]))
        clock = _CLOCK.fullmatch(text)
        if clock:
            hours, minutes, seconds = int(clock.group(1) or 0), int(clock.group(2)), float(clock.group(3))
            if seconds < 60 and (clock.group(1) is None or minutes < 60):  # '90:00' is 90 minutes
                return parse_time(3600 * hours + 60 * minutes + seconds, name)
        elif re.fullmatch(r"\d{1,12}(\.\d{0,9})?|\.\d{1,9}", text):
            return parse_time(float(text), name)
    shown = value if not isinstance(value, str) or len(value) <= 40 else value[:37] + "..."
    raise NumdreamError(f"{name} {shown!r} is not a time; use {TIME_HELP}, at least 0")


@dataclass(frozen=True)
class FramePlan:
    """What a video dream covers. sources: the input frame index of each output frame (non-
    decreasing); fps: the output rate; audio_start, duration: the span in seconds of the input."""
    sources: tuple
    fps: float
    audio_start: float
    duration: float


def frame_plan(count, in_fps, start=None, end=None, fps=None, frames=None):
    """The FramePlan of dreaming input frames [start, end) of a video of ``count`` frames at
    ``in_fps``, resampled to ``fps`` (default: in_fps), at most ``frames`` output frames.

    start, end: TimePoint (or anything parse_time takes) or None for the whole video.
    Raises NumdreamError for a span that holds no frame or more than MAX_FRAMES.
    """
    start, end = parse_time(start, "--start"), parse_time(end, "--end")
    first = start.frame_index(in_fps) if start else 0
    stop = min(end.frame_index(in_fps), count) if end else count
    length = f"{count} frames, {count / in_fps:g} s at {in_fps:g} fps"
    if first >= count:
        raise NumdreamError(f"--start {start} is at or after the end of the video ({length})")
    if stop <= first:
        raise NumdreamError(f"--end {end} is not after --start {start or 0} (input frame {first}); "
                            "--end is exclusive and must come later")
    out_fps = float(fps or in_fps)
    ratio = in_fps / out_fps   # input frames per output frame
    shown = max(1, math.ceil((stop - first) / ratio - _FRAME_SLACK))
    if frames is not None:
        shown = min(shown, frames)
    if shown > MAX_FRAMES:
        raise NumdreamError(f"the video makes {shown} frames at {out_fps:g} fps, more than the {MAX_FRAMES} "
                            "numdream dreams in one movie; dream part of it with --end or --frames")
    sources = tuple(min(stop - 1, first + math.floor(k * ratio + _FRAME_SLACK)) for k in range(shown))
    return FramePlan(sources, out_fps, first / in_fps, shown / out_fps)


def chunks(total, cuts):
    """Split output frames 0 .. total-1 at ``cuts`` (frames that start afresh, any order) into
    [(first, stop), ...]: runs of frames whose dreams depend on each other, none on another run."""
    edges = sorted({0, total, *(c for c in cuts if 0 < c < total)})
    return list(zip(edges[:-1], edges[1:]))


def even_runs(total, pieces):
    """Split 0 .. total-1 into at most ``pieces`` nearly equal runs (for frames that depend on no
    other: every frame dreamed afresh)."""
    pieces = max(1, min(pieces, total))
    return chunks(total, [round(i * total / pieces) for i in range(1, pieces)])
