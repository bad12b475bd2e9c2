"""Every objective's gradient, backpropagated to the pixels, against central differences (float64)."""
import numpy as np
import pytest

from numdream.dream import objective_gradient
from numdream.errors import LayerError, NumdreamError
from numdream.model import Model
from numdream.objectives import Channel, Guide, L2, Mean, Neuron, make_objective
from tiny_model import tiny_spec

RNG = np.random.default_rng(7)
GUIDE = RNG.integers(0, 256, (29, 35, 3), dtype=np.uint8)


def _objectives():
    return [
        L2("mixed"),
        L2({"mixed": 1.0, "top": 1.5}),
        Mean(["norm1", "top"]),
        Channel("mixed", [1, 5, 9]),
        Neuron("top", 2, 1, 2),
        Guide({"mixed": 1.0, "top": 0.5}, GUIDE),
    ]


@pytest.mark.parametrize("objective", _objectives(), ids=lambda o: f"{o.name}-{'+'.join(o.layers)}")
def test_objective_gradient_matches_central_differences(objective):
    model = Model(tiny_spec(), dtype=np.float64)
    x = RNG.uniform(-1, 1, (1, 3, 33, 37))
    objective.prepare(model, (33, 37))
    _, grad = objective_gradient(model, x, objective)

    def value(z):
        return objective(model.forward(z, list(objective.layers), keep_tape=False)[0])[0]

    eps = 1e-6
    for _ in range(3):
        v = RNG.standard_normal(x.shape)
        numeric = (value(x + eps * v) - value(x - eps * v)) / (2 * eps)
        analytic = float((grad * v).sum())
        assert abs(numeric - analytic) <= 1e-7 * max(abs(numeric), abs(analytic), 1e-3)
    assert np.abs(grad).max() > 0


def test_weights_scale_each_layer_gradient():
    model = Model(tiny_spec(), dtype=np.float64)
    x = RNG.uniform(-1, 1, (1, 3, 33, 33))
    v1, g1 = objective_gradient(model, x, L2({"mixed": 1.0}))
    v2, g2 = objective_gradient(model, x, L2({"mixed": 2.5}))
    assert v2 == pytest.approx(2.5 * v1, rel=1e-12)
    # atol: values that cancel to ~1e-14 inside a Winograd tile (numdream/fast/winograd.py) carry
    # rounding of the tile's largest terms, not 1e-12 of their own size
    np.testing.assert_allclose(g2, 2.5 * g1, rtol=1e-12, atol=1e-12 * np.abs(g2).max())


def test_neuron_gradient_is_its_receptive_field():
    """A top-layer unit only sees part of the image: its gradient is zero outside that window."""
    model = Model(tiny_spec(), dtype=np.float64)
    x = RNG.uniform(-1, 1, (1, 3, 65, 65))
    _, grad = objective_gradient(model, x, Neuron("top", 0, 0, 0))
    rows, cols = np.nonzero(np.abs(grad[0]).sum(axis=0))
    assert rows.max() < 40 and cols.max() < 40 and rows.min() == 0


def test_make_objective_names_and_errors():
    assert isinstance(make_objective("l2", "mixed"), L2)
    assert make_objective("channel", "mixed", channels=[1]).channels == [1]
    for name, message in [("nope", "valid objectives are l2, mean, channel, neuron, guide"),
                          ("channel", "needs channels"), ("neuron", "needs a unit"),
                          ("guide", "needs a guide image")]:
        with pytest.raises(NumdreamError, match=message):
            make_objective(name, "mixed")


def test_bad_channel_and_position_are_named():
    model = Model(tiny_spec())
    with pytest.raises(LayerError, match="channel 16 does not exist in layer 'mixed', which has channels 0 to 15"):
        Channel("mixed", [16]).prepare(model, (33, 33))
    with pytest.raises(LayerError, match=r"position \(9, 0\) is outside layer 'top'"):
        Neuron("top", 0, 9, 0).prepare(model, (33, 33))
