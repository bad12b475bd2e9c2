"""Visualisation objectives: the algebra (weights, signs, gradients adding up per layer), the checks
against a model before any work, diversity's meaning, and class logits and probabilities on a model
with a classifier head. The pairs themselves are gradient-checked in test_featvis_grad.py through
the registry (numdream.featvis.objective_cases)."""
import numpy as np
import pytest

import numdream
from numdream.errors import LayerError, NumdreamError
from numdream.featvis import (Objective, as_objective, channel, class_logit, class_probability, direction,
                              diversity, neuron)
from numdream.model import Model
from test_model_head import head_spec
from tiny_model import tiny_spec

RNG = np.random.default_rng(0)
ACTS = {"mixed": RNG.standard_normal((2, 16, 5, 6)), "top": RNG.standard_normal((2, 6, 3, 3))}


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec(), np.float64)


def test_algebra_weights_terms_and_adds_gradients_per_layer():
    a, b = channel("mixed", 3), channel("mixed", 5)
    obj = a - 0.5 * b + 2 * neuron("top", 1) / 4
    assert repr(obj) == "channel('mixed', 3) - 0.5 * channel('mixed', 5) + 0.5 * neuron('top', 1)"
    assert obj.layers == ("mixed", "top")
    value, grads = obj(ACTS)
    mixed, top = ACTS["mixed"], ACTS["top"]
    assert value == pytest.approx(mixed[:, 3].mean() - 0.5 * mixed[:, 5].mean() + 0.5 * top[:, 1, 1, 1].mean())
    expected = np.zeros_like(mixed)
    expected[:, 3] = 1 / (2 * 5 * 6)
    expected[:, 5] = -0.5 / (2 * 5 * 6)
    np.testing.assert_allclose(grads["mixed"], expected, rtol=1e-15)
    assert grads["top"][:, 1, 1, 1] == pytest.approx([0.25, 0.25]) and np.count_nonzero(grads["top"]) == 2
    assert repr(-a) == "-channel('mixed', 3)" and (-a)(ACTS)[0] == pytest.approx(-a(ACTS)[0])
    assert repr(sum([a, b])) == "channel('mixed', 3) + channel('mixed', 5)"
    scaled = obj.backward(obj.forward(ACTS)[1], dvalue=3.0)["mixed"]
    np.testing.assert_allclose(scaled, 3 * expected, rtol=1e-15)


def test_the_algebra_refuses_what_is_not_a_number_or_an_objective():
    a = channel("mixed", 3)
    for bad in (lambda: a + 1, lambda: a * "2", lambda: a * a, lambda: a - 2, lambda: True * a):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(NumdreamError, match="finite number, got inf"):
        a * float("inf")
    with pytest.raises(NumdreamError, match="divide an objective by 0"):
        a / 0


def test_a_neuron_reads_the_centre_of_whatever_grid_it_gets():
    obj = neuron("mixed", 2)
    for shape in ((1, 16, 5, 6), (1, 16, 8, 7)):
        act = RNG.standard_normal(shape)
        assert obj({"mixed": act})[0] == act[0, 2, shape[2] // 2, shape[3] // 2]


def test_a_term_can_read_one_batch_member():
    obj = channel("mixed", 1, batch=1) - channel("mixed", 2, batch=0)
    value, grads = obj(ACTS)
    assert value == pytest.approx(ACTS["mixed"][1, 1].mean() - ACTS["mixed"][0, 2].mean())
    assert np.count_nonzero(grads["mixed"][0]) == 30 and (grads["mixed"][0, 2] < 0).all()
    assert (grads["mixed"][1, 1] > 0).all()


def test_direction_is_a_channel_when_the_vector_is_one_hot():
    one_hot = np.zeros(16)
    one_hot[7] = 1
    d, c = direction("mixed", one_hot)(ACTS), channel("mixed", 7)(ACTS)
    assert d[0] == pytest.approx(c[0]) and np.allclose(d[1]["mixed"], c[1]["mixed"])


def test_diversity_is_minus_one_for_copies_and_zero_for_disjoint_channels():
    act = np.abs(RNG.standard_normal((1, 4, 5, 5)))
    assert diversity("mixed")({"mixed": np.concatenate([act, 2 * act, act])})[0] == pytest.approx(-1)
    disjoint = np.zeros((2, 4, 5, 5))
    disjoint[0, :2], disjoint[1, 2:] = act[0, :2], act[0, 2:]
    value, grads = diversity("mixed")({"mixed": disjoint})
    assert value == pytest.approx(0, abs=1e-15)
    pairs = diversity("mixed")({"mixed": np.abs(RNG.standard_normal((3, 4, 5, 5)))})[0]
    assert -1 < pairs < 0  # non-negative features: every Gram matrix is non-negative, cosines >= 0


def test_climbing_diversity_makes_two_images_less_alike():
    act = np.abs(RNG.standard_normal((2, 4, 5, 5))) + 1.0
    obj = diversity("mixed")
    before = obj({"mixed": act})[0]
    for _ in range(20):
        value, grads = obj({"mixed": act})
        act = np.maximum(act + 0.1 * grads["mixed"] / np.abs(grads["mixed"]).max(), 0)
    assert obj({"mixed": act})[0] > before + 0.1


@pytest.mark.parametrize("objective, message", [
    (channel("mixd", 1), "unknown layer 'mixd'.*did you mean mixed"),
    (channel("mixed", 16), "channel 16 does not exist in layer 'mixed', which has channels 0 to 15"),
    (channel("mixed:pre_relu", 16), "channel 16 does not exist in layer 'mixed:pre_relu'"),
    (channel("mixed", 1, batch=2), "reads batch member 2, but the batch has 2 images"),
    (neuron("top", 1, y=9, x=0), r"position \(9, 0\) is outside layer 'top', whose grid is 3x3"),
    (direction("mixed", np.ones(5)), "layer 'mixed' has 16 channels, but the direction has 5 values"),
    (diversity("top") + channel("top", 1), "needs a batch of 2 or more, got 1"),
    (class_logit("mixed", 1), "the class objective needs a classifier layer"),
])
def test_prepare_names_what_is_wrong_before_any_work(tiny, objective, message):
    batch = 1 if "diversity" in repr(objective) else 2
    with pytest.raises(NumdreamError, match=message):
        objective.prepare(tiny, [(27, 27), (31, 31)], batch)


def test_prepare_accepts_what_fits(tiny):
    (channel("mixed:pre_relu", 15) + neuron("top", 5, y=2, x=2) + 0.5 * diversity("mixed")).prepare(
        tiny, [(27, 27), (31, 31)], 3)


@pytest.mark.parametrize("bad, message", [
    (lambda: channel("mixed", -1), "channel must be a whole number >= 0, got -1"),
    (lambda: channel("mixed", 1.5), "got 1.5"),
    (lambda: channel("", 1), "non-empty string"),
    (lambda: neuron("mixed", 1, y=-2), "row must be a whole number"),
    (lambda: direction("mixed", [1.0, float("nan")]), "finite numbers"),
    (lambda: as_objective("mixed4"), "'mixed4' is not LAYER:CHANNEL"),
    (lambda: as_objective(3), "got int"),
])
def test_bad_arguments_are_one_line_errors(bad, message):
    with pytest.raises(NumdreamError, match=message):
        bad()


def test_lucid_shorthand():
    assert repr(as_objective("mixed4:97")) == "channel('mixed4', 97)"
    assert repr(as_objective("mixed4:pre_relu:12")) == "channel('mixed4:pre_relu', 12)"
    obj = channel("a", 1)
    assert as_objective(obj) is obj and isinstance(obj, Objective)


def test_class_logit_and_probability_on_a_classifier_head():
    model = Model(head_spec(), np.float64)
    x = RNG.standard_normal((2, 3, 12, 12))
    logits = model.forward(x, ["logits"], keep_tape=False)[0]["logits"]
    for obj in (class_logit("logits", 3), class_probability("logits", 3)):
        obj.prepare(model, [(12, 12), (17, 17)], 2)  # a global pool: any size fits
    value, grads = class_logit("logits", 3)({"logits": logits})
    assert value == pytest.approx(logits[:, 3, 0, 0].mean())
    assert grads["logits"][:, 3].ravel() == pytest.approx([0.5, 0.5])
    p = np.exp(logits[:, :, 0, 0]) / np.exp(logits[:, :, 0, 0]).sum(axis=1, keepdims=True)
    value, grads = class_probability("logits", 3)({"logits": logits})
    assert value == pytest.approx(p[:, 3].mean())
    assert grads["logits"].sum() == pytest.approx(0, abs=1e-15)  # softmax: shifting every logit changes nothing
    with pytest.raises(NumdreamError, match="class 5 does not exist in layer 'logits'"):
        class_probability("logits", 5).prepare(model, [(12, 12)], 1)
    with pytest.raises(NumdreamError, match="does not fit"):  # a fixed head: 11 to 16 pixels only
        class_logit("grid_logits", 1).prepare(model, [(12, 12), (20, 20)], 1)


def test_the_dream_loop_takes_an_algebra_of_objectives(tiny):
    photo = (np.random.default_rng(2).uniform(60, 200, (40, 44, 3))).astype(np.uint8)
    obj = channel("mixed", 1) - 0.5 * channel("mixed", 2)
    assert not obj.whole_image and (obj + neuron("mixed", 1)).whole_image
    dreamed = numdream.dream(photo, model=tiny, objective=obj, octaves=1, steps=5, seed=0, progress=False)
    before, after = (obj(tiny.forward(tiny.preprocess(p), ["mixed"], keep_tape=False)[0])[0] for p in (photo, dreamed))
    assert after > before


def test_in_the_dream_loop_a_unit_that_a_smaller_octave_lacks_is_one_line(tiny):
    photo = (np.random.default_rng(2).uniform(60, 200, (80, 88, 3))).astype(np.uint8)
    h, w = tiny.output_shapes((80, 88), ["mixed"])["mixed"]
    corner = neuron("mixed", 1, h - 1, w - 1)  # there at the full size only
    with pytest.raises(NumdreamError, match="outside"):
        numdream.dream(photo, model=tiny, objective=corner, octaves=3, steps=1, seed=0, progress=False)
    dreamed = numdream.dream(photo, model=tiny, objective=neuron("mixed", 1, 0, 0), octaves=3, steps=1, seed=0,
                             progress=False)
    assert dreamed.shape == photo.shape
