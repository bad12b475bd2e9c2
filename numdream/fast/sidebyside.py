"""Two independent convolutions of an Inception module in one join: their pieces in one queue.

Inside a module the branches do not read each other: in InceptionV3's mixed4 the 1x7 of the
7x7 branch and the 1x7 of the double 7x7 branch read different tensors, and the plan runs them
one after the other, each splitting into pieces for the threads (threads.py) and waiting for
them: a join per layer and pass. A join costs the second thread's wake-up (on this machine an
idle core halts at once: 50-280 us), then the first thread to finish waits for the other. On
the 30x30 layers of a 512x512 step a layer's work is ~1.5 ms, and two threads gained little
over one (benchmarks/README.md, seventh session). Here the pieces of both layers go to the
threads as one list, interleaved, each thread taking the next piece left: one join for two
layers, and four pieces to balance instead of two.

fused_plan pairs two consecutive steps of the plan when both can hand out their pieces (a
Winograd convolution without a pool: ConvStep.in_pieces), neither reads the other's output,
and their work per pixel is within PAIR_RATIO of each other.
"""
from collections import namedtuple

from .threads import run_pieces

SideBySideCache = namedtuple("SideBySideCache", "first second")

# The larger member's multiply-adds per pixel over the smaller's, at most. InceptionV3's pairs:
# 3x3 64->96 with 5x5 48->64 (1.39), 1x7 with 1x7 (1.0), 7x1 c->c with 7x1 c->192 (1.2-1.5).
PAIR_RATIO = 1.5


class SideBySideStep:
    """Steps ``first`` and ``second`` (independent: neither reads the other's outputs, both
    in_pieces), their pieces run in one join. inputs and outputs: first's, then second's."""

    def __init__(self, first, second):
        self.first, self.second = first, second
        self.inputs = list(first.inputs) + list(second.inputs)
        self.outputs = list(first.outputs) + list(second.outputs)
        self.split = len(first.inputs), len(first.outputs)

    def forward(self, xs):
        k = self.split[0]
        ys1, cache1, jobs1 = self.first.forward_pieces(xs[:k])
        ys2, cache2, jobs2 = self.second.forward_pieces(xs[k:])
        run_pieces(interleave(jobs1, jobs2))
        return list(ys1) + list(ys2), SideBySideCache(cache1, cache2)

    def backward(self, dys, cache):
        """A member whose outputs no gradient reached is skipped: None for each of its inputs."""
        k, j = self.split[1], self.split[0]
        outs, jobs = [], []
        for step, dys_of, cache_of, count in ((self.first, dys[:k], cache.first, j),
                                              (self.second, dys[k:], cache.second, len(self.inputs) - j)):
            if all(dy is None for dy in dys_of):
                outs.append([None] * count)
                jobs.append([])
            else:
                dxs, pieces = step.backward_pieces(dys_of, cache_of)
                outs.append(dxs)
                jobs.append(pieces)
        run_pieces(interleave(*jobs))
        return list(outs[0]) + list(outs[1])


def interleave(a, b):
    """[a0, b0, a1, b1, ...], then the rest of the longer list: each thread's first piece from
    another layer, and the last pieces of both at the end."""
    out = []
    for i in range(max(len(a), len(b))):
        out += a[i:i + 1] + b[i:i + 1]
    return out


def pair_independent(steps, work):
    """steps with consecutive independent pairs replaced by SideBySideStep, left to right.

    work(step): the step's multiply-adds per pixel, or None for a step that must stay alone."""
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
