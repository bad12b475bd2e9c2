"""A whole dream in numdream against the same loop on PyTorch (benchmarks/torch_dream.py).

    python benchmarks/bench_dream_vs_torch.py                    # README's dream of a 1024x768 photo
    python benchmarks/bench_dream_vs_torch.py --size 256x192 --octaves 1 --steps 3   # a quick look
    python benchmarks/bench_dream_vs_torch.py --check            # float64: do both draw the same pixels?

The photo is the bundled chelsea sample resized with PIL bicubic (as bench_dream.py makes its 4K
photo); the dream is README's `numdream dream` with seed 0: mixed3 + mixed5 (the model's
default layers), L2, 4 octaves of 1.4 x 10 steps, step 1.5, jitter 32, mean normalisation, no
smoothing, 512-px tiles, numdream's default load_model(). Both engines run in this process with
the same thread count (torch.set_num_threads from OMP_NUM_THREADS, else the core count; numpy's
BLAS reads the same variable), alternately, --rounds times each after an untimed warm-up (one
step per octave, so both engines have met every octave's shapes); each dream starts once the
other engine's threads rest (PyTorch's OpenMP threads spin for up to a second after a call:
common.wait_until_threads_rest). Prints each round's times, the
medians, the ratio numdream / torch, and how far the two uint8 dreams are apart: in float32 they
differ by rounding, which a dream amplifies over its steps, so a few levels on a few pixels.

On a machine that other jobs keep busy, run it with OMP_NUM_THREADS=1: there each multi-threaded
call of PyTorch waits for a time slice for its second thread (a 384x512 torch step took 4.6 s on
two threads against 0.3 s on one, 2026-12-01), and the ratio measures the neighbours.

--check runs a small photo (160x120 unless --size) in float64 for 1 octave x 1 step (unless
--steps): the network input both loops reach, and their pixels, must agree to rounding.
"""
import argparse
import os
import statistics
import sys
import time

import numpy
from PIL import Image

from common import machine, size_arg, wait_until_threads_rest

import torch  # noqa: E402  (after common, which sets up sys.path)

from numdream.dream import dream, dream_step  # noqa: E402
from numdream.dreamplan import plan_dream  # noqa: E402
from numdream.images import load_image, sample_path  # noqa: E402
from numdream.model import bundled_model_path, load_model  # noqa: E402
from numdream.modelfile import read_model  # noqa: E402
from torch_dream import torch_dream, torch_dream_input  # noqa: E402
from torch_inception import TorchInception  # noqa: E402

SEED = 0
CHECK_SIZE = (160, 120)
CHECK_TOLERANCE = 1e-9  # 0-255 pixel levels; float64 rounding through the network leaves ~3e-13


def photo(size):
    """The bundled chelsea sample resized to size = (W, H) with PIL bicubic: uint8 (H, W, 3)."""
    return numpy.asarray(Image.fromarray(load_image(sample_path("chelsea"))).resize(size, Image.BICUBIC))


def difference(a, b):
    """(mean, max) absolute difference of two uint8 images, in levels."""
    d = numpy.abs(a.astype(numpy.int16) - b.astype(numpy.int16))
    return float(d.mean()), int(d.max())


def timed(fn):
    """(seconds, result) of fn()."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def compare_speed(pixels, options, rounds):
    model = load_model()
    twin = TorchInception(read_model(bundled_model_path()))
    from numdream.fast.threads import configured_workers
    print(f"numdream: load_model()'s fused plan, Winograd {'on' if model.winograd else 'off'}, "
          f"{configured_workers()} thread(s) of its own (numdream/fast/threads.py)")
    engines = {"numdream": lambda o: dream(pixels, model=model, seed=SEED, progress=False, **o),
               "torch": lambda o: torch_dream(twin, model, pixels, seed=SEED, **o)}
    warm = dict(options, steps=1)
    for run in engines.values():
        run(warm)
    times, outputs = {name: [] for name in engines}, {}
    for r in range(rounds):
        line = []
        for name, run in engines.items():
            wait_until_threads_rest()  # the other engine's spinning threads must not hold a core
            seconds, outputs[name] = timed(lambda: run(options))
            times[name].append(seconds)
            line.append(f"{name} {seconds:7.2f} s")
        print(f"round {r + 1}: " + "  ".join(line), flush=True)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    print("median:  " + "  ".join(f"{name} {t:7.2f} s" for name, t in medians.items()))
    print(f"ratio numdream / torch: {medians['numdream'] / medians['torch']:.2f}")
    mean, most = difference(outputs["numdream"], outputs["torch"])
    print(f"uint8 dreams apart: mean {mean:.3f} levels, max {most} levels")


def check(pixels, options):
    """float64 both ways: numdream's network input after the steps of one octave (its dream_step,
    which numdream.dream runs) against the torch loop's; then the two dreams' pixels. Returns
    whether they agree."""
    model = load_model(dtype=numpy.float64)
    twin = TorchInception(read_model(bundled_model_path()), torch.float64)
    plan = plan_dream(pixels, model, None, "l2", seed=SEED, progress=False, **options)
    x = model.preprocess(plan.pixels)  # one octave: its size is the photo's, so no resize
    low, high = model.input_range()
    for _ in range(plan.opts.steps):
        dream_step(model, x, plan.objective, plan.opts, plan.rng, low, high)
    xt = torch_dream_input(twin, model, pixels, seed=SEED, **options).numpy()
    apart = float(numpy.abs(x - xt).max()) / model.scale
    ours = dream(pixels, model=model, seed=SEED, progress=False, **options)
    assert numpy.array_equal(ours, model.deprocess(x)), "dream() is not the steps replayed here"
    mean, most = difference(ours, model.deprocess(xt))
    print(f"float64 network inputs apart: max {apart:.3g} levels (tolerance {CHECK_TOLERANCE:g})")
    print(f"uint8 dreams apart: mean {mean:.4f} levels, max {most} levels")
    ok = apart <= CHECK_TOLERANCE and most <= 1
    print("the two loops agree" if ok else "the two loops DIFFER")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each engine (default 3)")
    parser.add_argument("--size", type=size_arg, help="WxH of the photo (default 1024x768; --check: 160x120)")
    parser.add_argument("--steps", type=int, help="steps per octave (default: numdream's, 10; --check: 1)")
    parser.add_argument("--octaves", type=int, help="octaves (default: numdream's, 4); --check runs 1")
    parser.add_argument("--check", action="store_true", help="float64, 1 octave: the same pixels?")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    print(f"machine: {machine()}; threads: {threads}; torch {torch.__version__}")
    if args.check:
        if args.octaves not in (None, 1):
            parser.error("--check runs one octave (its float comparison replays one octave's steps)")
        size = args.size or CHECK_SIZE
        options = dict(octaves=1, steps=args.steps or 1)
        print(f"check: {size[0]}x{size[1]}, float64, 1 octave x {options['steps']} steps, seed {SEED}")
        sys.exit(0 if check(photo(size), options) else 1)
    size = args.size or (1024, 768)
    options = {k: v for k, v in dict(octaves=args.octaves, steps=args.steps).items() if v is not None}
    shown = dict(dict(octaves=4, steps=10), **options)
    print(f"dream: {size[0]}x{size[1]} chelsea (bicubic), {shown['octaves']} octaves x {shown['steps']} steps, "
          f"README's other defaults, seed {SEED}, float32; {args.rounds} rounds, alternating")
    compare_speed(photo(size), options, args.rounds)


if __name__ == "__main__":
    main()
