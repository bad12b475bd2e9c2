"""This tree's step against another checkout's, alternating in one process: what a change gains.

    python benchmarks/ab_trees.py OTHER [--sizes 512x512,1024x768] [--rounds 16]

OTHER is a checkout of numdream whose load_model takes ``winograd=`` (for instance
`git worktree add /tmp/before HEAD~1`). Its package is copied to a temporary folder under the
name numdream_other (numdream's modules import each other relatively, so the copy runs as it
is) and both models are loaded from the bundled weights. On a shared machine two runs of the same step minutes apart differ by 10-50 %,
so the two trees are timed in turns (each turn one untimed step, then two timed), the order
swapped every round, and the figure is the median of the per-round ratios this / other (below
1: this tree is faster), with its quartiles.
Also prints the largest difference between the two trees' input gradients (0.0: the same
arithmetic in the same order).
"""
import argparse
import atexit
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy

from common import sizes_arg

from numdream.model import bundled_model_path, load_model  # noqa: E402  (after common: sys.path)

OTHER_NAME = "numdream_other"
COPY_PREFIX = "numdream_ab_"  # the temporary folders that hold the copies


def load_other(checkout):
    """numdream_other.model, imported from a copy of ``checkout``/numdream."""
    source = os.path.join(checkout, "numdream")
    if not os.path.isfile(os.path.join(source, "__init__.py")):
        raise SystemExit(f"ab_trees: {checkout!r} holds no numdream package (no {source}/__init__.py)")
    for name in [m for m in sys.modules if m == OTHER_NAME or m.startswith(OTHER_NAME + ".")]:
        del sys.modules[name]  # a second call loads its own checkout, not the first one's again
    sys.path[:] = [p for p in sys.path if not os.path.basename(p).startswith(COPY_PREFIX)]
    folder = tempfile.mkdtemp(prefix=COPY_PREFIX)
    atexit.register(shutil.rmtree, folder, True)  # the copy is ours: gone when the process ends
    shutil.copytree(source, os.path.join(folder, OTHER_NAME), ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, folder)
    return importlib.import_module(f"{OTHER_NAME}.model")


def compare(other_model, size, rounds, until=("mixed5",)):
    """{"ours", "other": median s, "ratio", "q1", "q3": of the per-round ratios ours / other,
    "max_dx_difference"} for a step at ``size`` (W, H)."""
    path = bundled_model_path()
    models = {"ours": load_model(path, winograd=True), "other": other_model.load_model(path, winograd=True)}
    w, h = size
    x = models["ours"].preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))

    def step(model):
        acts, tape = model.forward(x, list(until))
        return model.backward(acts, tape)

    dx = {name: step(model) for name, model in models.items()}
    times = {name: [] for name in models}
    for r in range(rounds):
        for name in (["ours", "other"] if r % 2 == 0 else ["other", "ours"]):
            step(models[name])
            start = time.perf_counter()
            step(models[name])
            step(models[name])
            times[name].append((time.perf_counter() - start) / 2)
    ratios = sorted(a / b for a, b in zip(times["ours"], times["other"]))
    return {"ours": statistics.median(times["ours"]), "other": statistics.median(times["other"]),
            "ratio": statistics.median(ratios), "q1": ratios[len(ratios) // 4], "q3": ratios[(3 * len(ratios)) // 4],
            "max_dx_difference": float(numpy.abs(dx["ours"] - dx["other"]).max())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", help="a checkout of numdream to compare this tree with")
    parser.add_argument("--sizes", type=sizes_arg, default="512x512,1024x768", help="WxH list")
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    other = load_other(args.other)
    print(f"this tree against {args.other}, {args.rounds} rounds per size, alternating")
    for w, h in args.sizes:
        r = compare(other, (w, h), args.rounds)
        print(f"{w}x{h}: this {1e3 * r['ours']:.1f} ms, other {1e3 * r['other']:.1f} ms; this / other {r['ratio']:.3f} "
              f"(quartiles {r['q1']:.3f}-{r['q3']:.3f}); max |dx difference| {r['max_dx_difference']:.3g}")


if __name__ == "__main__":
    main()
