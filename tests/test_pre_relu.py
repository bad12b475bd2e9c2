"""Pre-ReLU layers: 'X:pre_relu' reads a layer before its last ReLU, so no channel is ever dead."""
import numpy as np
import pytest
import torch

from numdream.errors import LayerError
from numdream.model import Model, load_model
from numdream.gradcheck import rel_error
from tiny_model import tiny_spec
from torch_reference import TorchTwin

BRANCH_CONVS = ["b1", "b2b", "b3c", "b4"]  # the convolutions under the ReLUs that 'mixed' joins


def test_which_layers_have_a_pre_relu_version():
    model = Model(tiny_spec())
    assert model.has_pre_relu("mixed") and model.has_pre_relu("b2b_relu")
    assert not model.has_pre_relu("conv1") and not model.has_pre_relu("norm1") and not model.has_pre_relu("top")
    info, plain = model.layer("mixed:pre_relu"), model.layer("mixed")
    assert (info.op, info.channels, info.stride) == (plain.op, plain.channels, plain.stride)
    alias, conv = model.layer("b2b_relu:pre_relu"), model.layer("b2b")
    assert (alias.name, alias.op, alias.channels, alias.stride) == ("b2b_relu:pre_relu", "conv2d", conv.channels, conv.stride)
    assert "mixed:pre_relu" not in model.layer_names  # `numdream layers` lists the file's nodes
    with pytest.raises(LayerError, match="unknown layer 'top:pre_relu'"):
        model.layer("top:pre_relu")


@pytest.mark.parametrize("fuse", [True, False])
def test_pre_relu_values_and_gradient_match_autograd(fuse):
    rng = np.random.default_rng(0)
    model = Model(tiny_spec(), np.float64, fuse=fuse)
    x = rng.standard_normal((2, 3, 33, 31))
    until = ["mixed:pre_relu", "mixed", "b2b_relu:pre_relu", "top"]
    acts, tape = model.forward(x, until)
    grads = {u: rng.standard_normal(acts[u].shape) for u in until}
    dx = model.backward(grads, tape)

    xt = torch.tensor(x, requires_grad=True)
    ref = TorchTwin(tiny_spec()).forward(xt, BRANCH_CONVS + ["mixed", "top"])
    ref["mixed:pre_relu"] = torch.cat([ref[c] for c in BRANCH_CONVS], dim=1)
    ref["b2b_relu:pre_relu"] = ref["b2b"]
    sum((ref[u] * torch.tensor(grads[u])).sum() for u in until).backward()
    for u in until:
        assert rel_error(acts[u], ref[u].detach()) <= 1e-12, u
    assert rel_error(dx, xt.grad) <= 1e-12
    assert (acts["mixed:pre_relu"] < 0).any() and (acts["mixed"] >= 0).all()
    np.testing.assert_array_equal(np.maximum(acts["mixed:pre_relu"], 0), acts["mixed"])


def test_a_channel_that_is_off_still_gets_a_gradient_before_its_relu():
    """Where the ReLU output is 0 everywhere no gradient reaches the pixels; before it, it does."""
    model = Model(tiny_spec(), np.float64)
    x = np.random.default_rng(1).standard_normal((1, 3, 33, 33))
    acts, _ = model.forward(x, ["mixed:pre_relu"], keep_tape=False)
    dead = int(np.argmax((acts["mixed:pre_relu"] < 0).all(axis=(0, 2, 3))))
    assert (acts["mixed:pre_relu"][:, dead] < 0).all()
    for layer, expect_gradient in (("mixed", False), ("mixed:pre_relu", True)):
        a, tape = model.forward(x, [layer])
        seed = np.zeros_like(a[layer])
        seed[:, dead] = 1.0
        assert bool(np.abs(model.backward({layer: seed}, tape)).max() > 0) == expect_gradient, layer


def test_inception_mixed4_pre_relu_is_its_branch_convolutions():
    model = load_model(dtype=np.float64)
    node = model.nodes["mixed4:pre_relu"]
    assert node.op == "concat" and node.inputs == [model.nodes[s].inputs[0] for s in model.nodes["mixed4"].inputs]
    assert all(model.nodes[s].op == "conv2d" for s in node.inputs)
    # mixed3's max-pool branch has no ReLU of its own: it enters as it is
    mixed3 = model.nodes["mixed3:pre_relu"].inputs
    assert mixed3[-1] == "max_pooling2d_3" and all(model.nodes[s].op == "conv2d" for s in mixed3[:-1])
    x = np.random.default_rng(2).uniform(-1, 1, (1, 3, 75, 75))
    acts, _ = model.forward(x, ["mixed4", "mixed4:pre_relu"], keep_tape=False)
    np.testing.assert_array_equal(np.maximum(acts["mixed4:pre_relu"], 0), acts["mixed4"])
