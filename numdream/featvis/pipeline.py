"""Random transformations, composed: every step draws new parameters, applies them in order, and
records them in the cache, so the backward pass differentiates exactly the function that ran.

    image (N, 3, H, W) in [0, 1] -> pad 12 -> jitter 8 -> scale 0.9..1.1 -> rotate -10..10 deg
    -> jitter 4 -> the network                                              (STANDARD_TRANSFORMS)

A visualisation that survives these is a pattern the network sees at many positions, sizes and
angles, not one exact arrangement of pixels (Olah et al., "Feature Visualization", Distill 2017,
"transformation robustness").
"""
from collections import namedtuple

from .transforms import (crop_backward, crop_forward, pad_backward, pad_forward, rotate_backward,
                         rotate_forward, scale_backward, scale_forward)

Pad = namedtuple("Pad", "width value", defaults=(0.5,))  # a constant border, no randomness
Jitter = namedtuple("Jitter", "d")                       # crop d pixels off, at a random offset
RandomScale = namedtuple("RandomScale", "factors")       # resize by one factor drawn from the list
RandomRotate = namedtuple("RandomRotate", "degrees")     # rotate by one angle drawn from the list

Step = namedtuple("Step", "transform params cache")      # one transform as it ran
PipelineCache = namedtuple("PipelineCache", "steps")

# Lucid's standard_transforms (lucid/optvis/transform.py; Lucent copies them): pad 12 with grey,
# jitter 8, 11 scales from 0.9 to 1.1, angles -10..10 degrees with 0 listed five more times
# (so a step is unrotated 6 times in 26), jitter 4.
STANDARD_TRANSFORMS = (
    Pad(12, 0.5),
    Jitter(8),
    RandomScale(tuple(1 + (i - 5) / 50 for i in range(11))),
    RandomRotate(tuple(range(-10, 11)) + 5 * (0,)),
    Jitter(4),
)


def draw(transform, hw, rng):
    """The random parameters of one transform for an (H, W) input, from the numpy Generator rng.

    Pad: (); Jitter: (top, left) each uniform in 0..d (tf.image.random_crop's offsets);
    RandomScale: (factor,); RandomRotate: (degrees,), uniform over the list.
    """
    if isinstance(transform, Pad):
        return ()
    if isinstance(transform, Jitter):
        if transform.d >= min(hw):
            raise ValueError(f"jitter {transform.d} leaves nothing of a {hw[0]}x{hw[1]} image")
        return tuple(int(v) for v in rng.integers(0, transform.d + 1, size=2))
    if isinstance(transform, RandomScale):
        return (float(transform.factors[rng.integers(len(transform.factors))]),)
    if isinstance(transform, RandomRotate):
        return (float(transform.degrees[rng.integers(len(transform.degrees))]),)
    raise TypeError(f"not a transform: {transform!r}")


def apply_forward(transform, x, params):
    """One transform with fixed parameters (from draw): x (N, C, H, W) -> (y, cache)."""
    if isinstance(transform, Pad):
        return pad_forward(x, transform.width, transform.value)
    if isinstance(transform, Jitter):
        top, left = params
        h, w = x.shape[2:]
        return crop_forward(x, top, left, (h - transform.d, w - transform.d))
    if isinstance(transform, RandomScale):
        return scale_forward(x, params[0])
    if isinstance(transform, RandomRotate):
        return rotate_forward(x, params[0])
    raise TypeError(f"not a transform: {transform!r}")


_BACKWARD = {Pad: pad_backward, Jitter: crop_backward, RandomScale: scale_backward,
             RandomRotate: rotate_backward}


def pipeline_forward(x, transforms, rng):
    """Apply ``transforms`` in order, each with parameters drawn from ``rng`` now.

    x: (N, C, H, W); transforms: a sequence of Pad, Jitter, RandomScale, RandomRotate;
    rng: numpy.random.Generator (a seed gives the same draws bit for bit).
    Returns y: (N, C, H', W') (the size changes with pad, jitter and scale) and the cache, whose
    steps record every transform with the parameters it ran with.
    """
    steps = []
    for transform in transforms:
        params = draw(transform, x.shape[2:], rng)
        x, cache = apply_forward(transform, x, params)
        steps.append(Step(transform, params, cache))
    return x, PipelineCache(tuple(steps))


def pipeline_backward(dy, cache):
    """The steps in reverse, each through its own backward. dy: (N, C, H', W') -> dx: (N, C, H, W)."""
    for step in reversed(cache.steps):
        dy = _BACKWARD[type(step.transform)](dy, step.cache)
    return dy


def replay_forward(x, steps):
    """Run recorded steps again with their parameters (e.g. to compare two engines on one draw).

    x: (N, C, H, W); steps: PipelineCache.steps. Returns (y, PipelineCache).
    """
    out = []
    for step in steps:
        x, cache = apply_forward(step.transform, x, step.params)
        out.append(Step(step.transform, step.params, cache))
    return x, PipelineCache(tuple(out))
