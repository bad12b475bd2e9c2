"""What the GoogLeNet converters added to the ops, where the registry cannot look: global pooling,
dense's flatten order, softmax's stability, and the refusals.

dense, softmax and grouped convolution are in the registry (numdream/opcases.py), so the registry
tests check their gradients against central differences, torch autograd and their loop oracles,
on NumPy and the CuPy stand-in (tests/test_ops_grad.py, test_ops_torch.py, test_ops_naive.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from numdream import nodes, ops
from numdream.gradcheck import rel_error
from numdream.modelfile import Node
from numdream.ops import naive


def test_dense_flattens_channel_major_like_caffe():
    """y[o] = sum over (c, h, w) of x[c, h, w] * w[o, (c * H + h) * W + w]: check one weight."""
    x = np.zeros((1, 2, 2, 3))
    x[0, 1, 0, 2] = 1.0  # c=1, h=0, w=2 -> index (1 * 2 + 0) * 3 + 2 = 8
    w = np.zeros((1, 12))
    w[0, 8] = 5.0
    y, _ = ops.dense_forward(x, w, np.zeros(1))
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == 5.0


def test_dense_refuses_the_wrong_number_of_values():
    with pytest.raises(ValueError, match="holds 12 values per image but the weights .* expect 8"):
        ops.dense_forward(np.zeros((1, 3, 2, 2)), np.zeros((4, 8)), None)


def test_softmax_is_stable_for_large_logits():
    x = np.array([1000.0, 999.0, -1000.0]).reshape(1, 3, 1, 1)
    y, _ = ops.softmax_forward(x)
    expected = np.exp([0.0, -1.0, -2000.0]) / np.exp([0.0, -1.0, -2000.0]).sum()
    np.testing.assert_allclose(y.ravel(), expected, rtol=1e-15)
    x32 = x.astype(np.float32)
    assert ops.softmax_forward(x32)[0].dtype == np.float32


@pytest.mark.parametrize("module", [ops, naive], ids=["fast", "naive"])
def test_grouped_conv_refuses_channels_that_do_not_split(module):
    with pytest.raises(ValueError, match="3 groups"):
        module.conv2d_forward(np.zeros((1, 4, 5, 5)), np.zeros((3, 1, 3, 3)), None, groups=3)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_global_pool_covers_the_whole_input(op):
    node = Node("pool", op, ["x"], {"global": True})
    x = np.random.default_rng(5).standard_normal((2, 3, 5, 7))
    y, cache = nodes.forward(node, [x])
    expected = x.max(axis=(2, 3)) if op == "max_pool2d" else x.mean(axis=(2, 3))
    np.testing.assert_allclose(y[:, :, 0, 0], expected, rtol=1e-14)
    assert nodes.output_hw(node, [(5, 7)]) == (1, 1) and nodes.spatial_stride(node) == 0
    xt = torch.tensor(x, requires_grad=True)
    twin = F.max_pool2d(xt, (5, 7)) if op == "max_pool2d" else F.avg_pool2d(xt, (5, 7))
    dy = np.random.default_rng(6).standard_normal(y.shape)
    twin.backward(torch.tensor(dy))
    assert rel_error(nodes.backward(node, dy, cache)[0], xt.grad) <= 1e-14
