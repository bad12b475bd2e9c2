"""How much Winograd changes a dream: the bundled photo, default settings, a fixed seed, dreamed
once by the fused plan as it is (Winograd for the stride-1 3x3/5x5/1x7/7x1 convolutions) and
once with every convolution on im2col; prints the pixel differences and saves both images.

    python benchmarks/winograd_dream.py [--seed 0] [--out /tmp]

The two dreams differ only by float32 rounding in the convolutions (F(4x4)'s transforms round
differently from im2col's sums); the dream loop amplifies it a little, step after step.
"""
import argparse
import os
import time

import numpy

import common  # noqa: F401  (puts the repository on sys.path)
from numdream import dream, load_model, save_image  # noqa: E402
from numdream.fast import winograd  # noqa: E402
from numdream.images import load_image, sample_path  # noqa: E402


def dream_with(rule, image, seed):
    """A default dream of ``image`` by a fresh model whose plans use ``rule`` (kernel -> tile)."""
    saved = dict(winograd.TILE_FOR_KERNEL)
    winograd.TILE_FOR_KERNEL.clear()
    winograd.TILE_FOR_KERNEL.update(rule)
    try:
        start = time.perf_counter()
        out = dream(image, model=load_model(), seed=seed, progress=False)
        return out, time.perf_counter() - start
    finally:
        winograd.TILE_FOR_KERNEL.clear()
        winograd.TILE_FOR_KERNEL.update(saved)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the two PNGs (default: none saved)")
    args = parser.parse_args()
    image = load_image(sample_path())
    fast, t_fast = dream_with(winograd.TILE_FOR_KERNEL, image, args.seed)
    plain, t_plain = dream_with({}, image, args.seed)
    diff = numpy.abs(fast.astype(numpy.int16) - plain.astype(numpy.int16))
    print(f"photo {image.shape[1]}x{image.shape[0]}, seed {args.seed}, default settings")
    print(f"dream time: Winograd {t_fast:.1f} s, im2col {t_plain:.1f} s (one run each, not alternated)")
    print(f"|Winograd - im2col| in pixel levels (0-255): max {diff.max()}, mean {diff.mean():.3f}, "
          f"{100 * (diff > 0).mean():.1f} % of values differ, {100 * (diff > 2).mean():.2f} % by more than 2")
    if args.out:
        for name, img in (("dream_winograd.png", fast), ("dream_im2col.png", plain)):
            save_image(os.path.join(args.out, name), img)
        print(f"saved dream_winograd.png and dream_im2col.png in {args.out}")


if __name__ == "__main__":
    main()
