"""The dream engine: gradient ascent on the pixels, over octaves, with jitter, tiling and smoothing.

dream() is plan_dream (numdream/dreamplan.py: every argument checked, the octaves sized,
before any step) and run_dream, the loop, which reads top to bottom as in Google's notebook:

    preprocess -> for each octave, for each step:
        roll by a random jitter -> forward to the target layers (tile by tile; side by side
        on the cores, numdream/fast/tiles.py)
        -> the objective's gradient there -> backward to the pixels -> unroll
        -> (optionally smooth) -> normalise -> step -> clip
    then carry the detail up to the next octave -> deprocess
"""
import math

import numpy
from PIL import Image

from . import backend
from .colors import keep_colors
from .dreamplan import DreamPlan, octave_sizes, plan_dream, step_work, targets_of, tile_bounds  # noqa: F401
from .errors import NumdreamError
from .fast.tiles import allowed as tiles_allowed
from .fast.tiles import run_tiles
from .imageops import gaussian_blur, laplacian_normalize, resize
from .images import load_image
from .model import load_model
from .objectives import make_objective
from .progress import DreamProgress


def objective_gradient(model, x, objective, tile_size=None):
    """(value, d value / d x) for x (N, 3, H, W), computed tile by tile to bound memory.

    Each tile is run through the network on its own, so the value and gradient are sums over
    tiles; with one tile covering the image they are the untiled ones. An objective with a
    window (a neuron) is computed on that crop only, whatever the tile size: its gradient is
    zero outside it. One whose ``whole_image`` says why it cannot be tiled gets one tile.
    """
    xp = backend.get_array_module(x)
    h, w = x.shape[2:]
    window = getattr(objective, "window", None)
    crop = window(model, (h, w)) if window is not None else None
    if crop is not None:
        (y0, y1, x0, x1), local = crop
        grad = xp.zeros_like(x)
        value, grad[:, :, y0:y1, x0:x1] = piece_gradient(model, x[:, :, y0:y1, x0:x1], local)
        return value, grad
    tile = max(h, w) if not tile_size or objective.whole_image else tile_size
    tiles = [(y0, y1, x0, x1) for y0, y1 in tile_bounds(h, tile) for x0, x1 in tile_bounds(w, tile)]
    grad = xp.empty_like(x)
    values = [0.0] * len(tiles)

    def one_tile(i):
        y0, y1, x0, x1 = tiles[i]
        values[i], grad[:, :, y0:y1, x0:x1] = piece_gradient(model, x[:, :, y0:y1, x0:x1], objective)
    # tiles side by side on the cores, where the fused plan and the objective allow it
    run_tiles(one_tile, len(tiles), xp.__name__, tiles_allowed(model, objective))
    total = 0.0
    for value in values:  # in tile order, as one after another would add them
        total += value
    return total, grad


def piece_gradient(model, x, objective):
    """(value, d value / d x) of one piece x (N, 3, h, w), through one forward and backward pass."""
    acts, tape = model.forward(x, list(objective.layers))
    value, dacts = objective(acts)
    return value, model.backward(dacts, tape)


def normalize_gradient(g, method, eps=1e-8):
    """Scale g so that a step of 1 moves pixels by about one unit: 'mean' |g|, 'std' or 'laplacian'."""
    xp = backend.get_array_module(g)
    if method == "mean":
        return g / (xp.abs(g).mean() + eps)
    if method == "std":
        return g / (g.std() + eps)
    return laplacian_normalize(g)


class NonFiniteStep(ArithmeticError):
    """A step's objective value or gradient is inf or NaN (what it was, in words): the dream would
    go black. Raised by dream_step; the dream loop names the octave and step (a NumdreamError)."""


def dream_step(model, x, objective, opts, rng, low, high, mask=None):
    """One gradient-ascent step on x (N, 3, H, W), in place; returns the objective's value.

    mask: None, or (1, 1, H, W) in [0, 1] that scales the normalised step pixel by pixel.
    Raises NonFiniteStep, leaving x as it was, if the value or the step is not finite.
    """
    xp = backend.get_array_module(x)
    jitter = opts.jitter if getattr(objective, "jitters", not objective.whole_image) else 0
    oy, ox = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2)) if jitter else (0, 0)
    rolled = xp.roll(x, (oy, ox), axis=(2, 3))
    value, g = objective_gradient(model, rolled, objective, opts.tile_size)
    if not math.isfinite(value):
        raise NonFiniteStep(f"the objective became {value}")
    g = xp.roll(g, (-oy, -ox), axis=(2, 3))
    if opts.smooth > 0:  # smooth first, so the normalised step keeps its size in pixels
        g = gaussian_blur(g, opts.smooth)
    g = normalize_gradient(g, opts.normalize)
    if not bool(xp.isfinite(g).all()):  # an inf in the gradient is a NaN once normalised
        raise NonFiniteStep("the gradient became " + ("nan" if bool(xp.isnan(g).any()) else "inf"))
    if mask is not None:  # after normalising: inside a white mask the step is the unmasked one
        g *= mask
    # step_size counts 0-255 pixel units, whatever the model's input space
    x += (opts.step_size * model.scale) * g
    xp.clip(x, low, high, out=x)
    return value


def dream(image=None, model=None, layers=None, objective="l2", **options):
    """Dream on ``image`` and return the result as uint8 (H, W, 3).

    image: uint8 (H, W, 3) array, PIL image or path (ignored with init="noise").
    model: a Model (default: the bundled InceptionV3). layers: a name, a list, or
    {name: weight} (default: the model's dream layers, mixed3 + mixed5 for InceptionV3). objective: 'l2' (default), 'mean', 'channel',
    'neuron', 'guide', 'class', or an Objective instance. Options (see DreamOptions): octaves=4,
    octave_scale=1.4, steps=10, step_size=1.5, jitter=32, normalize='mean', smooth=0,
    tile_size=512, seed=None, init=None|'noise', size=(W, H), callback=None, progress=True,
    channels, neuron=(channel, y, x), guide (image or path), guide_mode ('gram', 'mean', 'nearest',
    'google'), class_index, mask (image or path:
    dream where it is white), keep_colors (the photo's colours, the dream's luminance),
    max_size (the photo's longest side, in pixels).
    """
    return run_dream(plan_dream(image, model, layers, objective, **options))


# why a step becomes inf or NaN, the likeliest first
_NON_FINITE_CAUSES = ("the layer weights or the step size are too large, or the model file has "
                      "non-finite or huge weights")


def run_dream(plan, clock=None, initial_rate=None):
    """Run the steps of a DreamPlan; returns uint8 (H, W, 3).

    clock: the time source of the progress bar's estimate (a test's fake clock), default
    time.perf_counter. initial_rate: seconds per pixel it assumes before the first step.
    """
    model, objective, sizes, opts, rng = plan.model, plan.objective, plan.sizes, plan.opts, plan.rng
    full = model.preprocess(plan.pixels)
    xp = backend.get_array_module(full)
    low, high = model.input_range(xp)
    full_mask = None if plan.mask is None else backend.to_device(plan.mask[None, None], full.dtype)
    timing = {} if clock is None else {"clock": clock}
    bar = DreamProgress(plan.work, opts.steps, enabled=opts.progress, initial_rate=initial_rate, **timing)
    detail = None
    try:  # the bar is closed (its line cleared) whatever ends the dream, so an error line stands alone
        for octave, hw in enumerate(sizes):
            if hasattr(objective, "prepare_octave"):  # e.g. a guide shown at this octave's scale
                objective.prepare_octave(model, hw)
            base = resize(full, hw)
            mask = None if full_mask is None else resize(full_mask, hw)
            x = base + (_carried(resize(detail, hw), mask) if detail is not None else 0)
            for step in range(opts.steps):
                try:
                    # overflow and NaN are detected here, so NumPy need not warn about them
                    with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        value = dream_step(model, x, objective, opts, rng, low, high, mask)
                except NonFiniteStep as err:
                    raise NumdreamError(f"{err} at octave {octave + 1} of {len(sizes)}, step {step + 1}: "
                                        f"{_NON_FINITE_CAUSES}") from None
                bar.step_done(octave, value)
                if opts.callback is not None:
                    opts.callback(octave, step, finish(plan, model.deprocess(x)))
                    bar.eta.restart()  # the callback's time is not a step's
            detail = x - base  # what this octave dreamed, carried up to the next one
    finally:
        bar.close()
    return finish(plan, model.deprocess(x))


def _carried(detail, mask):
    """The detail of the octave below, cut where the mask is 0: bilinear upsampling spreads it
    about a pixel of the smaller octave beyond the mask's edge, which would dream outside it."""
    return detail if mask is None else detail * (mask > 0)


def finish(plan, image):
    """A dreamed uint8 (h, w, 3), at any octave's size, as the dream returns it: with
    keep_colors, its luminance with the chroma of the photo resized to (h, w)."""
    if not plan.opts.keep_colors:
        return image
    photo = plan.pixels
    if photo.shape != image.shape:
        photo = numpy.asarray(Image.fromarray(photo).resize(image.shape[1::-1], Image.BILINEAR))
    return keep_colors(image, photo)


def evaluate(image, objective="l2", layers=None, model=None):
    """The objective's value on a whole uint8 image (untiled), e.g. to measure how much a dream
    raised the L2 energy of its target layers."""
    model = model or load_model()
    objective = make_objective(objective, targets_of(objective, layers, model))
    pixels = load_image(image)
    objective.prepare(model, pixels.shape[:2])
    acts, _ = model.forward(model.preprocess(pixels), list(objective.layers), keep_tape=False)
    value, _ = objective(acts)
    return value
