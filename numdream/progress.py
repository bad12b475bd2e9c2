"""A dream's progress bar, and a time left that weighs each step by the work it does.

    eta = StepClock(work=[(1, 17_876), (1, 35_190), ...], steps=10)   # (tiles, pixels) per octave
    eta.step_done(octave)          # after each step
    eta.remaining()                # seconds left, or None before the first step

Octaves grow by OCTAVE_SCALE squared in pixels, so counting steps as equal (tqdm's own rate)
says at 10 of 40 steps that a quarter of the time is gone when a tenth is. Here the time of one
step is modelled as ``a * tiles + b * pixels``, a cost per network pass and a cost per pixel,
fitted by least squares to the mean step time of each octave seen so far; with one octave
seen (or a fit that is not positive, from noisy timings) the cost is taken as proportional to
the pixels, at the latest octave's rate, which slightly overestimates what is left since
larger octaves spend less per pixel on the per-pass cost.
"""
import sys
import time

import numpy
from tqdm import tqdm


class StepClock:
    """Step timings of one dream and the time they predict for the steps left.

    work: per octave, (tiles, pixels) one of its steps computes. steps: steps per octave.
    clock: the time source (time.perf_counter; a test gives a fake one). initial_rate:
    seconds per pixel to assume before the first step (e.g. from a calibration), or None.
    """

    def __init__(self, work, steps, clock=time.perf_counter, initial_rate=None):
        self.work, self.steps, self.clock, self.initial_rate = list(work), steps, clock, initial_rate
        self.times = [[] for _ in self.work]  # seconds of each finished step, per octave
        self.last = clock()

    def step_done(self, octave):
        now = self.clock()
        self.times[octave].append(now - self.last)
        self.last = now

    def restart(self):
        """Start timing the next step now (after work that is not a step, e.g. a callback)."""
        self.last = self.clock()

    def done(self):
        return sum(len(t) for t in self.times)

    def remaining(self):
        """Seconds the steps left should take, or None before any step or calibration."""
        left = [(o, self.steps - len(t)) for o, t in enumerate(self.times) if len(t) < self.steps]
        cost = self._step_cost()
        if cost is None:
            return None
        return sum(count * cost(*self.work[o]) for o, count in left)

    def _step_cost(self):
        """A function (tiles, pixels) -> seconds of one step, from the timings so far."""
        seen = [(self.work[o], float(numpy.mean(t))) for o, t in enumerate(self.times) if t]
        if not seen:
            return None if self.initial_rate is None else (lambda tiles, pixels: self.initial_rate * pixels)
        if len({w for w, _ in seen}) >= 2:
            design = numpy.array([w for w, _ in seen], dtype=float)
            per_tile, per_pixel = numpy.linalg.lstsq(design, numpy.array([s for _, s in seen]), rcond=None)[0]
            if per_tile >= 0 and per_pixel > 0:
                return lambda tiles, pixels: per_tile * tiles + per_pixel * pixels
        (_, pixels), seconds = seen[-1]
        return lambda tiles, p: seconds * p / pixels


def format_seconds(seconds):
    """42 -> '42 s', 125 -> '2.1 min', 5400 -> '1.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class DreamProgress:
    """The bar on stderr: it fills by work done (pixels), and says the step, octave and time left.

    Closed (its line cleared) by ``close``, whatever ends the dream, so an error line stands alone.
    """

    def __init__(self, work, steps, enabled=True, clock=time.perf_counter, initial_rate=None, file=None):
        self.eta = StepClock(work, steps, clock, initial_rate)
        self.octaves = len(work)
        total = steps * sum(pixels for _, pixels in work)
        self.bar = tqdm(total=total, file=file or sys.stderr, disable=not enabled, leave=False,
                        bar_format="dreaming {percentage:3.0f}%|{bar:24}| {desc} [{elapsed}]")

    def step_done(self, octave, value):
        self.eta.step_done(octave)
        left = self.eta.remaining()
        total = self.eta.steps * self.octaves
        text = f"step {self.eta.done()}/{total}, octave {octave + 1}/{self.octaves}, objective {value:.4g}"
        if left is not None:
            text += f", about {format_seconds(left)} left"
        self.bar.set_description_str(text, refresh=False)
        self.bar.update(self.eta.work[octave][1])

    def close(self):
        self.bar.close()
