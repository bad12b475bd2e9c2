"""The fast ops against the loop-based oracles in numdream.ops.naive, and the oracles against
oracles of their own: central differences, PyTorch autograd in float64, and hand-computed
examples (tie rule, ceil mode, count_include_pad). No gradient is compared with one computed by
the same code, so each test fails if the code under it is wrong.

torch is imported at the top on purpose: without it this module errors rather than skips."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from numdream import ops
from numdream.backend import get_array_module, to_device, to_host
from numdream.gradcheck import FD_TOL, TORCH_TOL, rel_error
from numdream.opcases import OP_CASES as CASES, check_case, compare_case_with_torch
from numdream.ops import naive
from numdream.ops.geometry import out_size
from numdream.ops.naive.lrn import _lrn_window
from numdream.ops.naive.windows import window_starts


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fast_matches_naive(case, xp):
    """Forward and every gradient, the fast op on the backend under test, the oracle on the host."""
    host = case.inputs(seed=2)
    (forward, backward), (naive_forward, naive_backward) = case.pair(), case.pair(oracle=True)
    y, cache = forward(*(to_device(x) for x in host))
    assert get_array_module(y) is xp, "the fast op left the device"
    y_naive, cache_naive = naive_forward(*host)
    dy = np.random.default_rng(3).standard_normal(y_naive.shape)
    grads = backward(to_device(dy), cache)
    grads_naive = naive_backward(dy, cache_naive)
    assert rel_error(y, y_naive) <= 1e-12
    assert len(grads) == len(grads_naive)
    for g, g_naive in zip(grads, grads_naive):
        assert get_array_module(g) is xp
        assert rel_error(g, g_naive) <= 1e-12


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_naive_matches_central_differences(case):
    result = check_case(case, seed=4, elementwise=False, directions=2, oracle=True)
    assert result.directional <= FD_TOL, result


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_naive_matches_pytorch_autograd(case):
    """The oracle's forward and every gradient against torch in float64 (an oracle that agreed
    with itself only, like the fast op mirroring its mistake, would fail here)."""
    result = compare_case_with_torch(case, "float64", seed=5, oracle=True)
    assert result.forward <= TORCH_TOL["float64"], result
    assert result.backward <= TORCH_TOL["float64"], result


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fast_ops_keep_float32(case, xp):
    inputs = [to_device(x) for x in case.inputs(seed=0, dtype="float32")]
    forward, backward = case.pair()
    y, cache = forward(*inputs)
    assert y.dtype == np.float32
    for g in backward(to_device(np.ones(y.shape, dtype=np.float32)), cache):
        assert g.dtype == np.float32


def _conv_inputs_and_torch_gradients(groups):
    """x, w, b, dy of a stride-2 conv with padding (0, 1, 1, 1), and torch's (dx, dw, db) for them."""
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s) for s in [(2, 4, 6, 5), (6, 4 // groups, 3, 3), (6,)])
    dy = rng.standard_normal((2, 6, 3, 3))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    F.conv2d(F.pad(xt, (1, 1, 0, 1)), wt, bt, stride=2, groups=groups).backward(torch.tensor(dy))
    return (x, w, b, dy), [t.grad.numpy() for t in (xt, wt, bt)]


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_backward_gives_dx_alone_or_with_dw_db(groups, xp):
    """weights=False returns dx alone (DeepDream's path), weights=True (dx, dw, db): each is torch's."""
    (x, w, b, dy), expected = _conv_inputs_and_torch_gradients(groups)
    x, w, b, dy = (to_device(a) for a in (x, w, b, dy))
    _, cache = ops.conv2d_forward(x, w, b, stride=2, padding=(0, 1, 1, 1), groups=groups)
    dx = ops.conv2d_backward(dy, cache)
    assert get_array_module(dx) is xp and dx.shape == x.shape
    assert rel_error(dx, expected[0]) <= TORCH_TOL["float64"]
    for got, want in zip(ops.conv2d_backward(dy, cache, weights=True), expected, strict=True):
        assert got.shape == want.shape and rel_error(got, want) <= TORCH_TOL["float64"]


@pytest.mark.parametrize("groups", [1, 2])
def test_naive_conv_backward_gives_dx_alone_or_with_dw_db(groups):
    (x, w, b, dy), expected = _conv_inputs_and_torch_gradients(groups)
    _, cache = naive.conv2d_forward(x, w, b, stride=2, padding=(0, 1, 1, 1), groups=groups)
    dx = naive.conv2d_backward(dy, cache)
    assert isinstance(dx, np.ndarray) and rel_error(dx, expected[0]) <= TORCH_TOL["float64"]
    for got, want in zip(naive.conv2d_backward(dy, cache, weights=True), expected, strict=True):
        assert got.shape == want.shape and rel_error(got, want) <= TORCH_TOL["float64"]


@pytest.mark.parametrize("module", [ops, naive], ids=["fast", "naive"])
def test_max_pool_ties_go_to_the_first_maximum(module):
    """All-equal windows (ReLU's zeros): each window's gradient goes to its top-left pixel only."""
    x = np.zeros((1, 1, 4, 4))
    y, cache = module.max_pool2d_forward(x, 2, 1)
    dx = to_host(module.max_pool2d_backward(np.ones(y.shape), cache))
    expected = np.zeros((4, 4))
    expected[:3, :3] = 1  # window (i, j) starts at, and sends its gradient to, pixel (i, j)
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("module", [ops, naive], ids=["fast", "naive"])
def test_max_pool_padding_never_wins(module):
    """Padding counts as -inf: with all-negative inputs every window still picks an input pixel
    (zero padding would win every window and swallow the gradient)."""
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y, cache = module.max_pool2d_forward(x, 3, 2, padding=1)
    np.testing.assert_array_equal(to_host(y)[0, 0], [[-1, -2], [-4, -5]])
    dx = to_host(module.max_pool2d_backward(np.ones(y.shape), cache))
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("module", [ops, naive], ids=["fast", "naive"])
def test_avg_pool_counts_explicit_padding_but_not_the_ceil_overhang(module):
    """4x4 ones, 3x3 windows, stride 2, padding 1, ceil mode: windows start at -1, 1 and 3.
    Per axis they cover 2, 3, 1 input pixels and 3, 3, 2 pixels of input or explicit padding
    (the last window's third pixel is ceil mode's overhang and never counts)."""
    x = np.ones((1, 1, 4, 4))
    inside, padded = np.array([2, 3, 1]), np.array([3, 3, 2])
    y, _ = module.avg_pool2d_forward(x, 3, 2, 1, count_include_pad=True, ceil_mode=True)
    np.testing.assert_allclose(to_host(y)[0, 0], np.outer(inside, inside) / np.outer(padded, padded))
    y, _ = module.avg_pool2d_forward(x, 3, 2, 1, count_include_pad=False, ceil_mode=True)
    np.testing.assert_allclose(to_host(y)[0, 0], np.ones((3, 3)))


def test_ceil_mode_examples():
    assert window_starts(7, 2, 2, 0, 0, ceil_mode=False) == [0, 2, 4]
    assert window_starts(7, 2, 2, 0, 0, ceil_mode=True) == [0, 2, 4, 6]  # overhangs by one
    # the next window would start at 5, in the bottom padding: it is dropped
    assert window_starts(5, 2, 2, 1, 1, ceil_mode=True) == [-1, 1, 3]


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_out_size_counts_the_naive_windows(ceil_mode):
    for size in range(1, 12):
        for k in range(1, 6):
            for stride in range(1, 4):
                for before in range(0, k // 2 + 1):
                    for after in range(0, k // 2 + 1):
                        if size + before + after < k:
                            continue
                        starts = window_starts(size, k, stride, before, after, ceil_mode)
                        assert out_size(size, k, stride, before, after, ceil_mode) == len(starts)


def test_same_padding_follows_tensorflow():
    assert ops.same_padding((8, 8), 3, 2) == (0, 1, 0, 1)    # output 4: one extra pixel, bottom/right
    assert ops.same_padding((9, 9), 3, 2) == (1, 1, 1, 1)
    assert ops.same_padding((10, 10), 7, 2) == (2, 3, 2, 3)
    assert ops.same_padding((224, 224), 7, 2) == (2, 3, 2, 3)
    assert ops.same_padding((6, 8), (1, 7), 2) == (0, 0, 2, 3)
    assert ops.same_padding((5, 5), 1, 2) == (0, 0, 0, 0)


def test_naive_lrn_window_is_pytorchs():
    """Even sizes reach one channel further below than above: [c - size//2, c + (size-1)//2]."""
    assert list(_lrn_window(3, 4, 8)) == [1, 2, 3, 4]
    assert list(_lrn_window(0, 5, 8)) == [0, 1, 2]
    assert list(_lrn_window(7, 5, 8)) == [5, 6, 7]
