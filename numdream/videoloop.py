"""The frames of a video dream, one run of them at a time: decode, carry the last dream along, dream, save.

    job = VideoJob(source, folder, plan.sources, blend=0.9, flow="dis", flow_params={}, seed=0,
                   options=dict(octaves=4, steps=10), carried=dict(octaves=1, steps=2))
    dream_run(job, 0, len(job.sources), model)    # here; a Dask worker runs the same (videodask.py)
    cuts = scene_cuts(job)                         # the frames that start afresh, from the input alone

Output frame t shows input frame job.sources[t]; ``first`` is the first frame of its run:

    t == first, or blend 0:        dream(frame t, options)                          (afresh)
    input frame t == input t-1:    dream t-1 again, as it is       (resampled to a higher rate)
    flow none:                     dream(blend_frames(frame t, dream t-1, blend), carried options)
    a flow:                        start, weight, cut = carry_dream(frame t-1, dream t-1, frame t, blend)
                                   dream(start, options if cut else carried options)

A frame depends only on input frames and on the dream before it, each computed deterministically
(the flow from the input frames, not the dreams), so a run interrupted anywhere resumes from the
frames on disk (PNG, lossless) with exactly the frames an uninterrupted run makes, and runs that
scene cuts separate can be dreamed apart. Within one process that holds bit for bit; between
processes only with the same number of BLAS threads, as OpenBLAS's last bits depend on it
(benchmarks/README.md: one pixel in about 8,500 differs by one level after a 320x240 dream).
"""
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .dream import dream
from .dreamplan import shrunk
from .errors import NumdreamError
from .fileio import one_line
from .flow import carry_dream, flow_and_weight, is_scene_cut
from .frames import frame_path, resume_point, saved_frame
from .images import save_image
from .movie import open_video


@dataclass(frozen=True)
class VideoJob:
    """Everything the frames of a video dream depend on (picklable, for Dask workers).

    source: the video's path; folder: the frames folder; sources: the input frame index of each
    output frame; blend: in [0, 1]; flow: 'dis', 'farneback' or None (blend without motion);
    flow_params: the flow method's parameters (flowparams.check_flow_params); seed: every frame's
    dream seed; options: dream() options of a fresh frame; carried: the options that replace
    them for a frame that starts from the dream before it (fewer steps, octaves).
    """
    source: str
    folder: str
    sources: tuple
    blend: float
    flow: str = None
    flow_params: dict = field(default_factory=dict)
    seed: int = 0
    options: dict = field(default_factory=dict)
    carried: dict = field(default_factory=dict)


def blend_frames(frame, dreamed, blend):
    """(1 - blend) * frame + blend * dreamed, rounded; both uint8 (H, W, 3); dreamed may be None."""
    if dreamed is None or blend == 0:
        return frame
    if dreamed.shape != frame.shape:
        raise NumdreamError(f"video frame of shape {frame.shape} follows one of {dreamed.shape}; "
                            "frames of a video must all have the same size")
    mixed = (1.0 - blend) * frame.astype(np.float32) + blend * dreamed.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def dream_run(job, first, stop, model, tick=None):
    """Dream output frames first .. stop-1 of ``job`` into its folder; frame ``first`` starts afresh.

    Frames already on disk are kept: the run resumes after the last of first, first+1, ... that
    is there, and takes any later frame that is there too (dreamed by an earlier run of the same
    settings, on another worker, say). model: a Model; tick(): called once a frame is done.
    """
    done, dreamed = resume_point(job.folder, first, stop)
    previous = None  # input frame t-1
    for t, frame in input_frames(job.source, job.sources, max(first, done - 1), stop, job.options.get("max_size")):
        if t >= done:
            kept = saved_frame(job.folder, t) if t > done else None
            if kept is None:
                dreamed = dream_frame(job, model, t, first, frame, previous, dreamed)
                save_image(frame_path(job.folder, t), dreamed)
            else:
                dreamed = kept
            if tick:
                tick()
        previous = frame


def dream_frame(job, model, t, first, frame, previous, dreamed):
    """The dream of output frame t (uint8 (H, W, 3)), given input frames t and t-1 (``frame``,
    ``previous``) and the dream of t-1 (``dreamed``); see the table in the module docstring."""
    if t > first and job.sources[t] == job.sources[t - 1]:
        return dreamed  # an input frame shown twice (a higher output rate) shows its dream twice
    start, options = frame, job.options
    if t > first and job.blend > 0:
        if job.flow is None:
            start, options = blend_frames(frame, dreamed, job.blend), {**job.options, **job.carried}
        else:
            start, _, cut = carry_dream(previous, dreamed, frame, job.blend, job.flow, **job.flow_params)
            options = job.options if cut else {**job.options, **job.carried}
    return dream(start, model=model, seed=job.seed, progress=False, **options)


def scene_cuts(job, tick=None):
    """The output frames that start a new scene, found from the input frames alone as
    carry_dream finds them (flow_and_weight, is_scene_cut): [] without a flow.
    tick(): called once a frame is looked at."""
    if job.flow is None:
        return []
    cuts, previous = [], None
    for t, frame in input_frames(job.source, job.sources, 0, len(job.sources), job.options.get("max_size")):
        if t and job.sources[t] != job.sources[t - 1]:
            if is_scene_cut(flow_and_weight(previous, frame, job.flow, **job.flow_params)[1]):
                cuts.append(t)
        previous = frame
        if tick:
            tick()
    return cuts


def input_frames(source, sources, first, stop, max_size=None):
    """Yield (t, input frame sources[t]) for output frames t = first .. stop-1, decoding video
    ``source`` once from its start; each frame uint8 (H, W, 3), shrunk so that its longest side
    is at most max_size (the flow, the blend and the dream then all see frames of one size)."""
    info = open_video(source, count=False)
    try:
        decoded, index, frame = iter(info.reader), -1, None
        for t in range(first, stop):
            while index < sources[t]:
                frame = shrunk(_next_frame(decoded, source, index + 1), max_size)
                index += 1
            yield t, frame
    finally:
        info.reader.close()


def _next_frame(decoded, source, index):
    """Frame ``index`` of the video as uint8 (H, W, 3); a decoding failure is one NumdreamError line."""
    try:
        frame = next(decoded)
    except StopIteration:
        raise NumdreamError(f"video {str(source)!r} ended at frame {index}, before the "
                            "frame count ffmpeg reported; the file may be truncated") from None
    except (OSError, RuntimeError, ValueError) as err:
        raise NumdreamError(f"cannot read frame {index} of video {str(source)!r}: "
                            f"{one_line(err)}") from None
    return np.ascontiguousarray(np.asarray(frame)[:, :, :3], dtype=np.uint8)


class FrameProgress:
    """The progress line of a video: frames done of the total, frames per minute and the time
    left, both from the frames this run made (not those it resumed after)."""

    def __init__(self, total, done, enabled=True, desc="video"):
        self.total, self.first, self.started = total, done, time.monotonic()
        self.bar = tqdm(total=total, initial=done, desc=desc, file=sys.stderr, disable=not enabled,
                        bar_format="{desc}: {n_fmt}/{total_fmt} frames{postfix}")

    def tick(self):
        self.show(self.bar.n + 1)

    def show(self, done):
        """Show ``done`` frames done."""
        made, seconds = done - self.first, time.monotonic() - self.started
        if made > 0 and seconds > 0:
            per_minute = 60 * made / seconds
            left = tqdm.format_interval((self.total - done) * seconds / made)
            self.bar.set_postfix_str(f"{per_minute:.3g} frames/min, {left} left", refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self):
        self.bar.close()
