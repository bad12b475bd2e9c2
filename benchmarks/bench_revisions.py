"""One dream step (forward to mixed5 + input gradient) of two git revisions of numdream, alternating.

    python benchmarks/bench_revisions.py BEFORE [AFTER] [--sizes 512x512,1024x768] [--rounds 5]

Each revision is exported with `git archive` into a temporary folder (AFTER defaults to the
working tree as it is), and each round runs one fresh process per revision, in turn, that loads
the bundled model and times `--steps` steps after a warm-up. Alternating whole processes cancels
most of a shared machine's drift; the figure to read is the ratio of the medians, AFTER/BEFORE
(below 1: faster). Handles both graph APIs (forward returning acts, or (acts, tape)).

--cpu-time runs each process with one BLAS thread and reads its CPU time (time.process_time)
instead of the wall clock: on a machine shared with other jobs, waiting for a core then costs
nothing, so the comparison stays fair while the load changes (what it cannot remove is the
other jobs' pressure on the caches and memory bandwidth).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = r"""
import json, sys, time
import numpy
sys.path.insert(0, sys.argv[1])
import numdream
w, h, steps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
clock = time.process_time if sys.argv[5] == "cpu" else time.perf_counter
model = numdream.load_model()
x = numpy.random.default_rng(0).uniform(-1, 1, (1, 3, h, w)).astype(numpy.float32)

def step():
    out = model.forward(x, ["mixed5"])
    if isinstance(out, tuple):  # the explicit tape: acts, tape = model.forward(...)
        return model.backward(out[0], out[1])
    return model.backward(out)

step()
times = []
for _ in range(steps):
    start = clock()
    step()
    times.append(clock() - start)
print(json.dumps({"file": numdream.__file__, "times": times}))
"""


def export(revision, folder):
    """The tree of ``revision`` in ``folder`` (None: the working tree itself)."""
    if revision is None:
        return ROOT
    archive = subprocess.run(["git", "-C", ROOT, "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", help="a revision (default: the working tree)")
    parser.add_argument("--sizes", default="512x512,1024x768", help="WxH list")
    parser.add_argument("--rounds", type=int, default=5, help="processes per revision and size")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per process")
    parser.add_argument("--cpu-time", action="store_true", help="one BLAS thread, CPU time (see above)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.cpu_time:
        env.update({name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        trees = {args.before: export(args.before, a), args.after or "working tree": export(args.after, b)}
        clock = "CPU time, 1 BLAS thread" if args.cpu_time else "wall time"
        print(f"median {clock} of a step, {args.rounds} processes x {args.steps} steps per revision")
        print(f"{'size':>9}  " + "  ".join(f"{name[:14]:>14}" for name in trees) + "  ratio (after/before)")
        for text in args.sizes.split(","):
            w, h = text.split("x")
            times = {name: [] for name in trees}
            for _ in range(args.rounds):
                for name, tree in trees.items():
                    out = subprocess.run([sys.executable, "-c", CHILD, tree, w, h, str(args.steps),
                                          "cpu" if args.cpu_time else "wall"],
                                         check=True, capture_output=True, text=True, env=env)
                    result = json.loads(out.stdout.strip().splitlines()[-1])
                    assert result["file"].startswith(tree), result["file"]  # the revision we meant
                    times[name] += result["times"]
            medians = [statistics.median(t) for t in times.values()]
            print(f"{text:>9}  " + "  ".join(f"{m:>12.3f} s" for m in medians) + f"  {medians[1] / medians[0]:.3f}")


if __name__ == "__main__":
    main()
