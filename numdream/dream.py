"""The dream engine: gradient ascent on the pixels, over octaves, with jitter, tiling and smoothing.

The loop reads top to bottom, as in Google's notebook:

    preprocess -> for each octave, for each step:
        roll by a random jitter -> forward to the target layers (tile by tile)
        -> the objective's gradient there -> backward to the pixels -> unroll
        -> (optionally smooth) -> normalise -> step -> clip
    then carry the detail up to the next octave -> deprocess
"""
import sys

import numpy
from tqdm import tqdm

from . import backend
from .errors import NumdreamError
from .imageops import gaussian_blur, laplacian_normalize, resize
from .images import load_image
from .model import load_model
from .objectives import make_objective
from .options import DreamOptions


def tile_bounds(size, tile):
    """Split range(size) into ceil(size / tile) nearly equal, contiguous (start, stop) pieces."""
    count = max(1, -(-size // tile))
    edges = [round(i * size / count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


def objective_gradient(model, x, objective, tile_size=None):
    """(value, d value / d x) for x (N, 3, H, W), computed tile by tile to bound memory.

    Each tile is run through the network on its own, so the value and gradient are sums over
    tiles; with one tile covering the image they are the untiled ones.
    """
    xp = backend.get_array_module(x)
    h, w = x.shape[2:]
    tile = max(h, w) if not tile_size or objective.whole_image else tile_size
    targets = list(objective.layers)
    grad = xp.empty_like(x)
    total = 0.0
    for y0, y1 in tile_bounds(h, tile):
        for x0, x1 in tile_bounds(w, tile):
            acts, tape = model.forward(x[:, :, y0:y1, x0:x1], targets)
            value, dacts = objective(acts)
            grad[:, :, y0:y1, x0:x1] = model.backward(dacts, tape)
            total += value
    return total, grad


def normalize_gradient(g, method, eps=1e-8):
    """Scale g so that a step of 1 moves pixels by about one unit: 'mean' |g|, 'std' or 'laplacian'."""
    xp = backend.get_array_module(g)
    if method == "mean":
        return g / (xp.abs(g).mean() + eps)
    if method == "std":
        return g / (g.std() + eps)
    return laplacian_normalize(g)


def octave_sizes(hw, octaves, scale, minimum):
    """Image sizes from the smallest octave to the full size; octaves below ``minimum`` are dropped.

    Sizes are rounded from the full size, so odd sizes stay consistent: (301, 227) with
    3 octaves of 1.4 gives [(154, 116), (215, 162), (301, 227)].
    """
    sizes = []
    for i in range(octaves):
        size = (int(round(hw[0] / scale ** i)), int(round(hw[1] / scale ** i)))
        if min(size) < minimum:
            break
        sizes.append(size)
    return sizes[::-1]


def dream_step(model, x, objective, opts, rng, low, high):
    """One gradient-ascent step on x (N, 3, H, W), in place; returns the objective's value."""
    xp = backend.get_array_module(x)
    jitter = 0 if objective.whole_image else opts.jitter
    oy, ox = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2)) if jitter else (0, 0)
    rolled = xp.roll(x, (oy, ox), axis=(2, 3))
    value, g = objective_gradient(model, rolled, objective, opts.tile_size)
    g = xp.roll(g, (-oy, -ox), axis=(2, 3))
    if opts.smooth > 0:  # smooth first, so the normalised step keeps its size in pixels
        g = gaussian_blur(g, opts.smooth)
    g = normalize_gradient(g, opts.normalize)
    # step_size counts 0-255 pixel units, whatever the model's input space
    x += (opts.step_size * model.scale) * g
    xp.clip(x, low, high, out=x)
    return value


def _initial_image(image, opts, rng):
    if opts.init == "noise":
        w, h = opts.size
        return rng.uniform(96, 160, size=(h, w, 3)).round().astype(numpy.uint8)
    return load_image(image)


def _targets(objective, layers, model):
    """The layers to target: as given, or the model's defaults when an objective is named by string."""
    if layers or not isinstance(objective, str):
        return layers
    return model.default_layers()


def dream(image=None, model=None, layers=None, objective="l2", **options):
    """Dream on ``image`` and return the result as uint8 (H, W, 3).

    image: uint8 (H, W, 3) array, PIL image or path (ignored with init="noise").
    model: a Model (default: the bundled InceptionV3). layers: a name, a list, or
    {name: weight} (default: the model's dream layers, mixed3 + mixed5 for InceptionV3). objective: 'l2' (default), 'mean', 'channel',
    'neuron', 'guide', 'class', or an Objective instance. Options (see DreamOptions): octaves=4,
    octave_scale=1.4, steps=10, step_size=1.5, jitter=32, normalize='mean', smooth=0,
    tile_size=512, seed=None, init=None|'noise', size=(W, H), callback=None, progress=True,
    channels, neuron=(channel, y, x), guide (image or path), guide_mode ('gram', 'mean', 'nearest',
    'google'), class_index.
    """
    opts = DreamOptions.from_kwargs(options)
    model = model or load_model()
    rng = numpy.random.default_rng(opts.seed)
    pixels = _initial_image(image, opts, rng)
    guide = None
    if opts.guide is not None:
        guide = load_image(opts.guide)
    objective = make_objective(objective, _targets(objective, layers, model), opts.channels, opts.neuron, guide,
                               class_index=opts.class_index, guide_mode=opts.guide_mode)
    h, w = pixels.shape[:2]
    objective.prepare(model, (h, w))
    minimum = model.min_input_size(list(objective.layers))
    if opts.tile_size and opts.tile_size < 2 * minimum and not objective.whole_image:
        raise NumdreamError(f"tile size {opts.tile_size} is too small for these layers; "
                            f"use at least {2 * minimum}")
    sizes = octave_sizes((h, w), opts.octaves, opts.octave_scale, minimum)
    if not sizes:
        raise NumdreamError(f"image of {w}x{h} is smaller than the {minimum}x{minimum} minimum "
                            f"of {model.name} up to {', '.join(objective.layers)}")
    return _run_octaves(model, pixels, objective, sizes, opts, rng)


def _run_octaves(model, pixels, objective, sizes, opts, rng):
    full = model.preprocess(pixels)
    xp = backend.get_array_module(full)
    low, high = model.input_range(xp)
    bar = tqdm(total=len(sizes) * opts.steps, desc="dreaming", unit="step", file=sys.stderr,
               disable=not opts.progress, leave=False)
    detail = None
    for octave, hw in enumerate(sizes):
        if hasattr(objective, "prepare_octave"):  # e.g. a guide shown at this octave's scale
            objective.prepare_octave(model, hw)
        base = resize(full, hw)
        x = base + (resize(detail, hw) if detail is not None else 0)
        for step in range(opts.steps):
            value = dream_step(model, x, objective, opts, rng, low, high)
            bar.set_postfix(octave=f"{octave + 1}/{len(sizes)}", objective=f"{value:.4g}")
            bar.update()
            if opts.callback is not None:
                opts.callback(octave, step, model.deprocess(x))
        detail = x - base  # what this octave dreamed, carried up to the next one
    bar.close()
    return model.deprocess(x)


def evaluate(image, objective="l2", layers=None, model=None):
    """The objective's value on a whole uint8 image (untiled), e.g. to measure how much a dream
    raised the L2 energy of its target layers."""
    model = model or load_model()
    objective = make_objective(objective, _targets(objective, layers, model))
    pixels = load_image(image)
    objective.prepare(model, pixels.shape[:2])
    acts, _ = model.forward(model.preprocess(pixels), list(objective.layers), keep_tape=False)
    value, _ = objective(acts)
    return value
