"""How long a dream will take and how much memory it will need, before its first step.

    estimate = estimate_dream(plan)          # a DreamPlan: octave sizes, tiles, steps
    print(estimate.text())                   # 'about 12 s and 0.45 GB at most: ...'
    reasons = over_budget(estimate, runs=4)  # why it is too big to start without --yes

How the estimate is made:
- time: a network pass (forward to the target layers and back to the pixels) is timed on a
  piece of the smallest octave, the size of its tiles but at most CALIBRATION_PIXELS, and on a
  quarter of that piece, after one untimed pass that pays the one-time costs (the fused plan,
  the scratch buffer, fresh pages); the two give a cost per pass and a cost per pixel on this
  machine, now (a loaded machine measures slower, as its dream will run). A step costs that
  per pass times its tiles plus that per pixel times its pixels (numdream.dreamplan.step_work),
  and the run is every octave's steps. The progress bar's time left replaces the estimate with
  measured steps once the dream runs (numdream.progress).
- memory: the process's resident memory now (libraries and weights loaded), plus what the
  timed pass allocated per pixel (traced by tracemalloc, which sees NumPy's buffers) times the
  largest tile (times the tiles that run side by side, numdream/fast/tiles.py), times
  ALLOCATOR_SLACK, plus IMAGE_COPIES float copies of the whole image.
"""
import math
import os
import sys
import time
import tracemalloc
from dataclasses import dataclass

import numpy
from PIL import Image

from . import backend
from .dream import objective_gradient, piece_gradient
from .errors import NumdreamError
from .fast.tiles import allowed as tiles_allowed
from .fast.tiles import at_once
from .progress import format_seconds

CALIBRATION_PIXELS = 256 * 256
# Arrays of the whole image (N, 3, H, W) alive at once at a step's peak (dream.run_dream and
# dream_step): the preprocessed photo, the octave's image x, the detail carried up, the rolled
# copy, the gradient, its unrolled copy and the normalised one.
IMAGE_COPIES = 7
# RSS above what tracemalloc counts: the allocator keeps freed blocks for reuse (fast/memory.py),
# and BLAS has buffers of its own. Measured with benchmarks/bench_dream.py's 4K run (see README).
ALLOCATOR_SLACK = 1.5
TIME_BUDGET = 30 * 60      # seconds: a longer run asks for --yes first
MEMORY_SHARE = 0.5         # of the memory free now: a larger run asks for --yes first


@dataclass
class Estimate:
    seconds: float          # the whole run (every octave's steps), for one dream
    peak_bytes: int         # the process's resident memory at the run's peak
    rate: float             # seconds per pixel of a network pass, measured here
    sizes: list             # (h, w) of each octave
    steps: int
    tiles: int              # network passes in one step of the largest octave
    per_pass: float = 0.0   # seconds of a network pass beyond its pixels' share, measured here

    def text(self, runs=1):
        (h0, w0), (h1, w1) = self.sizes[0], self.sizes[-1]
        what = (f"{len(self.sizes)} octave{'s' * (len(self.sizes) > 1)} x {self.steps} steps, {w0}x{h0}"
                + (f" to {w1}x{h1}" if len(self.sizes) > 1 else "") + f", {self.tiles} tile{'s' * (self.tiles > 1)}"
                " a step at most" + (f", {runs} dreams" if runs > 1 else ""))
        return (f"about {format_seconds(self.seconds * runs)} and {gigabytes(self.peak_bytes)} of memory at "
                f"most ({what}; a pass measured here at {self.rate * 1e6:.2g} us a pixel)")


def gigabytes(count):
    """6.2e9 -> '6.2 GB', 1.2e10 -> '12 GB', 8.8e7 -> '0.088 GB'."""
    value = count / 1e9
    return f"{value:.0f} GB" if value >= 10 else f"{value:.2g} GB"


def estimate_dream(plan):
    """An Estimate of DreamPlan ``plan``'s run, timed by one calibration pass (see the module)."""
    per_pass, rate, bytes_per_pixel = calibrate(plan)
    seconds = sum(plan.opts.steps * (per_pass * tiles + rate * pixels) for tiles, pixels in plan.work)
    # the most tile pixels in flight at once: tiles run side by side on the cores (fast/tiles.py)
    concurrent = tiles_allowed(plan.model, plan.objective)
    largest_tiles = max(pixels / tiles * at_once(tiles, concurrent) for tiles, pixels in plan.work)
    h, w = plan.sizes[-1]
    image_bytes = IMAGE_COPIES * 3 * h * w * plan.model.dtype.itemsize
    peak = resident_bytes() + ALLOCATOR_SLACK * bytes_per_pixel * largest_tiles + image_bytes
    return Estimate(seconds, int(peak), rate, list(plan.sizes), plan.opts.steps, max(t for t, _ in plan.work),
                    per_pass)


def calibrate(plan):
    """(seconds per pass, seconds per pixel, bytes per pixel) of a network pass of ``plan``.

    Timed on a piece of the smallest octave and on a quarter of it (the fastest of two passes
    each, after an untimed one), so that the cost of a pass splits into a part per pass and a
    part per pixel; an objective that cannot be tiled is timed on the whole octave, as its steps
    run, with no per-pass part."""
    model, objective = plan.model, plan.objective
    h, w = plan.sizes[0]
    # the photo shrunk first, as uint8: preprocessing it whole would copy a large photo in float
    small = numpy.asarray(Image.fromarray(plan.pixels[..., :3]).resize((w, h), Image.BILINEAR))
    x = model.preprocess(small)
    tiles, pixels = plan.work[0]
    window = getattr(objective, "window", None)  # every Objective has one; most return None
    if objective.whole_image or (window is not None and window(model, (h, w)) is not None):
        seconds, peak = _timed(lambda: objective_gradient(model, x, objective, plan.opts.tile_size), x)
        return 0.0, seconds / pixels, peak / pixels
    side = math.sqrt(min(pixels / tiles, CALIBRATION_PIXELS))
    minimum = model.min_input_size(list(objective.layers))
    sides = [[max(minimum, min(n, round(side * scale))) for n in plan.sizes[0]] for scale in (1.0, 0.5)]
    (big, big_peak), (small, _) = (_timed(lambda: piece_gradient(model, x[:, :, :ph, :pw], objective), x)
                                   for ph, pw in sides)
    big_px, small_px = (ph * pw for ph, pw in sides)
    per_pixel = (big - small) / (big_px - small_px) if big_px > small_px else 0.0
    per_pass = big - per_pixel * big_px
    if per_pixel <= 0 or per_pass < 0:  # timings too noisy to split: all of it per pixel
        per_pass, per_pixel = 0.0, big / big_px
    return per_pass, per_pixel, big_peak / big_px


def _timed(one_pass, x):
    """(fastest seconds of two timed calls of one_pass after an untimed one, bytes the last one
    allocated at its peak as tracemalloc sees them, 0 for device memory)."""
    with numpy.errstate(all="ignore"):  # a step that is not finite is the dream loop's to report
        return _timed_quietly(one_pass, x)


def _timed_quietly(one_pass, x):
    one_pass()
    times = []
    for traced in (False, True):
        if traced:
            tracemalloc.start()
        try:
            start = time.perf_counter()
            one_pass()
            times.append(time.perf_counter() - start)
            peak = tracemalloc.get_traced_memory()[1] if traced else 0
        finally:
            if traced:
                tracemalloc.stop()
    if backend.get_array_module(x) is not numpy:  # tracemalloc sees host memory only
        peak = 0
    return min(times), peak


def resident_bytes():
    """This process's resident memory now, in bytes (0 where the OS does not say)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def available_bytes():
    """Memory the system could give now without swapping (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def over_budget(estimate, runs=1, available=None, time_budget=TIME_BUDGET):
    """Why the run is too big to start without being asked (a list of reasons, [] if it is not):
    longer than ``time_budget`` seconds, or more memory than MEMORY_SHARE of what is free."""
    available = available_bytes() if available is None else available
    reasons = []
    if estimate.seconds * runs > time_budget:
        reasons.append(f"longer than {format_seconds(time_budget)}")
    if available is not None and estimate.peak_bytes > MEMORY_SHARE * available:
        reasons.append(f"more than half of the {gigabytes(available)} of memory free now")
    return reasons


def smaller_size(estimate, runs=1, time_budget=TIME_BUDGET, available=None):
    """A --max-size (long side, in pixels) under which the run would fit the time budget."""
    h, w = estimate.sizes[-1]
    share = time_budget / max(estimate.seconds * runs, 1e-9)
    available = available_bytes() if available is None else available
    if available is not None and estimate.peak_bytes > MEMORY_SHARE * available:
        share = min(share, MEMORY_SHARE * available / estimate.peak_bytes)
    return max(1, int(max(h, w) * math.sqrt(min(share, 1.0)) * 0.9))


def ask_on_stderr(prompt):
    """input() that writes its prompt to stderr: stdout may be the picture (``-o -``)."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def confirm(estimate, reasons, runs=1, yes=False, interactive=None, ask=ask_on_stderr):
    """Let a run past the budget start only if --yes was given or a person at a terminal says
    so; otherwise raise NumdreamError with the estimate. ``ask``: the prompt function."""
    if not reasons or yes:
        return
    interactive = _interactive() if interactive is None else interactive
    hint = f"run it with --yes, or make it smaller with --max-size {smaller_size(estimate, runs)}"
    summary = f"this run would take {estimate.text(runs)}, {' and '.join(reasons)}"
    if not interactive:
        raise NumdreamError(f"{summary}; {hint}")
    print(f"{summary}.", file=sys.stderr)
    try:
        answer = ask("Start it anyway? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise NumdreamError(f"not started; {hint}")


def _interactive():
    """A person at a terminal can answer: both standard input and standard error are terminals."""
    try:
        return sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
