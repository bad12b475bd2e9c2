"""Dream a real video frame by frame, blending each dream into the next frame so it does not flicker.

    input 0 = frame 0
    input t = (1 - blend) * frame t + blend * dreamed t-1        for t >= 1
    dreamed t = dream(input t, seed=seed)

Every frame is dreamed with the same seed (the same jitter from frame to frame, which keeps the
dream steady), written as a PNG to a frames folder of numdream's own beside the output
(OUT_frames/ for OUT.mp4, see numdream.frames), and the MP4 is encoded from those frames at the
end, atomically. A run interrupted at any point resumes after the last dreamed frame on disk and
produces the same movie an uninterrupted run would have. Once the MP4 is written and checked,
numdream deletes its frames (and the folder, if nothing else is in it); if encoding fails, the
frames stay for the next run.
"""
import numbers
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .dream import dream
from .errors import NumdreamError
from .fileio import check_regular_file, file_digest, one_line, resolved
from .frames import (MAX_FRAMES, check_frames_folder, claim_frames_folder, describe, frame_path, model_settings,
                     remove_frames_folder, resume_point)
from .images import save_image
from .model import load_model
from .movie import check_fps, check_movie_path, open_video, write_movie
from .options import check_options


def blend_frames(frame, dreamed, blend):
    """(1 - blend) * frame + blend * dreamed, rounded; both uint8 (H, W, 3); dreamed may be None."""
    if dreamed is None or blend == 0:
        return frame
    if dreamed.shape != frame.shape:
        raise NumdreamError(f"video frame of shape {frame.shape} follows one of {dreamed.shape}; "
                            "frames of a video must all have the same size")
    mixed = (1.0 - blend) * frame.astype(np.float32) + blend * dreamed.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def work_folder(output):
    """Where the dreamed frames of ``output`` wait for encoding: OUT_frames/ beside OUT.mp4
    ('holiday.mp4' -> 'holiday_frames/'), a folder numdream makes itself (numdream.frames)."""
    output = Path(output)
    return output.with_name(output.stem + "_frames")


def dream_video(source, output, blend=0.5, frames=None, fps=None, keep_frames=False, model=None,
                seed=0, progress=True, **options):
    """Dream every frame of video ``source`` and encode the result as ``output`` (.mp4).

    blend: 0 <= blend < 1, how much of the previous dream enters the next frame.
    frames: only the first ``frames`` frames (default: all). fps: output rate (default: the input's).
    keep_frames: keep the work folder of PNG frames after encoding (default: delete it).
    options: dream() options and targets (layers, objective, octaves, steps, ...).
    returns: Path of the output.
    """
    if not (isinstance(blend, numbers.Real) and not isinstance(blend, bool) and 0 <= blend < 1):
        raise NumdreamError(f"blend must be a number in [0, 1), got {blend!r}")
    if frames is not None and not (isinstance(frames, numbers.Integral) and not isinstance(frames, bool)
                                   and 1 <= frames <= MAX_FRAMES):
        raise NumdreamError(f"frames must be a whole number from 1 to {MAX_FRAMES}, got {frames!r}")
    output = check_movie_path(output, ".mp4")
    if fps is not None:
        check_fps(output, fps)
    check_options(dict(options, seed=seed))
    check_regular_file(source, "video")
    if resolved(output) == resolved(source):
        raise NumdreamError(f"output {str(output)!r} is the input video; choose another output path")
    check_frames_folder(work_folder(output))
    reader, in_fps, count = open_video(source)
    try:
        rate = _rate(source, output, fps, in_fps, count, frames)
        total = count if frames is None else min(frames, count)
        model = model or load_model()
        folder = work_folder(output)
        # SHA-1, as frame folders made so far record it: another digest would refuse to resume them
        digest = "sha1:" + file_digest(source, "sha1")
        settings = dict(command="video", input=digest, blend=describe(blend), seed=describe(seed),
                        **model_settings(model),
                        **{k: describe(v) for k, v in sorted(options.items()) if k != "callback"})
        with claim_frames_folder(folder, settings):
            _dream_frames(reader, source, folder, total, blend, model, seed, progress, options)
            write_movie(output, [frame_path(folder, t) for t in range(total)], rate)
            if not keep_frames:
                remove_frames_folder(folder)
    finally:
        reader.close()
    return output


def _rate(source, output, fps, in_fps, count, frames):
    """The output's frame rate (fps, else the input's), checked before any dreaming."""
    if count < 1:
        raise NumdreamError(f"video {str(source)!r} has no frames")
    if frames is None and count > MAX_FRAMES:
        raise NumdreamError(f"video {str(source)!r} has {count} frames, more than the {MAX_FRAMES} numdream dreams "
                            "in one movie; dream the first ones with frames (--frames N)")
    if fps is not None:
        return check_fps(output, fps)
    try:
        return check_fps(output, in_fps)
    except NumdreamError as err:
        raise NumdreamError(f"{err}; it is the input's rate: choose another with --fps") from None


def _dream_frames(reader, source, folder, total, blend, model, seed, progress, options):
    """Dream frames done .. total-1 of the video into ``folder`` (frames 0 .. done-1 are there)."""
    done, dreamed = resume_point(folder)
    bar = tqdm(total=total, initial=min(done, total), desc="video", unit="frame", file=sys.stderr,
               disable=not progress)
    try:
        decoded = iter(reader)
        for t in range(total):
            frame = _next_frame(decoded, source, t)
            if t < done:
                continue  # dreamed before the interruption; decoding is the only way past it
            dreamed = dream(blend_frames(frame, dreamed, blend), model=model, seed=seed, progress=False,
                            **options)
            save_image(frame_path(folder, t), dreamed)
            bar.update()
    finally:
        bar.close()


def _next_frame(decoded, source, t):
    """Frame t of the video as uint8 (H, W, 3); a decoding failure is one NumdreamError line."""
    try:
        frame = next(decoded)
    except StopIteration:
        raise NumdreamError(f"video {str(source)!r} ended at frame {t}, before the "
                            "frame count ffmpeg reported; the file may be truncated") from None
    except (OSError, RuntimeError, ValueError) as err:
        raise NumdreamError(f"cannot read frame {t} of video {str(source)!r}: "
                            f"{one_line(err)}") from None
    return np.ascontiguousarray(np.asarray(frame)[:, :, :3], dtype=np.uint8)
