"""How evenly the 1x1 groups' pieces share a step's work between the threads.

    python benchmarks/pointwise_balance.py [--size 512x512] [--steps 20]

A 1x1 group (numdream/fast/pointwise.py) splits its stacked channels into one block per thread,
cut by what each member's channel costs (POOL_FORWARD_COST, POOL_BACKWARD_COST: an Inception
pool branch costs more than a plain member). This runs whole steps of the fused plan and times
every block as it runs, side by side with the others; it prints, per group and direction, each
block's median time and the last block's over the first's (the pool branch is the last member,
so a ratio above 1 says the pool's cost is set too low). The join waits for the slower block.
"""
import argparse
import collections
import statistics
import time

import numpy

from common import machine, size_arg

import numdream.fast.pointwise as pointwise  # noqa: E402  (after common, which sets up sys.path)
from numdream.model import load_model  # noqa: E402


def block_times(size, steps):
    """{(group's first output, 'forward' or 'backward'): [seconds of each block, per call]}."""
    w, h = size
    model = load_model(winograd=True)
    x = model.preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))
    groups = [s for s in model._plan(model._node_names(["mixed5"])) if isinstance(s, pointwise.PointwiseGroupStep)]
    times, current, real_run = collections.defaultdict(list), {}, pointwise.run_pieces

    def timed_run(jobs):
        jobs = list(jobs)
        took = [0.0] * len(jobs)

        def timed(i, job):
            start = time.perf_counter()
            job()
            took[i] = time.perf_counter() - start
        real_run(lambda i=i, job=job: timed(i, job) for i, job in enumerate(jobs))
        times[current["key"]].append(took)

    for group in groups:  # name each call through instance attributes, removed afterwards
        for name in ("forward", "backward"):
            def named(*args, _fn=getattr(group, name), _key=(group.outputs[0], name)):
                current["key"] = _key
                return _fn(*args)
            setattr(group, name, named)
    pointwise.run_pieces = timed_run
    try:
        for _ in range(steps + 1):
            acts, tape = model.forward(x, ["mixed5"])
            model.backward(acts, tape)
    finally:
        pointwise.run_pieces = real_run
        for group in groups:
            del group.forward, group.backward
    return {key: calls[1:] for key, calls in times.items()}  # the first step warms up


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size_arg, default=(512, 512), help="WxH (default 512x512)")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {machine()}; POOL_FORWARD_COST {pointwise.POOL_FORWARD_COST}, "
          f"POOL_BACKWARD_COST {pointwise.POOL_BACKWARD_COST}")
    print(f"{'group (first output)':24} {'pass':8} {'blocks, median ms':24} {'last / first':>12}")
    for (name, direction), calls in block_times(args.size, args.steps).items():
        medians = [statistics.median(block) for block in zip(*calls)]
        ratio = f"{medians[-1] / medians[0]:12.2f}" if len(medians) > 1 else f"{'(one block)':>12}"
        print(f"{name:24} {direction:8} {', '.join(f'{1000 * t:.2f}' for t in medians):24} {ratio}")


if __name__ == "__main__":
    main()
