"""Why a numdream step gains 1.5x from a second core where PyTorch's gains 2x: what the cores share.

    python benchmarks/thread_scaling.py [--size 512x512] [--repeats 5]

1. Copy bandwidth: each thread copies its own float32 array into another, one thread per core,
   with working sets (source + destination) that fit a core's L2, the shared L3, or neither.
   numpy's copies release the GIL, so two threads run side by side; the figure is bytes read +
   written per second. A 256 KB copy takes a few microseconds, about as long as the Python
   around the call, which holds the GIL: there the two threads mostly take turns, as they do
   over numdream's shorter numpy calls.
2. A step of the fused plan, run with NUMDREAM_THREADS=1 and =2 (each in a fresh process, as the
   variable is read when the model runs): the wall time; the time inside threads.run_pieces and
   the sum of the pieces' own durations; the rest, which runs on the calling thread alone; the
   core time, pieces' sum + the rest (on one thread: the wall time), which perfect scaling would
   leave unchanged; and the waiting, wall - rest - pieces' sum / threads (a thread idle at a
   join). A pass too small to split (on one thread: every max pool) runs outside run_pieces and
   counts in the rest.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

import numpy

from common import machine, size_arg

# bytes per array; each thread works on two of them (source and destination)
COPY_SIZES = ((256 << 10, "2 x 256 KB (L2; GIL-bound)"), (4 << 20, "2 x 4 MB (the shared L3)"),
              (16 << 20, "2 x 16 MB (past the L3)"), (64 << 20, "2 x 64 MB (memory)"))


def copy_bandwidth(nbytes, threads, seconds=0.5):
    """GB/s of numpy copies, ``threads`` threads each copying its own nbytes array repeatedly."""
    n = nbytes // 4
    pairs = [(numpy.ones(n, numpy.float32), numpy.empty(n, numpy.float32)) for _ in range(threads)]
    reps = max(3, int(seconds * 20e9 / (2 * nbytes)))  # about ``seconds`` at 20 GB/s

    def work(src, dst):
        for _ in range(reps):
            numpy.copyto(dst, src)
    for src, dst in pairs:  # touch every page first
        numpy.copyto(dst, src)
    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=pair) for pair in pairs]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return threads * reps * 2 * nbytes / (time.perf_counter() - start) / 1e9


def piece_runners():
    """The modules of numdream.fast that run a layer's pieces: each imported threads.run_pieces by
    name. Not fast/tiles.py: its jobs are whole network passes (a dream's tiles), which a step
    here does not make and whose pieces would count twice."""
    import importlib
    import pkgutil

    import numdream.fast
    from numdream.fast import threads
    modules = [importlib.import_module(f"numdream.fast.{info.name}") for info in pkgutil.iter_modules(numdream.fast.__path__)]
    return [m for m in modules if m.__name__ not in (threads.__name__, "numdream.fast.tiles")
            and getattr(m, "run_pieces", None) is threads.run_pieces]


def step_in_pieces(size, repeats):
    """{wall, inside, busy, outside} seconds per step of the fused plan at ``size`` (W, H), with the
    threads NUMDREAM_THREADS gives (this process's), and how many threads ran pieces."""
    from numdream.fast import threads
    from numdream.model import load_model
    model = load_model()
    w, h = size
    x = model.preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))
    real, lock, totals, seen = threads.run_pieces, threading.Lock(), {"inside": 0.0, "busy": 0.0}, set()

    def timed_pieces(jobs):
        def timed(job):
            def run():
                start = time.perf_counter()
                job()
                with lock:
                    totals["busy"] += time.perf_counter() - start
                    seen.add(threading.get_ident())
            return run
        start = time.perf_counter()
        real([timed(job) for job in jobs])
        totals["inside"] += time.perf_counter() - start

    def step():
        acts, tape = model.forward(x, ["mixed5"])
        model.backward(acts, tape)
    modules = piece_runners()
    try:
        for module in modules:
            module.run_pieces = timed_pieces
        step()
        totals.update(inside=0.0, busy=0.0)
        seen.clear()
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        wall = time.perf_counter() - start
    finally:
        for module in modules:
            module.run_pieces = real
    out = {key: value / repeats for key, value in totals.items()}
    out.update(wall=wall / repeats, outside=(wall - totals["inside"]) / repeats,
               threads=threads.configured_workers(), piece_threads=len(seen))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=lambda text: size_arg(text, minimum=75), default=(512, 512),
                        help="WxH of the step, each side >= 75 (default 512x512)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per thread count (default 5)")
    parser.add_argument("--one-step", action="store_true", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.one_step:
        print(json.dumps(step_in_pieces(args.size, args.repeats)))
        return
    print(f"machine: {machine()}")
    print("\nnumpy copies, one thread per core (GB/s, read + write):")
    print(f"{'arrays per thread':>26}  1 thread  2 threads  x")
    for nbytes, label in COPY_SIZES:
        one, two = copy_bandwidth(nbytes, 1), copy_bandwidth(nbytes, 2)
        print(f"{label:>26}  {one:8.1f}  {two:9.1f}  {two / one:.2f}")
    w, h = args.size
    print(f"\na fused-plan step at {w}x{h}, forward to mixed5 + input gradient (ms per step):")
    print("threads   wall  in pieces  pieces' sum  rest (one core)  core time  waiting")
    for count in ("1", "2"):
        env = dict(os.environ, NUMDREAM_THREADS=count)
        if count == "1":
            env["OMP_NUM_THREADS"] = "1"  # one thread is one thread: BLAS too
        done = subprocess.run([sys.executable, __file__, "--one-step", "--size", f"{w}x{h}",
                               "--repeats", str(args.repeats)], env=env, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        waiting = r["wall"] - r["outside"] - r["busy"] / r["threads"]
        print(f"{r['threads']:7d}  {1000 * r['wall']:5.0f}  {1000 * r['inside']:9.0f}  {1000 * r['busy']:11.0f}"
              f"  {1000 * r['outside']:15.0f}  {1000 * (r['busy'] + r['outside']):9.0f}  {1000 * waiting:7.0f}")


if __name__ == "__main__":
    main()
