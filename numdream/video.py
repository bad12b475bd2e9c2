"""Dream a real video frame by frame, each dream carried into the next frame so it holds still.

    dream_video("clip.mp4", "dreamed.mp4")                       # DIS optical flow, the sound kept
    dream_video("clip.mp4", "dreamed.mp4", flow=None, blend=0.5)  # the plain blend, no motion
    dream_video("clip.mp4", "part.mp4", start="0:01.5", end="48f", fps=12, workers=2)

With a flow (numdream/flow.py), frame t starts from frame t plus the dream detail of frame t-1
moved along the optical flow of the input frames (blend * consistency weight of it), and is
dreamed with fewer steps (``carried_steps``, ``carried_octaves``): the detail is already there.
A scene cut (the flow finds most pixels inconsistent) starts a fresh dream. Without a flow,
frame t starts from (1 - blend) * frame t + blend * dream t-1. videoloop.py has the whole table.

Every frame is dreamed with the same seed (the same jitter from frame to frame, which keeps the
dream steady), written as a PNG to a frames folder of numdream's own beside the output
(OUT_frames/ for OUT.mp4, see numdream.frames), and the MP4 is encoded from those frames at the
end, atomically, with the input's sound over the same span. A run interrupted at any point
resumes from the frames on disk and produces the movie an uninterrupted run would have; the
settings record refuses a resume with other settings (flow ones included). With ``workers`` or
``scheduler`` the runs of frames between scene cuts are dreamed in parallel on Dask
(videodask.py), with the same frames. Once the MP4 is written and checked, numdream deletes its
frames (and the folder, if nothing else is in it); if encoding fails, the frames stay.
"""
import math
import numbers
import os
from pathlib import Path

from . import backend
from .batch import check_workers, require_dask
from .dreamplan import shrunk_size
from .errors import NumdreamError
from .fileio import check_regular_file, file_digest, resolved
from .flow import SCENE_CUT_THRESHOLD, check_frame_size, require_cv2
from .flowparams import check_flow_params
from .frames import check_frames_folder, claim_frames_folder, frame_path, remove_frames_folder
from .model import load_model
from .movie import Audio, check_fps, check_movie_path, open_video, write_movie
from .options import WHOLE_BOUNDS, check_options, whole
from .settings_record import describe, model_settings
from .videodask import dream_runs
from .videoloop import FrameProgress, VideoJob, blend_frames, dream_run, scene_cuts  # noqa: F401 (blend_frames)
from .videoplan import chunks, even_runs, frame_plan

FLOW_CHOICES = ("dis", "farneback", "none")
DEFAULT_FLOW = "dis"   # measured: benchmarks/README.md (bench_flow.py, bench_video.py)
# Measured with benchmarks/bench_video.py ("Video dreams that hold still"): with a flow, 0.9 keeps
# the dream at least as strong as dreaming every frame afresh (1.08x, 1.40x on its two clips) at a
# fifth to a third of the plain blend's flicker (1.0 lets it grow frame after frame); without
# one, more than 0.5 smears the dream over anything that moves.
DEFAULT_BLEND = {True: 0.9, False: 0.5}
CARRIED_STEPS_SHARE = 4  # a carried frame's default: a quarter of --steps (at least 1), at the full size only


def dream_video(source, output, blend=None, frames=None, fps=None, start=None, end=None, flow=DEFAULT_FLOW,
                flow_params=None, carried_steps=None, carried_octaves=None, audio=True, keep_frames=False,
                model=None, seed=0, progress=True, workers=None, scheduler=None, blas_threads=None, **options):
    """Dream the frames of video ``source`` and encode the result as ``output`` (.mp4).

    blend: in [0, 1] with a flow, [0, 1) without (default: 0.9 with a flow, 0.5 without); how
        much of the previous dream enters the next frame.
    frames: at most this many output frames. start, end: the span of the input to dream, end
        exclusive (seconds, '0:01.5' or '12f', see numdream.videoplan); default: all of it.
    fps: the output rate, resampling the input (dropping or repeating frames; default: the input's).
    flow: 'dis' (default), 'farneback', or None / 'none' (the plain blend, without motion).
    flow_params: the flow method's parameters (numdream.flowparams), e.g. {'preset': 'fast'}.
    carried_steps, carried_octaves: steps and octaves of a frame carried from the one before
        (default with a flow: a quarter of the steps, at least 1, at the full size only;
        without: those of every frame).
    audio: keep the input's sound over the dreamed span (if it has one). keep_frames: keep the
        frames folder after encoding. workers, scheduler, blas_threads: dream the runs between
        scene cuts on Dask, as numdream.batch does (model must then be a file the workers read).
    options: dream() options and targets (layers, objective, octaves, steps, ...).
    returns: Path of the output.
    """
    flow = _check_flow(flow)
    blend = _check_blend(blend, flow)
    params = check_flow_params(flow, flow_params or {}) if flow else {}
    if flow_params and not flow:
        raise NumdreamError(f"flow parameters {sorted(flow_params)} are used only with a flow (dis or farneback)")
    output = check_movie_path(output, ".mp4")
    if fps is not None:
        check_fps(output, fps)
    check_options(dict(options, seed=seed))
    carried = carried_options(options, flow, carried_steps, carried_octaves)
    check_regular_file(source, "video")
    if resolved(output) == resolved(source):
        raise NumdreamError(f"output {str(output)!r} is the input video; choose another output path")
    distributed = bool(workers or scheduler)
    model_path = _check_distributed(model, options, workers, blas_threads) if distributed else None
    if flow:
        require_cv2()
    folder = work_folder(output)
    check_frames_folder(folder)
    info = open_video(source)
    info.reader.close()  # each run of frames decodes the video itself (videoloop.input_frames)
    if info.count < 1:
        raise NumdreamError(f"video {str(source)!r} has no frames")
    if flow:
        check_frame_size(*shrunk_size(info.size[::-1], options.get("max_size")), flow, params)
    plan = frame_plan(info.count, info.fps, start, end, fps, frames)
    rate = _rate(output, fps, info.fps)
    sound = Audio(str(source), plan.audio_start, plan.duration, info.audio) if audio and info.audio else None
    model = model or load_model()
    job = VideoJob(str(resolved(source)), str(resolved(folder)), plan.sources, float(blend), flow,
                   {k: v for k, v in params.items() if k != "preset_id"}, seed, options, carried)
    with claim_frames_folder(folder, _settings(source, model, job, rate)):
        _dream(job, model, model_path, workers, scheduler, blas_threads, progress)
        write_movie(output, [frame_path(folder, t) for t in range(len(plan.sources))], rate, audio=sound)
        if not keep_frames:
            remove_frames_folder(folder)
    return output


def work_folder(output):
    """Where the dreamed frames of ``output`` wait for encoding: OUT_frames/ beside OUT.mp4
    ('holiday.mp4' -> 'holiday_frames/'), a folder numdream makes itself (numdream.frames)."""
    output = Path(output)
    return output.with_name(output.stem + "_frames")


def _dream(job, model, model_path, workers, scheduler, blas_threads, progress):
    """Dream every frame of ``job`` not yet on disk: here, in order, or in runs on Dask."""
    total = len(job.sources)
    on_disk = sum(frame_path(job.folder, t).is_file() for t in range(total))
    if not (workers or scheduler):
        bar = FrameProgress(total, on_disk, progress)
        try:
            dream_run(job, 0, total, model, bar.tick)
        finally:
            bar.close()
        return
    if job.blend == 0:  # every frame dreamed afresh: any split will do
        runs = even_runs(total, 4 * (workers or os.cpu_count() or 1))
    else:  # the cuts are found first, from the input frames, as a run in one process finds them
        bar = FrameProgress(total, 0, progress, desc="scene cuts")
        try:
            runs = chunks(total, scene_cuts(job, bar.tick))
        finally:
            bar.close()
    runs = [(first, stop) for first, stop in runs
            if not all(frame_path(job.folder, t).is_file() for t in range(first, stop))]
    bar = FrameProgress(total, on_disk, progress)
    try:
        if runs:
            backend_name = "numpy" if backend.active().__name__ == "numpy" else "cupy"  # the workers' too
            dream_runs(job, runs, model_path, backend_name, workers, scheduler, blas_threads, bar)
    finally:
        bar.close()


def _settings(source, model, job, rate):
    """The settings record of the frames folder: what the frames depend on."""
    # SHA-1, as frame folders made so far record it: another digest would refuse to resume them
    digest = "sha1:" + file_digest(source, "sha1")
    return dict(command="video", input=digest, blend=describe(job.blend), seed=describe(job.seed),
                **model_settings(model),
                **{k: describe(v) for k, v in sorted(job.options.items()) if k != "callback"},
                flow=job.flow or "none", **{f"flow_{k}": describe(v) for k, v in job.flow_params.items()},
                scene_cut=SCENE_CUT_THRESHOLD if job.flow else None, carried=describe(job.carried),
                first_frame=job.sources[0], fps=describe(rate))


def _check_flow(flow):
    if flow is None or flow == "none":
        return None
    if flow not in FLOW_CHOICES:
        raise NumdreamError(f"unknown flow {flow!r}; valid: {', '.join(FLOW_CHOICES)}")
    return flow


def _check_blend(blend, flow):
    if blend is None:
        return DEFAULT_BLEND[bool(flow)]
    ok = isinstance(blend, numbers.Real) and not isinstance(blend, bool) and math.isfinite(blend)
    if flow and not (ok and 0 <= blend <= 1):
        raise NumdreamError(f"blend must be a number in [0, 1], got {blend!r}")
    if not flow and not (ok and 0 <= blend < 1):
        raise NumdreamError(f"blend must be a number in [0, 1) without a flow (1 would repeat the first "
                            f"dream forever), got {blend!r}")
    return float(blend)


def carried_options(options, flow, steps=None, octaves=None):
    """The dream options of a carried frame: {'steps': ..., 'octaves': ...}."""
    fresh_steps, fresh_octaves = options.get("steps", 10), options.get("octaves", 4)
    if steps is None:
        steps = max(1, math.ceil(fresh_steps / CARRIED_STEPS_SHARE)) if flow else fresh_steps
    if octaves is None:
        octaves = 1 if flow else fresh_octaves
    return dict(steps=whole(steps, "carried_steps", WHOLE_BOUNDS["steps"]),
                octaves=whole(octaves, "carried_octaves", WHOLE_BOUNDS["octaves"]))


def _check_distributed(model, options, workers, blas_threads):
    """The model path Dask workers load (None: the bundled model), after the checks."""
    require_dask()
    check_workers(workers, blas_threads)
    if options.get("callback") is not None:
        raise NumdreamError("a callback cannot run on Dask workers; dream the video without workers")
    if model is None:
        return None
    path = getattr(model.spec, "path", None)
    if not path:
        raise NumdreamError("dreaming a video on Dask workers needs a model file they can read; "
                            "load the model with numdream.load_model(path)")
    return str(resolved(path))


def _rate(output, fps, in_fps):
    """The output's frame rate (fps, else the input's), checked before any dreaming."""
    if fps is not None:
        return check_fps(output, fps)
    try:
        return check_fps(output, in_fps)
    except NumdreamError as err:
        raise NumdreamError(f"{err}; it is the input's rate: choose another with --fps") from None
