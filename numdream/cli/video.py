"""``numdream video IN.mp4 -o OUT.mp4``: dream a video frame by frame, each dream blended into the next frame."""
import sys
import time

from ..frames import MAX_FRAMES
from ..model import load_model
from ..movie import FPS_RANGES
from ..video import dream_video
from . import args as types
from .dreamopts import add_dream_options, dream_kwargs, refuse_ignored_options, use_backend


def add_parser(sub):
    p = sub.add_parser("video", help="dream a video frame by frame",
                       description=__doc__.split(":", 1)[1].strip() + " Dreamed frames wait in OUT_frames/ "
                       "beside the output (holiday_frames/ for holiday.mp4), a folder numdream makes itself, "
                       "until the MP4 is encoded; an interrupted run resumes from them.")
    p.add_argument("input", metavar="IN.mp4", help="video to dream on (anything ffmpeg reads)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="output video (.mp4, H.264)")
    p.add_argument("--blend", type=types.number(at_least=0.0), default=0.5,
                   help="how much of the previous dream enters the next frame, 0 <= BLEND < 1 (default: 0.5)")
    p.add_argument("--frames", type=types.whole(1, MAX_FRAMES), help="only the first N frames (default: all)")
    p.add_argument("--fps", type=types.number(above=0.0), help="output frame rate, {:g} to {:g} (default: the "
                   "input's)".format(*FPS_RANGES[".mp4"]))
    p.add_argument("--keep-frames", action="store_true", help="keep OUT_frames/ after encoding")
    add_dream_options(p, noise=False, seed_help="seed of every frame's dream (default: 0)")
    p.set_defaults(run=run, seed=0)


def run(a):
    refuse_ignored_options(a)
    use_backend(a)
    options = dream_kwargs(a, a.seed)
    seed = options.pop("seed")
    start = time.perf_counter()
    output = dream_video(a.input, a.output, blend=a.blend, frames=a.frames, fps=a.fps, keep_frames=a.keep_frames,
                         model=load_model(a.model), seed=seed, progress=not a.quiet, **options)
    if not a.quiet:
        print(f"wrote {output} (seed {seed}, {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0
