"""Dream a real video frame by frame, blending each dream into the next frame so it does not flicker.

    input 0 = frame 0
    input t = (1 - blend) * frame t + blend * dreamed t-1        for t >= 1
    dreamed t = dream(input t, seed=seed)

Every frame is dreamed with the same seed (the same jitter from frame to frame, which keeps the
dream steady), written as a PNG to a work folder beside the output, and the MP4 is encoded from
those frames at the end, atomically. A run interrupted at any point resumes after the last
dreamed frame on disk and produces the same movie an uninterrupted run would have.
"""
import shutil
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .dream import dream
from .errors import NumdreamError
from .fileio import file_digest, one_line
from .images import save_image
from .model import load_model
from .movie import check_movie_path, check_settings, frame_path, open_video, resume_point, write_movie


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
    """Where the dreamed frames of ``output`` wait for encoding: OUT_frames/ beside OUT.mp4."""
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
    if not (isinstance(blend, (int, float)) and 0 <= blend < 1):
        raise NumdreamError(f"blend must be a number in [0, 1), got {blend!r}")
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, int) or frames < 1):
        raise NumdreamError(f"frames must be a whole number >= 1, got {frames!r}")
    output = check_movie_path(output, ".mp4")
    if output.resolve() == Path(source).resolve():
        raise NumdreamError(f"output {str(output)!r} is the input video; choose another output path")
    reader, in_fps, count = open_video(source)
    if count < 1:
        raise NumdreamError(f"video {str(source)!r} has no frames")
    total = count if frames is None else min(frames, count)
    model = model or load_model()
    folder = work_folder(output)
    # SHA-1, as frame folders made so far record it: another digest would refuse to resume them
    digest = "sha1:" + file_digest(source, "sha1")
    check_settings(folder, dict(command="video", input=digest, blend=blend, seed=seed,
                                model=str(getattr(model.spec, "path", None) or model.name),
                                **{k: v for k, v in sorted(options.items()) if k != "callback"}))
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
        reader.close()
    write_movie(output, [frame_path(folder, t) for t in range(total)], fps or in_fps)
    if not keep_frames:
        shutil.rmtree(folder)
    return output


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
