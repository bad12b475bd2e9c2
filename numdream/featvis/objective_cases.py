"""The gradient-check cases of the visualisation objectives and of the network's input map: each
term's pair, a weighted sum of terms over two layers (the algebra), and network_input, each with
its PyTorch twin, as FeatvisCases (see cases.py), so ``numdream gradcheck`` checks them too.

An objective's value is a number; here it is returned as a (1,) array so that the checks'
L = <y, dy> differentiates it like any op's output, and the backward scales by dy[0].
"""
from functools import partial

import numpy as np

from ..backend import get_array_module
from ..ops import softmax_backward, softmax_forward
from . import terms
from .cases import FeatvisCase, _dims, _torch
from .netinput import network_input_backward, network_input_forward
from .objectives import channel, direction, diversity, neuron

INCEPTION_V3 = dict(mean=(127.5, 127.5, 127.5), scale=1 / 127.5, channel_order="RGB")
CAFFE = dict(mean=(104.0, 117.0, 123.0), scale=1.0, channel_order="BGR")


def _as_array(value, like):
    """A Python number as a (1,) array on the device and in the dtype of ``like``."""
    return get_array_module(like).asarray([value], dtype=like.dtype)


def _scalar_pair(forward, backward):
    """A term pair (act -> (float, cache); (dvalue, cache) -> dact) as an op pair on (1,) outputs."""
    def forward_array(act):
        value, cache = forward(act)
        return _as_array(value, act), cache
    return forward_array, lambda dy, cache: backward(float(dy[0]), cache)


def _probability_pair(index):
    def forward(logits):
        probabilities, softmax_cache = softmax_forward(logits)
        value, cache = terms.channel_forward(probabilities, index)
        return value, (softmax_cache, cache)

    def backward(dvalue, cache):
        return softmax_backward(terms.channel_backward(dvalue, cache[1]), cache[0])
    return forward, backward


# --- torch twins -------------------------------------------------------------------------------

def _torch_members(t, batch):
    return t if batch is None else t[batch:batch + 1]


def _torch_channel(t, index, batch=None):
    return _torch_members(t, batch)[:, index].mean().reshape(1)


def _torch_neuron(t, index, y, x, batch=None):
    return _torch_members(t, batch)[:, index, y, x].mean().reshape(1)


def _torch_direction(t, vector, batch=None):
    torch, _ = _torch()
    v = torch.as_tensor(vector, dtype=t.dtype).reshape(1, -1, 1, 1)
    return (_torch_members(t, batch) * v).sum(dim=1).mean().reshape(1)


def _torch_diversity(t):
    """Lucid's double loop over ordered pairs, with torch's Gram matrices and norms."""
    torch, _ = _torch()
    n, c = t.shape[:2]
    features = t.reshape(n, c, -1)
    grams = features @ features.transpose(1, 2)
    norms = torch.sqrt(torch.clamp((grams * grams).sum(dim=(1, 2)), min=terms.GRAM_NORM_FLOOR ** 2))
    unit = grams / norms[:, None, None]
    total = sum((unit[i] * unit[j]).sum() for i in range(n) for j in range(n) if i != j)
    return (-total / (n * (n - 1))).reshape(1)


def _torch_probability(t, index):
    torch, _ = _torch()
    return torch.softmax(t, dim=1)[:, index].mean().reshape(1)


def _torch_network_input(t, mean, scale, channel_order):
    torch, _ = _torch()
    ordered = t.flip(1) if channel_order == "BGR" else t
    return (255 * ordered - torch.as_tensor(mean, dtype=t.dtype).reshape(1, 3, 1, 1)) * scale


# --- the cases ---------------------------------------------------------------------------------

def _term(op, shape, config, forward, backward, twin, eps=1e-3):
    return FeatvisCase(op, f"{_dims(shape)} {config}".strip(), [shape], shape,
                       _scalar_pair(forward, backward), twin, eps=eps)


def _channel(shape, index, batch=None):
    return _term("channel", shape, f"channel{index}" + (f" batch{batch}" if batch is not None else ""),
                 partial(terms.channel_forward, channel=index, batch=batch), terms.channel_backward,
                 partial(_torch_channel, index=index, batch=batch))


def _neuron(shape, index, y, x, batch=None):
    return _term("neuron", shape, f"channel{index} at ({y},{x})" + (f" batch{batch}" if batch is not None else ""),
                 partial(terms.neuron_forward, channel=index, y=y, x=x, batch=batch), terms.neuron_backward,
                 partial(_torch_neuron, index=index, y=y, x=x, batch=batch))


def _direction(shape, seed, batch=None):
    vector = np.random.default_rng(seed).standard_normal(shape[1])
    return _term("direction", shape, f"random vector (seed {seed})" + (f" batch{batch}" if batch is not None else ""),
                 partial(terms.direction_forward, vector=vector, batch=batch), terms.direction_backward,
                 partial(_torch_direction, vector=vector, batch=batch))


def _diversity(shape):
    return _term("diversity", shape, "", terms.diversity_forward, terms.diversity_backward, _torch_diversity,
                 eps=1e-5)  # a ratio of quadratics: not linear


def _probability(shape, index):
    forward, backward = _probability_pair(index)
    return _term("class_probability", shape, f"class{index}", forward, backward,
                 partial(_torch_probability, index=index), eps=1e-5)


def _network_input(shape, preprocess, label):
    config = f"{_dims(shape)} {label} {preprocess['channel_order']}"
    return FeatvisCase("network_input", config, [shape], shape,
                       (partial(network_input_forward, **preprocess), network_input_backward),
                       partial(_torch_network_input, **preprocess))


def _weighted_sum(shape_a, shape_b, objective, twin):
    """An objective over layers a and b: terms on one layer add their gradients, and each layer
    gets its own. twin(a, b): the same sum in torch."""
    def forward(act_a, act_b):
        value, cache = objective.forward({"a": act_a, "b": act_b})
        return _as_array(value, act_a), cache

    def backward(dy, cache):
        grads = objective.backward(cache, float(dy[0]))
        return [grads["a"], grads["b"]]

    config = f"{_dims(shape_a)} + {_dims(shape_b)}: {objective!r}".replace(f"<{shape_b[1]} values>", "v")
    return FeatvisCase("objective", config, [shape_a, shape_b], shape_a, (forward, backward), twin, eps=1e-5)


V = np.random.default_rng(7).standard_normal(5)


def _twin_mixed(a, b):
    h, w = b.shape[2:]
    return (_torch_channel(a, 1) - 0.5 * _torch_neuron(b, 2, h // 2, w // 2)
            + 0.25 * _torch_diversity(a) + _torch_direction(b, V) / 3)


def _twin_per_member(a, b):
    return -_torch_channel(a, 0, batch=1) + 2 * _torch_channel(a, 3, batch=0) - _torch_diversity(b) / 4


CASES = [
    _channel((1, 4, 5, 6), 2), _channel((3, 5, 4, 3), 4), _channel((3, 4, 5, 5), 0, batch=1),
    _neuron((1, 4, 5, 6), 3, 2, 3), _neuron((3, 4, 4, 5), 1, 0, 4, batch=2),
    _direction((1, 6, 5, 4), 0), _direction((3, 5, 3, 4), 1, batch=0),
    _diversity((2, 4, 5, 6)), _diversity((3, 5, 4, 3)), _diversity((4, 3, 1, 1)),
    _probability((1, 6, 1, 1), 2), _probability((3, 5, 1, 1), 4),
    _network_input((1, 3, 5, 6), INCEPTION_V3, "InceptionV3"), _network_input((3, 3, 4, 5), CAFFE, "Caffe"),
    _weighted_sum((3, 4, 5, 6), (3, 5, 3, 3),
                  channel("a", 1) - 0.5 * neuron("b", 2) + 0.25 * diversity("a") + direction("b", V) / 3,
                  _twin_mixed),
    _weighted_sum((2, 4, 4, 5), (2, 5, 3, 2),  # one term per batch member, and a negated diversity
                  -channel("a", 0, batch=1) + 2 * channel("a", 3, batch=0) - diversity("b") / 4,
                  _twin_per_member),
]

OPS = sorted({case.op for case in CASES})

