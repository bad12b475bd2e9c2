"""How high can a channel go at all? An upper-bound probe for bench_visualize.py's dead-channel test.

    python benchmarks/channel_ceiling.py --channels 37,38 [--steps 1500] [--lr 0.1] [--seed 0]

The dead-channel test asks each of mixed4's first 64 channels for a visualisation whose mean
activation, on the uint8 image as it is, reaches 10x the channel's mean on a uniform grey image.
A few channels already fire strongly on grey, so their target is high. This probe optimises
exactly the measured quantity, with nothing a good picture needs: Adam directly on the network
input (no Fourier parametrisation, no colour decorrelation, no transformations, no sigmoid), each
value clipped to the range of a pixel, the post-ReLU channel mean of the untransformed image as
the objective, at the test's size (224). What it reaches is what gradient ascent finds when it is
free to make any pattern at all; a channel whose ceiling stays under 10x grey cannot meet the
target with any visualisation method that climbs its gradient. Each checkpoint measures the image
rounded to uint8, as the test does.
"""
import argparse
import time

import numpy

from bench_visualize import mean_activation
from common import machine

from numdream.featvis.adam import adam_init, adam_step  # noqa: E402
from numdream.model import load_model  # noqa: E402

LAYER = "mixed4"


def ceiling(model, channel, size, steps, lr, seed, every=250):
    """Adam on the network input, clipped to pixel range; returns [(step, uint8 activation)],
    measured as the dead-channel test measures (bench_visualize.mean_activation)."""
    low, high = model.input_range()
    rng = numpy.random.default_rng(seed)
    x = (low + (high - low) * rng.uniform(0.4, 0.6, (1, 3, size, size))).astype(model.dtype)
    state = adam_init([x])
    history = []
    for t in range(1, steps + 1):
        acts, tape = model.forward(x, [LAYER])
        grad = numpy.zeros_like(acts[LAYER])
        grad[0, channel] = 1.0 / grad[0, channel].size  # d(channel mean) / d(activation)
        dx = model.backward({LAYER: grad}, tape)
        adam_step([x], [-dx], state, lr=lr)  # climb: descend on minus the gradient
        numpy.clip(x, low, high, out=x)
        if t % every == 0 or t == steps:
            history.append((t, mean_activation(model, model.deprocess(x), LAYER, channel)))
    return history


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--channels", default="37,38", help="mixed4 channels, comma-separated")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--lr", type=float, default=0.1, help="Adam's step in network-input units (pixel range: 2)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    model = load_model()
    print(f"machine: {machine()}; {args.size}x{args.size}, {args.steps} Adam steps, lr {args.lr}, seed {args.seed}")
    grey = numpy.full((args.size, args.size, 3), 128, numpy.uint8)
    for channel in (int(c) for c in args.channels.split(",")):
        base = mean_activation(model, grey, LAYER, channel)
        start = time.perf_counter()
        history = ceiling(model, channel, args.size, args.steps, args.lr, args.seed)
        trail = ", ".join(f"{t}: {a:.2f}" for t, a in history)
        best = max(a for _, a in history)
        ratio = f"{best / base:.1f}x grey" if base > 0 else "grey gives 0"
        print(f"channel {channel:3}: grey {base:.4f}; by step {trail}; best {best:.3f} = {ratio} "
              f"(target 10x = {10 * base:.2f}); {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
