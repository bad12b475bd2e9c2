"""The Neuron objective tiles: its gradient is computed on an exact crop around the unit's receptive
field (numdream/receptive.py), so its memory does not grow with the image; the crop's value and
gradient equal the untiled ones (float64), for every geometry the graph can have."""
import numpy as np
import pytest

from numdream import objectives
from numdream.dream import objective_gradient
from numdream.errors import NumdreamError
from numdream.model import Model, load_model
from numdream.modelfile import ModelSpec, Node
from numdream.objectives import Neuron, Objective
from numdream.receptive import exact_crop, receptive_box
from test_model_head import head_spec
from tiny_model import tiny_spec

def odd_spec(seed=1):
    """Every window rule at once: 'same' convs of stride 2 (whose padding depends on the input
    size), explicit asymmetric padding, a 1x5 kernel, a ceil-mode max pool, a 'same' average
    pool that leaves padding out, a fan-out into a concat and an LRN."""
    rng = np.random.default_rng(seed)

    def conv(name, src, cin, cout, kh, kw, stride, padding):
        w = (rng.standard_normal((cout, cin, kh, kw)) * np.sqrt(2.0 / (cin * kh * kw))).astype(np.float32)
        return [Node(name, "conv2d", [src], {"stride": list(stride), "padding": padding},
                     {"w": w, "b": (rng.standard_normal(cout) * 0.1).astype(np.float32)}),
                Node(name + "_relu", "relu", [name])]
    nodes = [Node("input", "input", [], {"channels": 3})]
    nodes += conv("c1", "input", 3, 6, 3, 3, (2, 2), "same")
    nodes += conv("c2", "c1_relu", 6, 6, 1, 5, (1, 1), [0, 1, 2, 2])
    nodes.append(Node("p1", "max_pool2d", ["c2_relu"], {"size": [3, 3], "stride": [2, 2], "padding": "valid",
                                                         "ceil_mode": True}))
    nodes.append(Node("n1", "lrn", ["p1"], {"size": 3, "alpha": 1e-2, "beta": 0.75, "k": 1.0}))
    nodes += conv("a", "n1", 6, 4, 3, 3, (1, 1), "same")
    nodes.append(Node("ap", "avg_pool2d", ["n1"], {"size": [3, 3], "stride": [1, 1], "padding": "same",
                                                    "ceil_mode": False, "count_include_pad": False}))
    nodes.append(Node("cat", "concat", ["a_relu", "ap"], {"axis": 1}))
    nodes += conv("top", "cat", 10, 5, 3, 3, (2, 2), "same")
    pre = {"channel_order": "RGB", "mean": [127.5] * 3, "scale": 1 / 127.5}
    return ModelSpec("odd", nodes, pre, {"source": "tests/test_hostile_neuron.py"}, dream_layers={"cat": 1.0})


class Untiled(Objective):
    """The same neuron without its window: the whole image in one piece, the reference."""

    def __init__(self, neuron):
        super().__init__(neuron.layers)
        self.neuron = neuron
        self.name = "untiled"

    def __call__(self, acts):
        return self.neuron(acts)


CASES = [  # (spec, layers, channel (None: the most active there), (y, x) or None for the centre, image (H, W))
    (tiny_spec, "top", 2, (1, 2), (33, 37)),
    (tiny_spec, "top", 0, (0, 0), (65, 65)),
    (tiny_spec, "top", 5, None, (96, 131)),
    (tiny_spec, "top", 1, "last", (97, 130)),
    (tiny_spec, "mixed", None, None, (80, 80)),
    (tiny_spec, "mixed", None, "last", (71, 88)),
    (tiny_spec, "conv2_relu", None, (20, 3), (90, 60)),
    (tiny_spec, "pool1", 4, None, (64, 100)),
    (tiny_spec, "mixed:pre_relu", 9, (3, 4), (75, 75)),
    (tiny_spec, {"top": 1.0, "mixed": 0.5}, 3, None, (90, 110)),
    (odd_spec, "top", 1, None, (101, 99)),
    (odd_spec, "top", 4, (0, 0), (64, 64)),
    (odd_spec, "top", 2, "last", (77, 120)),
    (odd_spec, "cat", 8, None, (83, 95)),
    (odd_spec, "cat", 0, "last", (90, 91)),
    (odd_spec, "c2_relu", None, (11, 40), (70, 90)),
]


@pytest.mark.parametrize("make, layers, channel, cell, hw", CASES)
def test_the_cropped_gradient_is_the_untiled_one(make, layers, channel, cell, hw):
    model = Model(make(), dtype=np.float64)
    name = layers if isinstance(layers, str) else next(iter(layers))
    if cell == "last":
        gh, gw = model.output_shapes(hw, [name])[name]
        cell = (gh - 1, gw - 1)
    x = np.random.default_rng(hw[0] * 1000 + hw[1]).uniform(-1, 1, (1, 3, *hw))
    if channel is None:  # a unit that is on for this input, so the gradient is not all zero
        act = model.forward(x, [name], keep_tape=False)[0][name][0]
        y, x_ = cell or (act.shape[1] // 2, act.shape[2] // 2)
        channel = int(act[:, y, x_].argmax())
    neuron = Neuron(layers, channel, *(cell or (None, None)))
    neuron.prepare(model, hw)
    crop = neuron.window(model, hw)
    assert crop is not None
    value, grad = objective_gradient(model, x, neuron, tile_size=16)
    full_value, full_grad = objective_gradient(model, x, Untiled(neuron), tile_size=0)
    assert value == pytest.approx(full_value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, full_grad, rtol=1e-10, atol=1e-12)
    (y0, y1, x0, x1), _ = crop
    outside = np.ones(hw, bool)
    outside[y0:y1, x0:x1] = False
    # the gradient is zero outside the crop indeed, up to rounding: a Winograd tile of the fused
    # plan (numdream/fast/winograd.py) that straddles the crop's edge spreads float64 rounding,
    # 1e-15 of the largest value, over its outputs, where im2col left exact zeros
    assert np.abs(full_grad[0][:, outside]).max(initial=0) <= 1e-13 * np.abs(full_grad).max()
    assert np.abs(grad).max() > 0


def test_the_crop_does_not_grow_with_the_image():
    """Its size is the receptive field's (a model property): the same for a 2 and a 16 megapixel
    photo of the bundled InceptionV3, and far smaller than either. Shapes only, nothing allocated."""
    model = load_model()
    boxes = []
    for hw in [(1500, 1400), (4000, 4000)]:
        shapes = model.output_shapes(hw, ["mixed4"])
        cell = tuple(s // 2 for s in shapes["mixed4"])
        (y0, y1, x0, x1), _ = exact_crop(model, hw, {"mixed4": cell})
        boxes.append((y1 - y0, x1 - x0))
    (h1, w1), (h2, w2) = boxes
    assert abs(h1 - h2) <= 32 and abs(w1 - w2) <= 32  # the same up to the stride alignment
    assert h2 * w2 < 4000 * 4000 / 20


def test_the_receptive_box_is_clipped_to_the_image_and_a_dense_layer_sees_it_all(monkeypatch):
    model = Model(tiny_spec())
    assert receptive_box(model, (65, 65), {"top": (0, 0)})[::2] == (0, 0)
    head = Model(head_spec(), dtype=np.float64)
    assert exact_crop(head, (40, 44), {"logits": (0, 0)}) is None  # a global pool reads every pixel
    neuron = Neuron("logits", 3)
    neuron.prepare(head, (40, 44))
    assert neuron.window(head, (40, 44))[0] == (0, 40, 0, 44)  # so the neuron takes the whole image
    x = np.random.default_rng(5).uniform(-1, 1, (1, 3, 40, 44))
    value, grad = objective_gradient(head, x, neuron, tile_size=16)  # tiles would be wrong here
    full_value, full_grad = objective_gradient(head, x, Untiled(neuron), tile_size=0)
    assert value == pytest.approx(full_value, rel=1e-12) and np.allclose(grad, full_grad, rtol=1e-10, atol=1e-14)
    monkeypatch.setattr(objectives.neuron, "MAX_TILE_PIXELS", 30 * 30)  # and the whole image is bounded
    with pytest.raises(NumdreamError, match="runs the whole 44x40 image at once"):
        Neuron("logits", 3).prepare(head, (40, 44))
