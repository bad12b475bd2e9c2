"""What a visualisation maximises, one term at a time: each a forward/backward pair on one layer's
activation, with its cache explicit.

    value, cache = channel_forward(act, channel)     # act: (N, C, h, w) -> a Python float
    dact = channel_backward(dvalue, cache)           # -> (N, C, h, w), the gradient times dvalue

``objectives.py`` names the layers, checks the arguments against a model and adds terms up with
weights; here each term is a plain function of an array, gradient-checked like an op. A term reads
every batch member (``batch=None``, the mean over them, as Lucid's objectives do) or one of them
(``batch=i``), so one batch can hold images with different objectives.
"""
from collections import namedtuple

import numpy as np

from ..backend import get_array_module

MeanCache = namedtuple("MeanCache", "shape dtype xp index weights count")
DiversityCache = namedtuple("DiversityCache", "shape features grams norms")

# A Gram matrix of all zeros (a layer that is 0 everywhere on one image) has no direction;
# Lucid's tf.nn.l2_normalize floors the squared norm at 1e-10 there, and so does this.
GRAM_NORM_FLOOR = 1e-5


def _members(batch):
    """The batch members a term reads: a slice of all of them, or of the one member ``batch``."""
    return slice(None) if batch is None else slice(batch, batch + 1)


def _weighted_mean_forward(act, index, weights, batch):
    """mean over the chosen members and over the positions ``index`` selects of
    sum_c weights[c] * act[b, c, ...]: the shape every term below but diversity has.

    act: (N, C, h, w); index: (channels, rows, cols) as a tuple of slices/ints after the batch axis;
    weights: None (the selected values as they are) or a (C,) host vector (a direction).
    """
    xp = get_array_module(act)
    index = (_members(batch),) + index
    picked = act[index]
    if weights is not None:
        vector = xp.asarray(weights, dtype=act.dtype).reshape(1, -1, 1, 1)
        picked = (picked * vector).sum(axis=1)
    count = picked.size
    return float(picked.sum()) / count, MeanCache(act.shape, act.dtype, xp, index, weights, count)


def _weighted_mean_backward(dvalue, cache):
    """dact = dvalue / count at each value the mean read (times the direction's weight)."""
    xp = cache.xp
    dact = xp.zeros(cache.shape, dtype=cache.dtype)
    if cache.weights is None:
        dact[cache.index] = dvalue / cache.count
    else:
        vector = xp.asarray(cache.weights, dtype=cache.dtype).reshape(1, -1, 1, 1)
        dact[cache.index] = (dvalue / cache.count) * vector
    return dact


def channel_forward(act, channel, batch=None):
    """The mean of channel ``channel`` over all positions (and members): Lucid's ``channel``.

    act: (N, C, h, w) -> (value, cache). The gradient is 1 / (members * h * w) on that channel.
    """
    return _weighted_mean_forward(act, (channel, slice(None), slice(None)), None, batch)


def neuron_forward(act, channel, y, x, batch=None):
    """One unit: channel ``channel`` at grid position (y, x) (averaged over members).

    act: (N, C, h, w) -> (value, cache). The gradient is 1 / members at that one value.
    """
    return _weighted_mean_forward(act, (channel, y, x), None, batch)


def direction_forward(act, vector, batch=None):
    """A direction in channel space: the mean over positions of <act[b, :, i, j], vector>.

    act: (N, C, h, w); vector: (C,) host array -> (value, cache). The gradient at every position
    is vector / (members * h * w): a channel is the direction of one unit vector.
    """
    vector = np.asarray(vector, dtype=np.float64)
    if vector.shape != (act.shape[1],):
        raise ValueError(f"direction: a layer of {act.shape[1]} channels needs a vector of "
                         f"{act.shape[1]} values, got shape {vector.shape}")
    return _weighted_mean_forward(act, (slice(None), slice(None), slice(None)), vector, batch)


channel_backward = neuron_backward = direction_backward = _weighted_mean_backward


def diversity_forward(act):
    """Minus the mean cosine similarity of the batch members' Gram matrices (Lucid's diversity,
    averaged over the N (N - 1) ordered pairs): 0 for unrelated styles, -1 for one style N times.

        F_i = act[i] as (C, h*w),   G_i = F_i F_i^T  (C, C),   g_i = G_i / ||G_i||
        value = -1 / (N (N - 1)) * sum over i != j of <g_i, g_j>

    A Gram matrix keeps which channels fire together and forgets where, so two images of one
    channel that share a texture score as similar even when it sits elsewhere.
    act: (N, C, h, w), N >= 2 -> (value, cache).
    """
    xp = get_array_module(act)
    n, c = act.shape[:2]
    if n < 2:
        raise ValueError(f"diversity compares batch members: it needs a batch of 2 or more, got {n}")
    features = act.reshape(n, c, -1)
    grams = xp.matmul(features, features.transpose(0, 2, 1))           # (N, C, C)
    norms = xp.sqrt(xp.maximum((grams * grams).sum(axis=(1, 2)), GRAM_NORM_FLOOR ** 2))  # (N,)
    unit = grams / norms[:, None, None]
    total = unit.sum(axis=0)
    # sum over i != j of <g_i, g_j> = ||sum_i g_i||^2 - sum_i ||g_i||^2
    pairs = float((total * total).sum() - (unit * unit).sum())
    return -pairs / (n * (n - 1)), DiversityCache(act.shape, features, grams, norms)


def diversity_backward(dvalue, cache):
    """The chain rule through the three steps of the forward, in reverse.

        d value / d g_i = -2 / (N (N - 1)) * sum_{j != i} g_j         (each pair counted twice)
        d G_i = (d g_i - g_i <g_i, d g_i>) / ||G_i||                  (normalisation: the part of
                                                                       d g_i along g_i is removed)
        d F_i = (d G_i + d G_i^T) F_i = 2 d G_i F_i                   (d G_i is symmetric)

    dvalue: float -> dact: (N, C, h, w). Where a norm sits at its floor, the gradient is that of
    G_i / floor (as in Lucid's l2_normalize), hence the where().
    """
    xp = get_array_module(cache.grams)
    shape, features, grams, norms = cache
    n = grams.shape[0]
    unit = grams / norms[:, None, None]
    dunit = (-2.0 * dvalue / (n * (n - 1))) * (unit.sum(axis=0)[None] - unit)
    along = (unit * dunit).sum(axis=(1, 2))
    floored = (grams * grams).sum(axis=(1, 2)) <= GRAM_NORM_FLOOR ** 2
    along = xp.where(floored, 0.0, along).astype(grams.dtype)
    dgrams = (dunit - unit * along[:, None, None]) / norms[:, None, None]
    dfeatures = 2.0 * xp.matmul(dgrams, features)
    return dfeatures.reshape(shape)
