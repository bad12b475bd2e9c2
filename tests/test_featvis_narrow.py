"""A channel objective on an Inception concat reads the branch its channel comes from
(numdream.featvis.narrow): the same value and gradient, from fewer nodes."""
import numpy as np
import pytest

from numdream.featvis import channel, class_logit, direction, neuron
from numdream.featvis.narrow import channel_source, narrowed
from numdream.featvis.render import Settings, render
from numdream.model import Model
from tiny_model import tiny_spec

# tiny's concat 'mixed': b1_relu 4 channels, b2b_relu 4, b3c_relu 4, b4_relu 4


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec(), np.float64)


@pytest.mark.parametrize("layer, index, source", [
    ("mixed", 0, ("b1_relu", 0)), ("mixed", 5, ("b2b_relu", 1)), ("mixed", 15, ("b4_relu", 3)),
    ("mixed:pre_relu", 9, ("b3c", 1)),      # the pre-ReLU concat reads the convolutions
    ("b2b_relu", 2, ("b2b_relu", 2)),        # not a concat: as it is
    ("top", 4, ("top", 4)), ("mixed", 16, ("mixed", 16)),  # beyond the concat: left for prepare()
])
def test_channel_source_follows_concats_to_the_branch(tiny, layer, index, source):
    assert channel_source(tiny, layer, index) == source


def _value_and_gradient(model, objective, x):
    acts, tape = model.forward(x, list(objective.layers))
    value, cache = objective.forward(acts)
    return value, model.backward(objective.backward(cache), tape)


@pytest.mark.parametrize("objective", [
    channel("mixed:pre_relu", 9) - 0.5 * neuron("mixed", 5, batch=1),
    channel("mixed", 14) + neuron("mixed:pre_relu", 2, y=1, x=2),
])
def test_a_narrowed_objective_has_the_same_value_and_gradient_from_fewer_nodes(tiny, objective):
    x = np.random.default_rng(1).standard_normal((2, 3, 29, 31))
    narrow = narrowed(objective, tiny)
    assert not set(narrow.layers) & {"mixed", "mixed:pre_relu"}
    assert len(tiny.needed(narrow.layers)) < len(tiny.needed(objective.layers))
    value, grad = _value_and_gradient(tiny, objective, x)
    value_n, grad_n = _value_and_gradient(tiny, narrow, x)
    assert value_n == value
    np.testing.assert_array_equal(grad_n, grad)


def test_terms_that_read_every_channel_stay_on_their_layer(tiny):
    vector = np.arange(16.0)
    objective = direction("mixed", vector) + channel("top", 1)
    assert narrowed(objective, tiny).layers == ("mixed", "top")
    assert narrowed(class_logit("top", 1), tiny).layers == ("top",)


def test_render_gives_the_picture_the_whole_layer_gives(tiny, monkeypatch):
    """render narrows by itself; forcing the whole layer must give the same picture bit for bit."""
    from numdream.featvis import render as render_module
    settings = Settings(hw=(40, 40), steps=3, seed=0)
    objective = channel("mixed:pre_relu", 6)
    narrow = render(tiny, objective, settings, progress=False)
    monkeypatch.setattr(render_module, "narrowed", lambda obj, model: obj)
    whole = render(tiny, objective, settings, progress=False)
    np.testing.assert_array_equal(narrow, whole)


def test_on_the_bundled_model_in_float32_it_agrees_to_rounding():
    from numdream.model import load_model
    model = load_model()
    x = np.random.default_rng(2).standard_normal((1, 3, 139, 139)).astype(np.float32)
    objective = channel("mixed2", 70) + channel("mixed2:pre_relu", 250)
    narrow = narrowed(objective, model)
    assert narrow.layers == ("activation_22", "conv2d_26")  # mixed2's 1x1 branch, and its 5x5 one's conv
    value, grad = _value_and_gradient(model, objective, x)
    value_n, grad_n = _value_and_gradient(model, narrow, x)
    assert abs(value_n - value) <= 1e-5 * abs(value)
    assert np.abs(grad_n - grad).max() <= 1e-5 * np.abs(grad).max()
