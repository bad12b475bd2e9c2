"""A dream before its first step: the start image, the objective, the octaves and the work.

    plan = plan_dream(photo, model, layers, objective, **options)   # every argument checked
    plan.sizes, plan.work                                          # octave sizes, (tiles, pixels) a step
    out = numdream.dream.run_dream(plan)

Splitting the plan from the loop lets the command line size a dream (numdream/estimate.py)
and refuse one that would take too long before it starts.
"""
from dataclasses import dataclass

import numpy
from PIL import Image

from .errors import NumdreamError
from .images import load_image
from .mask import load_mask
from .model import load_model
from .objectives import make_objective
from .options import MAX_TILE_PIXELS, DreamOptions


def tile_bounds(size, tile):
    """Split range(size) into ceil(size / tile) nearly equal, contiguous (start, stop) pieces."""
    count = max(1, -(-size // tile))
    edges = [round(i * size / count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


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


NOISE_BLOCK = 1 << 20  # values drawn at a time for a noise start


def _initial_image(image, opts, rng):
    """The start of the dream as uint8 (H, W, 3): the image, or noise in [96, 160] of opts.size.

    Noise is drawn a block of rows at a time (the same values as one call, the generator's
    stream being consumed in order), so an 89-megapixel start needs no 2 GB float64 temporary.
    """
    if opts.init != "noise":
        return load_image(image)
    w, h = opts.size
    noise = numpy.empty((h, w, 3), dtype=numpy.uint8)
    rows = max(1, NOISE_BLOCK // (3 * w))
    for y in range(0, h, rows):
        noise[y:y + rows] = rng.uniform(96, 160, size=noise[y:y + rows].shape).round()
    return noise


def targets_of(objective, layers, model):
    """The layers to target: as given, or the model's defaults when an objective is named by string."""
    if layers or not isinstance(objective, str):
        return layers
    return model.default_layers()


@dataclass
class DreamPlan:
    """Everything a dream needs, checked, before its first step (what plan_dream returns).

    pixels: uint8 (H, W, 3), the start. sizes: (h, w) of each octave, smallest first. work: per
    octave, (tiles, pixels) one step computes. mask: float32 (H, W) in [0, 1], or None.
    """
    model: object
    pixels: numpy.ndarray
    objective: object
    sizes: list
    work: list
    opts: DreamOptions
    rng: numpy.random.Generator
    mask: numpy.ndarray = None


def plan_dream(image=None, model=None, layers=None, objective="l2", **options):
    """Check a dream's arguments and size it, without running a step: a DreamPlan for run_dream.
    Arguments as dream() takes them; what is wrong raises NumdreamError here."""
    opts = DreamOptions.from_kwargs(options)
    model = model or load_model()
    rng = numpy.random.default_rng(opts.seed)
    if opts.keep_colors and opts.init == "noise":
        raise NumdreamError("keep_colors keeps the colours of a photo, and a noise start has none")
    pixels = _shrunk(_initial_image(image, opts, rng), opts.max_size)
    guide = None
    if opts.guide is not None:
        guide = load_image(opts.guide)
    objective = make_objective(objective, targets_of(objective, layers, model), opts.channels, opts.neuron, guide,
                               class_index=opts.class_index, guide_mode=opts.guide_mode)
    h, w = pixels.shape[:2]
    mask = None if opts.mask is None else load_mask(opts.mask, (h, w))
    objective.prepare(model, (h, w))
    minimum = model.min_input_size(list(objective.layers))
    if opts.tile_size and opts.tile_size < 2 * minimum and not objective.whole_image:
        raise NumdreamError(f"tile size {opts.tile_size} is too small for these layers; "
                            f"use at least {2 * minimum}")
    sizes = octave_sizes((h, w), opts.octaves, opts.octave_scale, minimum)
    if not sizes:
        raise NumdreamError(f"image of {w}x{h} is smaller than the {minimum}x{minimum} minimum "
                            f"of {model.name} up to {', '.join(objective.layers)}")
    _check_sizes(opts, objective, h, w)
    work = [step_work(model, objective, hw, opts.tile_size) for hw in sizes]
    return DreamPlan(model, pixels, objective, sizes, work, opts, rng, mask)


def step_work(model, objective, hw, tile_size):
    """(tiles, pixels) that one step at image size hw = (h, w) runs through the network, as
    objective_gradient splits it: a window objective's crop, or the tiles of the image."""
    window = getattr(objective, "window", None)
    crop = window(model, hw) if window is not None else None
    if crop is not None:
        (y0, y1, x0, x1), _ = crop
        return 1, (y1 - y0) * (x1 - x0)
    tile = max(hw) if not tile_size or objective.whole_image else tile_size
    return len(tile_bounds(hw[0], tile)) * len(tile_bounds(hw[1], tile)), hw[0] * hw[1]


def shrunk_size(hw, max_size):
    """(h, w) scaled so that its longest side is at most max_size (None: as it is); never enlarged."""
    h, w = hw
    if max_size is None or max(h, w) <= max_size:
        return h, w
    scale = max_size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def _shrunk(pixels, max_size):
    """uint8 (H, W, 3) resized (Lanczos) so that its longest side is at most max_size; never enlarged."""
    h, w = shrunk_size(pixels.shape[:2], max_size)
    if (h, w) == pixels.shape[:2]:
        return pixels
    return numpy.asarray(Image.fromarray(pixels).resize((w, h), Image.LANCZOS))


def _check_sizes(opts, objective, h, w):
    """The options whose cost depends on the image: the jitter is capped at its longest side (a
    roll wraps around the image, so a jitter of the side already reaches every shift), smoothing
    may be no wider than it, and an image run in one piece no larger than MAX_TILE_PIXELS."""
    side = max(h, w)
    opts.jitter = min(opts.jitter, side)
    if opts.smooth > side / 3:
        raise NumdreamError(f"smooth {opts.smooth:g} is too wide for the {w}x{h} image: at most {side / 3:g} "
                            "(a Gaussian whose 3-sigma radius spans the whole image leaves it flat)")
    untiled = objective.whole_image or not opts.tile_size
    if untiled and h * w > MAX_TILE_PIXELS:
        name = getattr(objective, "name", type(objective).__name__)
        reason = objective.whole_image if isinstance(objective.whole_image, str) else "it needs the whole image"
        why = (f"the {name} objective cannot be tiled ({reason})" if objective.whole_image
               else "tile size 0 runs the image in one piece")
        raise NumdreamError(f"{why}, and the {w}x{h} image has more than the {MAX_TILE_PIXELS:,} pixels "
                            "(4096x4096) numdream runs in one piece" + ("; shrink it" if objective.whole_image
                                                                         else "; use tiles, e.g. tile size 512"))
