"""Keep the machine busy the way other benchmarking jobs do, to measure an engine under contention.

    python benchmarks/busy_neighbours.py --procs 2 --seconds 150 &
    sleep 2; python benchmarks/bench_step.py --sizes 512x512 --repeats 3 --no-memory

Starts --procs processes that each multiply 1500x1500 float32 matrices in a loop for --seconds,
with NumPy's BLAS on its default threads (all cores): the neighbours that made a multi-threaded
BLAS call wait for a time slice for its second thread (numdream/fast/threads.py says why that
mattered). Stops them at the end, or on Ctrl-C.
"""
import argparse
import multiprocessing
import time


def multiply(seconds):
    import numpy as np  # in the child: its BLAS starts its own threads
    a = np.ones((1500, 1500), np.float32)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        a @ a


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--seconds", type=float, default=120.0)
    args = p.parse_args()
    children = [multiprocessing.Process(target=multiply, args=(args.seconds,)) for _ in range(args.procs)]
    for child in children:
        child.start()
    try:
        for child in children:
            child.join()
    finally:
        for child in children:
            child.terminate()


if __name__ == "__main__":
    main()
