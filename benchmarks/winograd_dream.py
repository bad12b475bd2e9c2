"""How much Winograd changes a dream: the bundled photo, default settings, a fixed seed, dreamed
by the fused plan as it is (Winograd for the stride-1 3x3/5x5/1x7/7x1 convolutions), by the
fused plan with every convolution on im2col, and by the readable ops (fuse=False); prints the
pixel differences and saves the images.

    python benchmarks/winograd_dream.py [--seed 0] [--out /tmp] [--octaves N --steps N]

The dreams differ only by float32 rounding in the convolutions (Winograd's transforms round
differently from im2col's sums, and the fused im2col from the readable one by the order of its
sums). Gradient ascent amplifies any such difference step after step, so the readable-against-
fused line is the yardstick: what a float32 rounding change does to a dream anyway.
"""
import argparse
import os
import time

import numpy

import common  # noqa: F401  (puts the repository on sys.path)
from numdream import dream, load_model, save_image  # noqa: E402
from numdream.fast import winograd  # noqa: E402
from numdream.images import load_image, sample_path  # noqa: E402


def difference(a, b):
    """One line: max and mean |a - b| of two uint8 images, in pixel levels."""
    diff = numpy.abs(a.astype(numpy.int16) - b.astype(numpy.int16))
    return (f"max {diff.max()}, mean {diff.mean():.3f}, {100 * (diff > 0).mean():.1f} % of values "
            f"differ, {100 * (diff > 2).mean():.2f} % by more than 2")


def dream_with(rule, image, seed, **options):
    """A default dream of ``image`` by a fresh model whose plans use ``rule`` (kernel -> tile)."""
    saved = dict(winograd.TILE_FOR_KERNEL)
    winograd.TILE_FOR_KERNEL.clear()
    winograd.TILE_FOR_KERNEL.update(rule)
    try:
        model = load_model(winograd=True)
        start = time.perf_counter()
        out = dream(image, model=model, seed=seed, progress=False, **options)
        routed = sum(1 for plan in model._plans.values() for s in plan if getattr(s, "tile", None))
        return out, time.perf_counter() - start, routed
    finally:
        winograd.TILE_FOR_KERNEL.clear()
        winograd.TILE_FOR_KERNEL.update(saved)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the PNGs (default: none saved)")
    parser.add_argument("--octaves", type=int, default=None, help="default: dream()'s")
    parser.add_argument("--steps", type=int, default=None, help="default: dream()'s")
    args = parser.parse_args()
    options = {k: v for k, v in (("octaves", args.octaves), ("steps", args.steps)) if v is not None}
    image = load_image(sample_path())
    fast, t_fast, routed = dream_with(dict(winograd.TILE_FOR_KERNEL), image, args.seed, **options)
    plain, t_plain, none = dream_with({}, image, args.seed, **options)
    readable = dream(image, model=load_model(fuse=False), seed=args.seed, progress=False, **options)
    assert routed > 0 and none == 0, "the two dreams must differ in their convolutions' path"
    print(f"photo {image.shape[1]}x{image.shape[0]}, seed {args.seed}, settings {options or 'default'}")
    print(f"dream time: Winograd {t_fast:.1f} s ({routed} convolutions routed), im2col {t_plain:.1f} s "
          "(one run each, not alternated)")
    print("pixel levels (0-255), float32:")
    print(f"  Winograd - fused im2col:   {difference(fast, plain)}")
    print(f"  Winograd - readable ops:   {difference(fast, readable)}")
    print(f"  fused im2col - readable:   {difference(plain, readable)}   (the yardstick)")
    if args.out:
        for name, img in (("dream_winograd.png", fast), ("dream_im2col.png", plain), ("dream_readable.png", readable)):
            save_image(os.path.join(args.out, name), img)
        print(f"saved dream_winograd.png, dream_im2col.png and dream_readable.png in {args.out}")


if __name__ == "__main__":
    main()
