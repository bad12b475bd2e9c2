"""Two independent convolutions of an Inception module at once, each whole on its own thread.

Inside a module the branches do not read each other: in InceptionV3's mixed4 the 1x7 of the
7x7 branch and the 1x7 of the double 7x7 branch read different tensors, and the plan runs them
one after the other. Split in two pieces each (threads.py), every such layer pays a join: the
second thread's wake-up, the first to finish waiting for the other, and, since a piece is a
sequence of short NumPy calls, the two threads handing the GIL to each other after every call.
On the 30x30 layers of a 512x512 step the twelve 1x7/7x1 convolutions ran 1.05-1.2x faster
on two threads than on one (benchmarks/README.md, seventh session). Side by side, one
convolution per thread, two layers share one join and each thread's calls are twice as long.

fused_plan pairs two consecutive steps of the plan when neither reads the other's output and
their work is within PAIR_RATIO of each other (the pair lasts as long as the larger one). With
other than two threads the pair runs its members one after the other, each in its own pieces,
as before: two threads is the case it was measured on.
"""
from collections import namedtuple

from .threads import run_pieces, workers

SideBySideCache = namedtuple("SideBySideCache", "first second")

PAIR_RATIO = 1.5  # the larger member's direct-convolution FLOPs over the smaller's, at most


class SideBySideStep:
    """Steps ``first`` and ``second`` (independent: neither reads the other's outputs), computed
    at once on two threads. inputs and outputs: first's, then second's."""

    def __init__(self, first, second):
        self.first, self.second = first, second
        self.inputs = list(first.inputs) + list(second.inputs)
        self.outputs = list(first.outputs) + list(second.outputs)
        self.split = len(first.inputs), len(first.outputs)

    def forward(self, xs):
        k = self.split[0]
        results = _both(lambda: self.first.forward(xs[:k]), lambda: self.second.forward(xs[k:]))
        (ys1, cache1), (ys2, cache2) = results
        return list(ys1) + list(ys2), SideBySideCache(cache1, cache2)

    def backward(self, dys, cache):
        """A member whose outputs have no gradient is skipped: None for each of its inputs."""
        k, j = self.split[1], self.split[0]

        def member(step, dys_of, cache_of, count):
            if all(dy is None for dy in dys_of):
                return lambda: [None] * count
            return lambda: step.backward(dys_of, cache_of)

        dxs1, dxs2 = _both(member(self.first, dys[:k], cache.first, j),
                           member(self.second, dys[k:], cache.second, len(self.inputs) - j))
        return list(dxs1) + list(dxs2)


def _both(one, two):
    """[one(), two()]: side by side on two threads, else one after the other."""
    out = [None, None]

    def into(i, fn):
        def job():
            out[i] = fn()
        return job

    jobs = [into(0, one), into(1, two)]
    if workers() == 2:
        run_pieces(jobs)
    else:
        for job in jobs:
            job()
    return out


def pair_independent(steps, work):
    """steps with consecutive independent pairs replaced by SideBySideStep, left to right.

    work(step): the step's direct-convolution FLOPs, or None for a step that must stay alone."""
    out, i = [], 0
    while i < len(steps):
        a = steps[i]
        b = steps[i + 1] if i + 1 < len(steps) else None
        if b is not None and _pairs(a, b, work):
            out.append(SideBySideStep(a, b))
            i += 2
        else:
            out.append(a)
            i += 1
    return out


def _pairs(a, b, work):
    wa, wb = work(a), work(b)
    if not wa or not wb or set(a.outputs) & set(b.inputs) or set(b.outputs) & set(a.inputs):
        return False
    return max(wa, wb) <= PAIR_RATIO * min(wa, wb)


def flatten(steps):
    """The plan's steps with each SideBySideStep replaced by its two members, in order."""
    out = []
    for step in steps:
        out += [step.first, step.second] if isinstance(step, SideBySideStep) else [step]
    return out
