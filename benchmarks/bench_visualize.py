"""Feature visualisation (numdream.visualize) against today's dream path, and against PyTorch.

    python benchmarks/bench_visualize.py                       # every section, full size (hours)
    python benchmarks/bench_visualize.py --section quality --steps 64 --per-layer 2   # a quick look
    python benchmarks/bench_visualize.py --section dead --tiles mixed4_atlas_tiles/     # from an atlas

Sections (issue 13, section 7):
- quality: for 8 fixed channels each of mixed2, mixed4 and mixed5 at 224x224, the new method
  (--steps Adam steps, default 512) and today's `numdream dream --init noise --channel N` path
  (4 octaves x 10 steps): seconds per image; the channel's mean activation (after its ReLU) on the
  final image as it is, and averaged over 8 random draws of Lucid's standard transformations (the
  same 8 for every image); the share of the grey, mean-removed image's spectral power above 0.35
  cycles per pixel (near-Nyquist noise).
- dead: the first 64 channels of mixed4: each visualisation's channel activation over that of a
  uniform grey image (the target: at least 10x for every channel, no dead channels).
- speed: one 224x224 visualisation of mixed4 in numdream and in PyTorch (benchmarks/torch_featvis.py:
  the same algorithm, same weights, same threads), alternating chunks of steps in one process.
The new method targets the layer before its ReLU (--objective-layer pre_relu, the default) as the
CLI does with --pre-relu; activations are always measured after the ReLU, on the channel asked for.
"""
import argparse
import os
import statistics
import time

import numpy as np

from common import machine

from numdream.dream import dream  # noqa: E402  (after common, which sets up sys.path)
from numdream.featvis import STANDARD_TRANSFORMS, channel, visualize  # noqa: E402
from numdream.featvis.netinput import model_input_forward  # noqa: E402
from numdream.featvis.pipeline import pipeline_forward  # noqa: E402
from numdream.images import load_image  # noqa: E402
from numdream.model import bundled_model_path, load_model  # noqa: E402
from numdream.frames import frame_path  # noqa: E402

CHANNELS = {"mixed2": [3, 40, 77, 114, 151, 188, 225, 262],
            "mixed4": [12, 97, 190, 283, 376, 469, 562, 655],
            "mixed5": [12, 97, 190, 283, 376, 469, 562, 655]}
DRAWS = 8


def mean_activation(model, pixels, layer, index, draws=0, seed=1234):
    """Channel ``index``'s mean at ``layer`` on uint8 pixels (H, W, 3): as they are (draws=0) or
    averaged over ``draws`` random standard transformations, drawn from ``seed``."""
    image = np.asarray(pixels, dtype=model.dtype).transpose(2, 0, 1)[None] / model.dtype.type(255)
    if draws == 0:
        x, _ = model_input_forward(image, model)
        return float(model.forward(x, [layer], keep_tape=False)[0][layer][0, index].mean())
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        seen, _ = pipeline_forward(image, STANDARD_TRANSFORMS, rng)
        x, _ = model_input_forward(seen, model)
        values.append(float(model.forward(x, [layer], keep_tape=False)[0][layer][0, index].mean()))
    return float(np.mean(values))


def near_nyquist_share(pixels, cutoff=0.35):
    """Share of the grey (channel mean), mean-removed image's spectral power above ``cutoff`` c/px."""
    grey = np.asarray(pixels, dtype=np.float64).mean(axis=2)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(grey.shape[0]), np.fft.fftfreq(grey.shape[1]), indexing="ij")
    return float(power[np.hypot(fy, fx) > cutoff].sum() / power.sum())


def new_method(model, layer, index, args):
    target = layer + ":pre_relu" if args.objective_layer == "pre_relu" else layer
    return visualize(channel(target, index), size=args.size, steps=args.steps, model=model, seed=0,
                     transforms=not args.no_transforms, progress=False)[0]


def todays_method(model, layer, index, args):
    return dream(None, model=model, layers=layer, objective="channel", channels=[index], init="noise",
                 size=(args.size, args.size), seed=0, progress=False)


def quality(model, args):
    print(f"\n## quality: {args.per_layer} channels per layer, {args.size}x{args.size}, new method {args.steps} "
          f"Adam steps on {args.objective_layer}; today: dream --init noise (4 octaves x 10 steps)")
    print(f"{'layer':7} {'ch':>4} {'method':6} {'s/image':>8} {'act':>8} {'act tf':>8} {'>0.35':>6}")
    rows = []
    for layer, channels in CHANNELS.items():
        for index in channels[:args.per_layer]:
            for name, method in (("new", new_method), ("today", todays_method)):
                start = time.perf_counter()
                pixels = method(model, layer, index, args)
                seconds = time.perf_counter() - start
                row = (layer, index, name, seconds, mean_activation(model, pixels, layer, index),
                       mean_activation(model, pixels, layer, index, DRAWS), near_nyquist_share(pixels))
                rows.append(row)
                print(f"{layer:7} {index:4} {name:6} {seconds:8.1f} {row[4]:8.3f} {row[5]:8.3f} {row[6]:6.3f}",
                      flush=True)
                if args.save:
                    from numdream.images import save_image  # only when asked to keep the pictures
                    save_image(os.path.join(args.save, f"{layer}_{index}_{name}.png"), pixels)
    print(f"\n{'layer':7} {'median act tf new/today':>24} {'median >0.35 new/today':>24}")
    for layer in list(CHANNELS) + ["all"]:
        mine = [r for r in rows if layer in ("all", r[0])]
        new = [r for r in mine if r[2] == "new"]
        old = [r for r in mine if r[2] == "today"]
        act_new, act_old = statistics.median(r[5] for r in new), statistics.median(r[5] for r in old)
        nyq_new, nyq_old = statistics.median(r[6] for r in new), statistics.median(r[6] for r in old)
        print(f"{layer:7} {act_new:8.3f} / {act_old:6.3f} = {act_new / act_old:4.1f}x "
              f"{nyq_new:9.3f} / {nyq_old:5.3f} = {nyq_new / nyq_old:4.2f}x")


def dead_channels(model, args):
    count = args.dead_count
    grey = np.full((args.size, args.size, 3), 128, np.uint8)
    print(f"\n## dead channels: mixed4 channels {args.dead_channels or f'0-{count - 1}'}, activation over a uniform grey image's "
          f"({'tiles of ' + args.tiles if args.tiles else 'new method, ' + str(args.steps) + ' steps' + (', no transformations' if args.no_transforms else '')})")
    ratios, worst = [], None
    indices = [int(c) for c in args.dead_channels.split(",")] if args.dead_channels else range(count)
    count = len(indices)
    for index in indices:
        if args.tiles:
            pixels = load_image(frame_path(args.tiles, index))
        else:
            pixels = new_method(model, "mixed4", index, args)
        act, base = mean_activation(model, pixels, "mixed4", index), mean_activation(model, grey, "mixed4", index)
        ratio = act / base if base > 0 else float("inf") if act > 0 else 0.0
        ratios.append(ratio)
        print(f"channel {index:3}: {act:8.3f} vs grey {base:7.4f}: {ratio:8.1f}x", flush=True)
        worst = index if worst is None or ratio <= min(ratios) else worst
    finite = [r for r in ratios if np.isfinite(r)]
    print(f"at least 10x grey: {sum(r >= 10 for r in ratios)}/{count}; smallest ratio {min(ratios):.1f}x "
          f"(channel {worst}); median of the finite ones {statistics.median(finite):.1f}x; "
          f"{count - len(finite)} channels are 0 on grey and not on their visualisation")


def speed(model, args):
    import torch  # here: only this section needs PyTorch
    from numdream.featvis.render import Settings, check_settings, render_gradient
    from numdream.featvis.adam import adam_init, adam_step
    from numdream.featvis.param import init_params
    from numdream.featvis.narrow import narrowed
    from numdream.modelfile import read_model
    from torch_featvis import TorchTrunk, TorchVisualisation
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    target = "mixed4:pre_relu" if args.objective_layer == "pre_relu" else "mixed4"
    objective = channel(target, 97)
    settings = Settings(hw=(args.size, args.size), steps=args.steps, seed=0)
    check_settings(settings, model, objective)
    rng = np.random.default_rng(0)
    params = init_params(settings.hw, 1, "fft", rng=rng, dtype=model.dtype)
    state = adam_init([params])

    def engine(objective):
        def step():
            _, dparams, _ = render_gradient(model, objective, params, settings, rng)
            adam_step([params], [-dparams], state, lr=settings.lr)
        return step

    twin = TorchVisualisation(TorchTrunk(read_model(bundled_model_path()), model), model, target, 97,
                              hw=settings.hw)
    # numdream as visualize() runs it (only the branch that makes the channel), the same on the
    # whole layer (what the twin computes), and the twin
    engines = {"numdream": engine(narrowed(objective, model)), "whole layer": engine(objective), "torch": twin.step}
    chunk = args.chunk
    times = {name: [] for name in engines}
    for _ in range(-(-args.steps // chunk)):
        for name, step in engines.items():
            start = time.perf_counter()
            for _ in range(chunk):
                step()
            times[name].append(time.perf_counter() - start)
    steps = len(times["torch"]) * chunk
    print(f"\n## speed: {target} channel 97, {args.size}x{args.size}, {steps} steps each, "
          f"alternating chunks of {chunk}; threads: {threads}; Winograd {'on' if model.winograd else 'off'}; "
          f"torch {torch.__version__}")
    for name in ("numdream", "whole layer"):
        ratios = [a / b for a, b in zip(times[name], times["torch"])]
        total, twin_total = sum(times[name]), sum(times["torch"])
        print(f"{name:11} {total:6.1f} s ({1000 * total / steps:4.0f} ms/step), torch {twin_total:6.1f} s "
              f"({1000 * twin_total / steps:4.0f} ms/step): ratio of totals {total / twin_total:.2f}, "
              f"median chunk ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--section", choices=("quality", "dead", "speed", "all"), default="all")
    p.add_argument("--steps", type=int, default=512, help="Adam steps of the new method")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--per-layer", type=int, default=8, help="channels per layer in the quality section (<= 8)")
    p.add_argument("--objective-layer", choices=("pre_relu", "relu"), default="pre_relu",
                   help="what the new method maximises: the channel before or after its ReLU")
    p.add_argument("--dead-count", type=int, default=64)
    p.add_argument("--dead-channels", help="the dead section on these mixed4 channels only, e.g. 3,5,20")
    p.add_argument("--no-transforms", action="store_true",
                   help="the new method without Lucid's random transformations (the image is then less robust)")
    p.add_argument("--tiles", help="an atlas work folder of mixed4's first channels, to measure instead of rendering")
    p.add_argument("--chunk", type=int, default=32, help="steps per alternating chunk in the speed section")
    p.add_argument("--save", help="folder to keep the quality section's pictures in")
    args = p.parse_args()
    model = load_model()
    print(f"machine: {machine()}; started {time.strftime('%Y-%m-%d %H:%M')}")
    sections = ("speed", "quality", "dead") if args.section == "all" else (args.section,)
    for name in sections:
        {"quality": quality, "dead": dead_channels, "speed": speed}[name](model, args)


if __name__ == "__main__":
    main()
