"""What a second core gives each engine: a step on one thread and on two, numdream and PyTorch,
all four in turns in one process, with the time the hypervisor took from this machine's cores.

    python benchmarks/scaling_vs_torch.py [--size 512x512] [--repeats 5]

One thread: numdream with NUMDREAM_THREADS=1 and BLAS held at one thread (threadpoolctl),
PyTorch with torch.set_num_threads(1). Two: NUMDREAM_THREADS=2 and torch.set_num_threads(2).
Each turn waits until the other engines' threads rest, makes one untimed step, then times two
(common.time_in_turns). Prints the medians, each engine's scaling (one thread's time over two's),
the ratios to PyTorch at one and two threads, and the steal: the share of all this machine's
CPUs' time that /proc/stat counts as taken by the host while this ran (0 where it has no such
column).
"""
import argparse
import contextlib
import os
import time

import numpy

from common import machine, size_arg, time_in_turns

import torch  # noqa: E402  (after common, which sets up sys.path)
from threadpoolctl import threadpool_limits  # noqa: E402

from numdream.model import bundled_model_path, load_model  # noqa: E402
from numdream.modelfile import read_model  # noqa: E402
from torch_inception import TorchInception  # noqa: E402

UNTIL = ["mixed5"]


def steal_ticks():
    """Clock ticks the host took from this machine's cores so far (all CPUs), or 0."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) if fields[0] == "cpu" and len(fields) > 8 else 0
    except OSError:
        return 0


def measure(size, repeats):
    """{"nd1", "nd2", "t1", "t2": median seconds}, and the steal share while they ran. Puts
    NUMDREAM_THREADS and PyTorch's thread count back as they were."""
    w, h = size
    model, twin = load_model(winograd=True), TorchInception(read_model(bundled_model_path()))
    x = model.preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))
    xt = torch.from_numpy(numpy.array(x))
    saved, torch_threads = os.environ.get("NUMDREAM_THREADS"), torch.get_num_threads()

    def ours(threads):
        os.environ["NUMDREAM_THREADS"] = str(threads)
        with threadpool_limits(1) if threads == 1 else contextlib.nullcontext():
            acts, tape = model.forward(x, UNTIL)
            model.backward(acts, tape)

    def theirs(threads):
        torch.set_num_threads(threads)
        twin.step(xt, UNTIL)

    calls = {"nd1": lambda: ours(1), "nd2": lambda: ours(2), "t1": lambda: theirs(1), "t2": lambda: theirs(2)}
    ticks, start = steal_ticks(), time.perf_counter()
    try:
        times = time_in_turns(list(calls.values()), repeats)
    finally:
        torch.set_num_threads(torch_threads)
        if saved is None:
            os.environ.pop("NUMDREAM_THREADS", None)
        else:
            os.environ["NUMDREAM_THREADS"] = saved
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    steal = (steal_ticks() - ticks) / hz / (os.cpu_count() * (time.perf_counter() - start))
    return dict(zip(calls, times)), steal


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size_arg, default=(512, 512), help="WxH (default 512x512)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    t, steal = measure(args.size, args.repeats)
    print(f"machine: {machine()}; torch {torch.__version__}; {args.size[0]}x{args.size[1]}, "
          f"medians of {2 * args.repeats}")
    print(f"{'':9} {'1 thread s':>10} {'2 threads s':>11} {'scaling':>7}")
    print(f"{'numdream':9} {t['nd1']:10.3f} {t['nd2']:11.3f} {t['nd1'] / t['nd2']:7.2f}")
    print(f"{'torch':9} {t['t1']:10.3f} {t['t2']:11.3f} {t['t1'] / t['t2']:7.2f}")
    print(f"numdream / torch: {t['nd1'] / t['t1']:.2f} at one thread, {t['nd2'] / t['t2']:.2f} at two; "
          f"steal while this ran: {100 * steal:.0f} % of the CPUs' time")


if __name__ == "__main__":
    main()
