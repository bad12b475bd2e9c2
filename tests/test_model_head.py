"""Graphs with a classifier head, grouped convolutions and global pooling: the model file checks
them, the executor runs them (fused and unfused) like a PyTorch twin, and sizes that do not fit
a head get a clear error."""
import numpy as np
import pytest
import torch

from numdream.errors import ModelFileError, NumdreamError
from numdream.model import Model
from numdream.modelfile import ModelSpec, Node, read_model, write_model
from torch_reference import TorchTwin


def _conv(rng, name, src, cin, cout, k, groups=1, stride=1):
    w = rng.standard_normal((cout, cin // groups, k, k)) * np.sqrt(2.0 / (cin // groups * k * k))
    attrs = {"stride": [stride, stride], "padding": "same"}
    if groups != 1:
        attrs["groups"] = groups
    return [Node(name, "conv2d", [src], attrs, {"w": w.astype(np.float32),
                                               "b": (rng.standard_normal(cout) * 0.1).astype(np.float32)}),
            Node(name + "/relu", "relu", [name])]


def _dense(rng, name, src, k, o):
    return Node(name, "dense", [src], {}, {"w": (rng.standard_normal((o, k)) / np.sqrt(k)).astype(np.float32),
                                         "b": (rng.standard_normal(o) * 0.1).astype(np.float32)})


def head_spec(seed=0):
    """conv 3x3/2 -> grouped 3x3 -> two grouped 1x1 siblings -> concat, then two heads:
    a global average pool -> dense -> softmax (any input size), and a 3x3/3 max pool whose
    2x2 grid (at 12x12 inputs) feeds a dense layer that reads 8 x 2 x 2 values."""
    rng = np.random.default_rng(seed)
    nodes = [Node("data", "input", [], {"channels": 3})]
    nodes += _conv(rng, "conv1", "data", 3, 8, 3, stride=2)
    nodes += _conv(rng, "conv2", "conv1/relu", 8, 8, 3, groups=2)
    nodes += _conv(rng, "branch_a", "conv2/relu", 8, 4, 1, groups=2)
    nodes += _conv(rng, "branch_b", "conv2/relu", 8, 4, 1, groups=4)
    nodes.append(Node("mixed", "concat", ["branch_a/relu", "branch_b/relu"], {"axis": 1}))
    nodes.append(Node("gap", "avg_pool2d", ["mixed"], {"global": True}))
    nodes.append(_dense(rng, "logits", "gap", 8, 5))
    nodes.append(Node("prob", "softmax", ["logits"], {"axis": 1}))
    nodes.append(Node("pool", "max_pool2d", ["mixed"], {"size": [3, 3], "stride": [3, 3],
                                                         "padding": "valid", "ceil_mode": False}))
    nodes.append(_dense(rng, "grid_logits", "pool", 32, 3))
    pre = {"channel_order": "BGR", "mean": [104.0, 117.0, 123.0], "scale": 1.0}
    return ModelSpec("head", nodes, pre, {"source": "tests/test_model_head.py"})


@pytest.mark.parametrize("fuse", [True, False])
def test_heads_match_autograd(fuse):
    rng = np.random.default_rng(1)
    until = ["mixed", "prob", "grid_logits"]
    model = Model(head_spec(), dtype=np.float64, fuse=fuse)
    x = rng.standard_normal((2, 3, 12, 12))
    acts, tape = model.forward(x, until)
    grads = {u: rng.standard_normal(acts[u].shape) for u in until}
    dx = model.backward(grads, tape)
    xt = torch.tensor(x, requires_grad=True)
    ref = TorchTwin(head_spec()).forward(xt, until)
    sum((ref[u] * torch.tensor(grads[u])).sum() for u in until).backward()
    for u in until:
        assert acts[u].shape == tuple(ref[u].shape)
        np.testing.assert_allclose(acts[u], ref[u].detach().numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert acts["prob"].shape == (2, 5, 1, 1)
    np.testing.assert_allclose(acts["prob"].sum(axis=1), 1.0, rtol=1e-14)


def test_layer_infos_of_the_head():
    model = Model(head_spec())
    assert (model.layer("logits").channels, model.layer("logits").stride) == (5, 0)
    assert (model.layer("prob").channels, model.layer("prob").stride) == (5, 0)
    assert (model.layer("gap").channels, model.layer("gap").stride) == (8, 0)
    assert (model.layer("branch_b").channels, model.layer("branch_b").stride) == (4, 2)


def test_a_global_head_fits_any_size_a_fixed_head_only_its_own():
    model = Model(head_spec())
    assert model.output_shapes((37, 23), ["prob"])["prob"] == (1, 1)
    assert model.output_shapes((12, 12), ["grid_logits"])["grid_logits"] == (1, 1)
    with pytest.raises(NumdreamError, match=r"input of 18x18 \(HxW\) does not fit head: dense layer "
                       r"'grid_logits' reads 32 values but its input 'pool' gives 8 x 3 x 3 = 72"):
        model.output_shapes((18, 18), ["grid_logits"])
    assert model.min_input_size(["grid_logits"]) == 11  # 11 to 16 give a 2x2 grid, 17 and up more


def test_head_round_trips_through_a_model_file(tmp_path):
    path = tmp_path / "head.h5"
    write_model(path, head_spec())
    nodes = {n.name: n for n in read_model(path).nodes}
    assert nodes["conv2"].attrs["groups"] == 2 and nodes["gap"].attrs == {"global": True}
    assert nodes["logits"].params["w"].shape == (5, 8) and nodes["logits"].op == "dense"


def _broken(change):
    spec = head_spec()
    change({n.name: n for n in spec.nodes})
    with pytest.raises(ModelFileError) as err:
        write_model("/nonexistent/never-written.h5", spec)
    return str(err.value)


@pytest.mark.parametrize("change, message", [
    (lambda n: n["logits"].params.update(w=np.zeros((5, 2, 4), np.float32)), "dense weight w has shape (5, 2, 4), expected 2-D"),
    (lambda n: n["logits"].params.update(b=np.zeros(4, np.float32)), "bias b has shape (4,), expected (5,)"),
    (lambda n: n["grid_logits"].params.update(w=np.zeros((3, 30), np.float32)),
     "reads 30 values, not a whole number of h x w grids of the 8 channels of input 'pool'"),
    (lambda n: n["conv2"].attrs.update(groups=4), "with 4 group(s) expects 16 input channels but input 'conv1/relu' has 8"),
    (lambda n: n["conv2"].attrs.update(groups=0), "attr 'groups' is 0, expected a positive int"),
    (lambda n: n["gap"].attrs.update({"global": "yes"}), "attr 'global' is 'yes', expected true or false"),
    (lambda n: n["gap"].attrs.update({"global": False}), "avg_pool2d needs attr 'size'"),
    (lambda n: n["prob"].attrs.update(axis=2), "attr 'axis' is 2, expected 1"),
])
def test_model_file_checks_the_new_ops(change, message):
    assert message in _broken(change)


def test_grouped_pointwise_siblings_are_not_stacked_into_one_gemm():
    """Two grouped 1x1 convs of one input must not run as one ungrouped GEMM."""
    from numdream.fast.plan import PointwiseGroupStep
    model = Model(head_spec(), dtype=np.float64)
    assert not any(isinstance(s, PointwiseGroupStep) for s in model._plan(["mixed"]))
