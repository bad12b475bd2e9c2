"""A dream step's tiles side by side (numdream/fast/tiles.py) against one after another.

    python benchmarks/bench_tiles.py [--sizes 1024x768,731x548] [--tile 512] [--steps 7]

One dream step's gradient (numdream.dream.objective_gradient, the default L2 objective on mixed3 +
mixed5) of a random image at each size, cut into --tile tiles as the dream cuts its octaves:
with the tiles side by side, one whole tile per core, and with an objective that opts out
(concurrent_tiles = False), so that the tiles run one after another, each split across the
cores. Alternating in one process, medians of --steps. The gradients agree to float32 rounding
(a layer split in pieces runs BLAS on other matrix shapes): the last column is their largest
difference over the gradient's largest value.
"""
import argparse
import statistics
import time

import numpy

from common import machine, sizes_arg

from numdream.dream import objective_gradient, tile_bounds  # noqa: E402
from numdream.fast.threads import configured_workers  # noqa: E402
from numdream.model import load_model  # noqa: E402
from numdream.objectives import L2  # noqa: E402


class InTurn(L2):
    concurrent_tiles = False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda text: sizes_arg(text, minimum=75),
                        default=[(1024, 768), (731, 548), (522, 391)], help="WxH list (default: the default dream's octaves)")
    parser.add_argument("--tile", type=int, default=512, help="tile size in pixels (default 512, the dream's)")
    parser.add_argument("--steps", type=int, default=7)
    args = parser.parse_args()
    model = load_model()
    layers = model.default_layers()
    print(f"machine: {machine()}; threads: {configured_workers()}; tiles of {args.tile} px, L2 on {', '.join(layers)}")
    print(f"{'size':>9}  {'tiles':>5}  {'side by side ms':>15}  {'in turn ms':>10}  ratio  gradients apart")
    for w, h in args.sizes:
        x = model.preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))
        ways = {"side": L2(layers), "turn": InTurn(layers)}
        grads = {name: objective_gradient(model, x, objective, args.tile)[1] for name, objective in ways.items()}
        times = {name: [] for name in ways}
        for rep in range(args.steps):
            for name in (list(ways) if rep % 2 == 0 else list(ways)[::-1]):
                start = time.perf_counter()
                objective_gradient(model, x, ways[name], args.tile)
                times[name].append(time.perf_counter() - start)
        side, turn = (1000 * statistics.median(times[name]) for name in ways)
        count = len(tile_bounds(h, args.tile)) * len(tile_bounds(w, args.tile))
        diff = float(numpy.abs(grads["side"] - grads["turn"]).max() / numpy.abs(grads["turn"]).max())
        print(f"{w:>4}x{h:<4}  {count:5d}  {side:15.1f}  {turn:10.1f}  {side / turn:5.2f}  {diff:.1e}")


if __name__ == "__main__":
    main()
