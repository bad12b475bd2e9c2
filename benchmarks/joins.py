"""What the threads' joins cost a step: how many, how late the second thread starts, how long the
first one to finish waits.

    python benchmarks/joins.py [--size 512x512] [--steps 5]

Every call of threads.run_pieces is a join: the calling thread hands the other threads their
pieces, runs pieces itself, and waits until all are done. Per call this times, for each thread
that ran a piece, when its first piece started and when its last one ended. Two figures per call:

- wake-up: from the call to the start of the last thread to begin (a pool thread asleep in the
  executor's queue; on a machine whose idle cores halt at once, the kernel must wake its core);
- end gap: from the first thread to finish to the last (the work left to one thread).

It prints the calls per step, their totals per step, and the same by the function that made the
call (each module of numdream/fast imports run_pieces by name: thread_scaling.piece_runners()).
"""
import argparse
import collections
import statistics
import sys
import threading
import time

import numpy

from common import machine, size_arg
from thread_scaling import piece_runners

import numdream.fast.threads as threads  # noqa: E402  (after common, which sets up sys.path)
from numdream.model import load_model  # noqa: E402


def join_times(size, steps):
    """[(calling function, pieces, wake-up s, end gap s, threads that ran a piece)], every call of
    ``steps`` steps of the fused plan at ``size`` (W, H) after one step to warm up."""
    w, h = size
    model = load_model(winograd=True)
    x = model.preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))
    calls, real_run, runners = [], threads.run_pieces, piece_runners()

    def timed_run(jobs):
        jobs = list(jobs)
        caller = sys._getframe(1).f_code
        starts, ends = {}, {}

        def timed(job):
            me = threading.get_ident()
            starts.setdefault(me, time.perf_counter())
            job()
            ends[me] = time.perf_counter()
        called = time.perf_counter()
        real_run(lambda job=job: timed(job) for job in jobs)
        wake = max(starts.values()) - called if len(starts) > 1 else 0.0
        gap = max(ends.values()) - min(ends.values()) if len(ends) > 1 else 0.0
        name = f"{caller.co_filename.rsplit('/', 1)[-1]}:{caller.co_name}"
        calls.append((name, len(jobs), wake, gap, len(starts)))

    for module in runners:
        module.run_pieces = timed_run
    try:
        for step in range(steps + 1):
            if step == 1:
                calls.clear()
            acts, tape = model.forward(x, ["mixed5"])
            model.backward(acts, tape)
    finally:
        for module in runners:
            module.run_pieces = real_run
    return calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size_arg, default=(512, 512), help="WxH (default 512x512)")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    calls = join_times(args.size, args.steps)
    shared = [c for c in calls if c[4] > 1]
    per = args.steps
    print(f"machine: {machine()}; threads: {threads.configured_workers()}; {args.size[0]}x{args.size[1]}, "
          f"{per} steps")
    print(f"joins per step {len(calls) / per:.0f}, {len(shared) / per:.0f} with more than one thread at work; "
          f"wake-up median {1e6 * statistics.median(c[2] for c in shared) if shared else 0:.0f} us; per step: "
          f"wake-ups {1e3 * sum(c[2] for c in calls) / per:.1f} ms, end gaps {1e3 * sum(c[3] for c in calls) / per:.1f} ms")
    by = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for name, _, wake, gap, _ in calls:
        by[name][0] += 1
        by[name][1] += wake
        by[name][2] += gap
    print(f"{'called from':42} {'joins/step':>10} {'wake-ups ms':>11} {'end gaps ms':>11}")
    for name, (count, wake, gap) in sorted(by.items(), key=lambda kv: -kv[1][0]):
        print(f"{name:42} {count / per:10.1f} {1e3 * wake / per:11.2f} {1e3 * gap / per:11.2f}")


if __name__ == "__main__":
    main()
