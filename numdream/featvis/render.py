"""The feature-visualisation loop: Adam on an image parametrisation, through random
transformations and the network, to an objective. It reads top to bottom, as the dream loop does:

    params --image_forward--> image in [0, 1] --pipeline_forward--> transformed image
        --network_input_forward--> network input --model.forward--> activations at the layers
        --objective.forward--> value
    and back: objective.backward -> model.backward -> network_input_backward
        -> pipeline_backward -> image_backward -> d value / d params -> adam_step (climbing)

Everything runs on the model's backend and in its dtype (float32 for the bundled model); only
the random draws (the start and each step's transformations) come from one seeded numpy
Generator on the host, so a seed gives the same picture, bit for bit, on one machine.
"""
import sys
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from .. import backend
from ..errors import NumdreamError
from ..model import load_model
from ..options import number_bound
from .adam import adam_init, adam_step
from .netinput import model_input_forward, network_input_backward
from .narrow import narrowed
from .objectives import as_objective
from .param import PARAMS, image_backward, image_forward, init_params
from .pipeline import STANDARD_TRANSFORMS, Jitter, Pad, RandomRotate, RandomScale, pipeline_backward, pipeline_forward
from .transforms import scaled_size

MAX_PIXELS = 4096 * 4096  # batch x height x width: what fits a few GB of activations at mixed5


@dataclass(frozen=True)
class Settings:
    """How one visualisation is made; see visualize() for each field."""
    hw: tuple                 # (H, W)
    steps: int = 512
    param: str = "fft"
    decorrelate: bool = True
    decay: float = 1.0        # the Fourier spectrum's 1/f**decay scaling
    transforms: tuple = STANDARD_TRANSFORMS
    lr: float = 0.05
    batch: int = 1
    seed: int = 0             # None: a new seed from the operating system


def seen_sizes(hw, transforms):
    """Every (H, W) the network can be given: the image through ``transforms``, with each draw.

    Pad and jitter change the size by a fixed amount, a scale by one of its factors, a rotation
    not at all. Raises NumdreamError when a jitter leaves nothing of the image.
    """
    sizes = {tuple(hw)}
    for t in transforms:
        if isinstance(t, Pad):
            sizes = {(h + 2 * t.width, w + 2 * t.width) for h, w in sizes}
        elif isinstance(t, Jitter):
            if any(t.d >= min(s) for s in sizes):
                raise NumdreamError(f"a jitter of {t.d} pixels leaves nothing of a {min(sizes)[0]}x"
                                    f"{min(sizes)[1]} image; make the image larger than {t.d} pixels")
            sizes = {(h - t.d, w - t.d) for h, w in sizes}
        elif isinstance(t, RandomScale):
            sizes = {scaled_size(s, f) for s in sizes for f in t.factors}
        elif not isinstance(t, RandomRotate):
            raise NumdreamError(f"not a transformation: {t!r}; use Pad, Jitter, RandomScale, RandomRotate")
    return sorted(sizes)


def check_settings(settings, model, objective):
    """Every bad value as one NumdreamError before any work: sizes, counts, rates, and the objective
    against the model at each size the network will see."""
    h, w = settings.hw
    checked = [(h, "height", 1), (w, "width", 1), (settings.steps, "steps", 0), (settings.batch, "batch", 1)]
    for value, name, low in checked + ([(settings.seed, "seed", 0)] if settings.seed is not None else []):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise NumdreamError(f"{name} must be a whole number >= {low}, got {value!r}")
    if settings.batch * h * w > MAX_PIXELS:
        raise NumdreamError(f"a batch of {settings.batch} images of {w}x{h} is too large: at most "
                            f"{MAX_PIXELS} pixels in all (4096x4096)")
    if settings.param not in PARAMS:
        raise NumdreamError(f"unknown parametrisation {settings.param!r}; valid ones are {', '.join(PARAMS)}")
    for value, name, bounds in ((settings.lr, "the learning rate", dict(above=0.0)),
                                (settings.decay, "the spectrum's decay", dict(at_least=0.0))):
        valid = number_bound(value, **bounds)
        if valid:
            raise NumdreamError(f"{name} must be {valid}, got {value!r}")
    sizes = seen_sizes(settings.hw, settings.transforms)
    layers = list(objective.layers)
    for hw in sizes:  # a window may not fit the smallest, a classifier head may fit only some
        try:
            model.output_shapes(hw, layers)
        except NumdreamError as err:
            if len(sizes) == 1:
                raise
            raise NumdreamError(f"the transformations show the network images of {sizes[0][0]}x{sizes[0][1]} to "
                                f"{sizes[-1][0]}x{sizes[-1][1]} (HxW), and {err}; choose another size, or "
                                "no transformations") from None
    objective.prepare(model, sizes, settings.batch)
    return sizes


def to_pixels(image):
    """(N, 3, H, W) in [0, 1], any backend -> uint8 (N, H, W, 3) on the host."""
    host = np.asarray(backend.to_host(image), dtype=np.float64)
    return np.clip(np.rint(255 * host), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1).copy()


def render_gradient(model, objective, params, settings, rng):
    """One step's value and d value / d params: the chain of the module docstring, forward then back.

    params: the parametrisation's array on the model's backend; rng: draws this step's transforms.
    Returns (value, dparams, image), image (N, 3, H, W) being the image the params made.
    """
    image, image_cache = image_forward(params, settings.hw, settings.param, settings.decorrelate, settings.decay)
    seen, transform_cache = pipeline_forward(image, settings.transforms, rng)
    x, input_cache = model_input_forward(seen, model)
    acts, tape = model.forward(x, list(objective.layers))
    value, objective_cache = objective.forward(acts)
    dx = model.backward(objective.backward(objective_cache), tape)
    dseen = network_input_backward(dx, input_cache)
    dimage = pipeline_backward(dseen, transform_cache)
    return value, image_backward(dimage, image_cache), image


def render(model, objective, settings, progress=True, every=None, callback=None, values=None):
    """Run a visualisation. Returns the final image (N, 3, H, W) in [0, 1] on the model's backend.

    callback(step, image) is called with the image at step 0 and after every ``every`` steps
    (image as above, made before that step's update; the last call shows the final image).
    values: a list that gets the objective's value at every step, or None.
    """
    objective = narrowed(objective, model)  # the same objective, on only the branches it reads
    rng = np.random.default_rng(settings.seed)
    params = backend.to_device(init_params(settings.hw, settings.batch, settings.param, rng=rng,
                                           dtype=model.dtype), model.dtype)
    state = adam_init([params])
    bar = tqdm(total=settings.steps, desc="visualising", unit="step", file=sys.stderr,
               disable=not progress, leave=False)
    try:  # closed on Ctrl-C too, before the CLI's one line (the garbage collector would draw it after)
        for step in range(settings.steps):
            value, dparams, image = render_gradient(model, objective, params, settings, rng)
            if values is not None:
                values.append(value)
            if callback is not None and every and step % every == 0:
                callback(step, image)
            adam_step([params], [-dparams], state, lr=settings.lr)  # climb: descend on minus the gradient
            bar.set_postfix(objective=f"{value:.4g}")
            bar.update()
    finally:
        bar.close()
    image, _ = image_forward(params, settings.hw, settings.param, settings.decorrelate, settings.decay)
    if callback is not None and every:
        callback(settings.steps, image)
    return image


def visualize(objective, size=224, steps=512, param="fft", decorrelate=True, transforms=True, lr=0.05,
              batch=1, seed=0, model=None, progress=True, every=None, callback=None, values=None, decay=1.0):
    """What does a neuron want? The image that maximises ``objective``, as uint8 (N, H, W, 3).

    objective: an Objective (numdream.featvis.channel("mixed4", 97), ...; any algebra of them) or
        'LAYER:CHANNEL'. size: side of a square image, or (W, H). steps: Adam steps (512).
    param: 'fft' (a 1/f-scaled spectrum, Lucid's) or 'pixel'. decorrelate: optimise in ImageNet's
        decorrelated colour space. transforms: True for Lucid's standard set, False for none, or a
        sequence of numdream.featvis Pad / Jitter / RandomScale / RandomRotate.
    lr: Adam's learning rate (0.05, Lucid's). batch: images optimised together (for diversity).
    seed: the start and the transformations, bit for bit (None: a new one). model: a Model (default:
        InceptionV3). decay: the Fourier spectrum's scaling, 1 / f ** decay.
    every, callback: callback(step, uint8 (N, H, W, 3)) at step 0 and every ``every`` steps.
    values: a list that gets the objective's value at every step (to plot the climb), or None.
    An objective that stays exactly 0 reads a channel that is off after its ReLU on the whole
    image, so no gradient reaches the pixels: its ':pre_relu' layer has one (see stuck()).
    """
    model = model or load_model()
    objective = as_objective(objective)
    settings = Settings(hw=_hw(size), steps=steps, param=param, decorrelate=bool(decorrelate), decay=decay,
                        transforms=_transforms(transforms), lr=lr, batch=batch, seed=seed)
    check_settings(settings, model, objective)
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise NumdreamError(f"every must be a whole number of steps >= 1, got {every!r}")
    if callback is not None and not callable(callback):
        raise NumdreamError("callback must be callable as callback(step, images)")
    on_step = None if callback is None else (lambda step, image: callback(step, to_pixels(image)))
    return to_pixels(render(model, objective, settings, progress, every, on_step, values))


def stuck(values):
    """True if a visualisation's objective was exactly 0 at every step: nothing reached the pixels."""
    return bool(values) and all(v == 0 for v in values)


def stuck_note(objective):
    """One line for a user whose objective stayed 0 (see stuck())."""
    layers = [name for name in objective.layers if not name.endswith(":pre_relu")]
    hint = f"; {layers[0]}:pre_relu (--pre-relu) reads it before the ReLU" if layers else ""
    return (f"note: {objective!r} stayed 0 at every step: the unit is off after its ReLU on the whole "
            f"image, so no gradient reached the pixels{hint}")


def _hw(size):
    """224 -> (224, 224); (W, H) -> (H, W)."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return int(size), int(size)
    try:
        w, h = size
    except (TypeError, ValueError):
        raise NumdreamError(f"size must be a whole number or (width, height), got {size!r}") from None
    return h, w


def _transforms(transforms):
    if transforms is True:
        return STANDARD_TRANSFORMS
    if transforms is False or transforms is None:
        return ()
    return tuple(transforms)
