"""What the GoogLeNet converters added to the ops: grouped convolution, global pooling, and the
classifier head's details.

dense and softmax are in the gradcheck registry (numdream/gradcheck_cases.py), so the registry
tests check them against central differences, torch autograd and their loop oracles. Grouped
convolution is checked here the same way (float64, NumPy and the CuPy stand-in), against the
oracle naive.conv2d_forward(..., groups=)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from numdream import layers, ops
from numdream.backend import get_array_module, to_device
from numdream.gradcheck import FD_TOL, TORCH_TOL, check_op, compare_with_torch, rel_error
from numdream.modelfile import Node
from numdream.ops import naive


def _inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _grouped(groups, stride, padding, ops_=ops):
    return (lambda x, w, b: ops_.conv2d_forward(x, w, b, stride, padding, groups=groups),
            lambda dy, cache: list(ops_.conv2d_backward(dy, cache, weights=True)))


def _torch_grouped(groups, stride, padding):
    t, b_, l, r = padding
    return lambda x, w, b: F.conv2d(F.pad(x, (l, r, t, b_)), w, b, stride=stride, groups=groups)


# name -> (pair maker taking ops or naive, input shapes [x, w, b], torch twin)
CASES = {
    "conv 2 groups 3x3 s1 pad1": (lambda o: _grouped(2, (1, 1), (1, 1, 1, 1), o),
                                  [(2, 4, 6, 6), (6, 2, 3, 3), (6,)], _torch_grouped(2, (1, 1), (1, 1, 1, 1))),
    "conv 3 groups 1x1": (lambda o: _grouped(3, (1, 1), (0, 0, 0, 0), o),
                          [(1, 6, 4, 5), (3, 2, 1, 1), (3,)], _torch_grouped(3, (1, 1), (0, 0, 0, 0))),
    "conv 2 groups 5x5 s2 asymmetric": (lambda o: _grouped(2, (2, 2), (1, 2, 2, 1), o),
                                        [(1, 4, 9, 8), (4, 2, 5, 5), (4,)], _torch_grouped(2, (2, 2), (1, 2, 2, 1))),
}


@pytest.mark.parametrize("name", CASES)
def test_backward_matches_central_differences(name, xp):
    make, shapes, _ = CASES[name]
    forward, backward = make(ops)
    inputs = [to_device(a) for a in _inputs(shapes, seed=0)]
    result = check_op(forward, backward, inputs, eps=1e-5, directions=2)
    assert result.elementwise <= FD_TOL and result.directional <= FD_TOL, f"{name}: {result}"


@pytest.mark.parametrize("name", CASES)
def test_matches_pytorch_autograd(name, xp):
    make, shapes, twin = CASES[name]
    forward, backward = make(ops)
    inputs = [to_device(a) for a in _inputs(shapes, seed=1)]
    result = compare_with_torch(forward, backward, inputs, twin)
    assert result.forward <= TORCH_TOL["float64"] and result.backward <= TORCH_TOL["float64"], result


@pytest.mark.parametrize("name", CASES)
def test_fast_matches_naive(name, xp):
    make, shapes, _ = CASES[name]
    host = _inputs(shapes, seed=2)
    forward, backward = make(ops)
    y, cache = forward(*(to_device(a) for a in host))
    assert get_array_module(y) is xp
    naive_forward, naive_backward = make(naive)
    y_naive, cache_naive = naive_forward(*host)
    dy = np.random.default_rng(3).standard_normal(y_naive.shape)
    assert rel_error(y, y_naive) <= 1e-12
    for g, g_naive in zip(backward(to_device(dy), cache), naive_backward(dy, cache_naive)):
        assert get_array_module(g) is xp
        assert rel_error(g, g_naive) <= 1e-12


@pytest.mark.parametrize("name", CASES)
def test_naive_matches_central_differences(name):
    make, shapes, _ = CASES[name]
    result = check_op(*make(naive), _inputs(shapes, seed=4), eps=1e-5, directions=2, elementwise=False)
    assert result.directional <= FD_TOL, result


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


def test_grouped_conv_refuses_channels_that_do_not_split():
    with pytest.raises(ValueError, match="3 groups"):
        ops.conv2d_forward(np.zeros((1, 4, 5, 5)), np.zeros((3, 1, 3, 3)), None, groups=3)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_global_pool_covers_the_whole_input(op):
    node = Node("pool", op, ["x"], {"global": True})
    x = np.random.default_rng(5).standard_normal((2, 3, 5, 7))
    y, cache = layers.forward(node, [x])
    expected = x.max(axis=(2, 3)) if op == "max_pool2d" else x.mean(axis=(2, 3))
    np.testing.assert_allclose(y[:, :, 0, 0], expected, rtol=1e-14)
    assert layers.output_hw(node, [(5, 7)]) == (1, 1) and layers.pair_stride(node) == 0
    xt = torch.tensor(x, requires_grad=True)
    twin = F.max_pool2d(xt, (5, 7)) if op == "max_pool2d" else F.avg_pool2d(xt, (5, 7))
    dy = np.random.default_rng(6).standard_normal(y.shape)
    twin.backward(torch.tensor(dy))
    assert rel_error(layers.backward(node, dy, cache)[0], xt.grad) <= 1e-14
