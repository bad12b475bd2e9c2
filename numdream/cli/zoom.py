"""``numdream zoom [INPUT] -o FRAMES/``: Google's zoom loop, dream, zoom into the centre, dream again."""
import argparse
import math
import sys
import time

from ..images import load_image, sample_path
from ..model import load_model
from ..dreamplan import shrunk_size
from ..frames import MAX_FRAMES, check_frames_folder
from ..movie import FPS_RANGES, check_fps, check_movie_path, check_movie_size, require_ffmpeg, write_movie
from ..options import noise_size
from . import args as types
from .dreamopts import add_dream_options, dream_kwargs, refuse_ignored_options, use_backend


def add_parser(sub):
    p = sub.add_parser("zoom", help="a zoom movie: dream, zoom in, dream again",
                       description=__doc__.split(":", 1)[1].strip() + " Frames are written as "
                       "FRAMES/frame_00000.png, ...; an interrupted run resumes after the last frame written.")
    p.add_argument("input", nargs="?", help="photo to start from (default: the bundled sample chelsea.png)")
    p.add_argument("-o", "--output", required=True, metavar="FRAMES", help="folder for the numbered PNG frames "
                   "(created if missing)")
    p.add_argument("--frames", type=types.whole(1, MAX_FRAMES), default=100, help="number of frames (default: 100)")
    p.add_argument("--zoom", type=types.number(at_least=0.0), default=0.05,
                   help="zoom per frame: the centre 1 - ZOOM of each frame fills the next (default: 0.05)")
    p.add_argument("--rotate", type=_degrees, default=0.0, metavar="DEG",
                   help="degrees counter-clockwise per frame (default: 0)")
    p.add_argument("--gif", metavar="OUT.gif", help="also assemble the frames into this GIF")
    p.add_argument("--mp4", metavar="OUT.mp4", help="also assemble the frames into this MP4 (H.264)")
    p.add_argument("--fps", type=types.number(above=0.0), default=12.0,
                   help="frames per second of --gif ({:g} to {:g}) and --mp4 ({:g} to {:g}; default: 12)".format(
                       *FPS_RANGES[".gif"], *FPS_RANGES[".mp4"]))
    add_dream_options(p, seed_help="the run's seed; each frame derives its own from it (default: 0, so a "
                      "resumed run continues the same movie)")
    p.set_defaults(run=run, seed=0)


def _degrees(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of degrees, e.g. 0.5 or -2")
    return value


def run(a):
    # here, not at the top: numdream.zoom imports scipy.ndimage (~0.2 s), and the parser imports
    # every subcommand's module, so `numdream --help` and every other command would pay for it
    from ..zoom import check_zoom, zoom_frames
    refuse_ignored_options(a)
    use_backend(a)
    check_zoom(a.frames, a.zoom, a.rotate)
    check_frames_folder(a.output, adopt_empty=True)
    movies = [(path, ext) for path, ext in ((a.gif, ".gif"), (a.mp4, ".mp4")) if path]
    for path, ext in movies:
        check_movie_path(path, ext)
        check_fps(path, a.fps)
    if movies:
        require_ffmpeg()  # fail now, not after the frames are dreamed
    options = dream_kwargs(a, a.seed)
    seed = options.pop("seed")
    image = None if a.init == "noise" else load_image(a.input or str(sample_path()))
    hw = image.shape[:2] if image is not None else noise_size(options["size"])[::-1]
    hw = shrunk_size(hw, options.get("max_size"))  # the frames' size
    for path, _ in movies:
        check_movie_size(path, a.frames, hw)
    model = load_model(a.model)
    start = time.perf_counter()
    paths = zoom_frames(image, a.output, a.frames, zoom=a.zoom, rotate=a.rotate, model=model, seed=seed,
                        progress=not a.quiet, **options)
    for path, _ in movies:
        write_movie(path, paths, a.fps)
    if not a.quiet:
        made = ", ".join([f"{len(paths)} frames in {a.output}"] + [str(path) for path, _ in movies])
        print(f"wrote {made} (seed {seed}, {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0
