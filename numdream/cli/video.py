"""``numdream video IN.mp4 -o OUT.mp4``: dream a video frame by frame, each dream carried along the optical flow into the next frame."""
import argparse
import sys
import time

from ..errors import NumdreamError
from ..flowparams import FLOW_PARAMS
from ..frames import MAX_FRAMES
from ..model import load_model
from ..movie import FPS_RANGES
from ..video import DEFAULT_BLEND, DEFAULT_FLOW, FLOW_CHOICES, dream_video
from ..videoplan import TIME_HELP, parse_time
from . import args as types
from .dreamopts import add_cluster_options, add_dream_options, dream_kwargs, refuse_ignored_options, use_backend


def add_parser(sub):
    p = sub.add_parser("video", help="dream a video frame by frame",
                       description=__doc__.split(":", 1)[1].strip() + " Dreamed frames wait in OUT_frames/ "
                       "beside the output (holiday_frames/ for holiday.mp4), a folder numdream makes itself, "
                       "until the MP4 is encoded; an interrupted run resumes from them. The input's sound "
                       "is kept over the dreamed span.")
    p.add_argument("input", metavar="IN.mp4", help="video to dream on (anything ffmpeg reads)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="output video (.mp4, H.264)")
    motion = p.add_argument_group("carrying each dream into the next frame")
    motion.add_argument("--flow", choices=FLOW_CHOICES, default=DEFAULT_FLOW,
                        help=f"optical flow that moves the last dream onto the next frame (default: {DEFAULT_FLOW}; "
                        "none: the plain blend, which smears on motion); needs OpenCV")
    names = "; ".join(f"{method}: {', '.join(table)}" for method, table in FLOW_PARAMS.items())
    motion.add_argument("--flow-param", action="append", type=flow_param, metavar="NAME=VALUE",
                        help=f"a parameter of the flow method, repeatable ({names}; e.g. preset=fast)")
    motion.add_argument("--blend", type=types.number(at_least=0.0, at_most=1.0),
                        help="how much of the last dream's detail enters the next frame (default: "
                        f"{DEFAULT_BLEND[True]:g} with a flow, in [0, 1]; {DEFAULT_BLEND[False]:g} with --flow none, "
                        "below 1)")
    motion.add_argument("--carried-steps", type=types.option_whole("steps"), metavar="N",
                        help="steps per octave of a frame carried from the one before (default: a quarter of "
                        "--steps, at least 1, with a flow; --steps with --flow none)")
    motion.add_argument("--carried-octaves", type=types.option_whole("octaves"), metavar="N",
                        help="octaves of a carried frame, the finest ones (default: 1 with a flow; --octaves "
                        "with --flow none); a scene cut starts a fresh dream with all of them")
    span = p.add_argument_group("which frames")
    span.add_argument("--start", type=time_point("--start"), metavar="TIME",
                      help=f"first frame to dream: {TIME_HELP} (default: the first)")
    span.add_argument("--end", type=time_point("--end"), metavar="TIME",
                      help="dream the frames before it (exclusive; same forms; default: to the end)")
    span.add_argument("--frames", type=types.whole(1, MAX_FRAMES), help="at most N output frames")
    span.add_argument("--fps", type=types.number(above=0.0), help="output frame rate, resampling the input "
                      "(frames dropped or repeated, the duration kept), {:g} to {:g} (default: the "
                      "input's)".format(*FPS_RANGES[".mp4"]))
    p.add_argument("--no-audio", action="store_true", help="leave the input's sound out")
    p.add_argument("--keep-frames", action="store_true", help="keep OUT_frames/ after encoding")
    add_cluster_options(p, "dream the runs of frames between scene cuts in parallel on a local Dask cluster "
                        "of N worker processes (pip install 'numdream[dask]')", "IN, OUT and --model paths")
    add_dream_options(p, noise=False, seed_help="seed of every frame's dream (default: 0)")
    p.set_defaults(run=run, seed=0)


def flow_param(text):
    """'preset=fast' -> ('preset', 'fast'); 'finest_scale=1' -> ('finest_scale', 1); numbers as
    int or float, the rest as text (numdream.flowparams checks each against its method)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not NAME=VALUE, e.g. preset=fast")
    value = value.strip()
    for kind in (int, float):
        try:
            return name.strip(), kind(value)
        except ValueError:
            pass
    return name.strip(), value


def time_point(option):
    def parse(text):
        try:
            return parse_time(text, option)
        except NumdreamError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a time; use {TIME_HELP}") from None
    return parse


def run(a):
    refuse_ignored_options(a)
    if a.scheduler and a.blas_threads:
        raise NumdreamError(f"--blas-threads {a.blas_threads} applies to a local cluster only; with "
                            "--scheduler, set OMP_NUM_THREADS/OPENBLAS_NUM_THREADS where the workers start")
    flow = None if a.flow == "none" else a.flow
    if a.flow_param and flow is None:
        raise NumdreamError(f"--flow-param {a.flow_param[0][0]}={a.flow_param[0][1]} is used only with "
                            "--flow dis or farneback, but the flow is none")
    use_backend(a)
    options = dream_kwargs(a, a.seed)
    seed = options.pop("seed")
    begin = time.perf_counter()
    output = dream_video(a.input, a.output, blend=a.blend, frames=a.frames, fps=a.fps, start=a.start, end=a.end,
                         flow=flow, flow_params=dict(a.flow_param or ()), carried_steps=a.carried_steps,
                         carried_octaves=a.carried_octaves, audio=not a.no_audio, keep_frames=a.keep_frames,
                         model=load_model(a.model), seed=seed, progress=not a.quiet, workers=a.workers,
                         scheduler=a.scheduler, blas_threads=a.blas_threads, **options)
    if not a.quiet:
        print(f"wrote {output} (seed {seed}, {time.perf_counter() - begin:.1f} s)", file=sys.stderr)
    return 0
