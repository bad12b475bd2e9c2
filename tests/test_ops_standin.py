"""The CuPy stand-in must catch what real CuPy would: host arrays and np. calls reaching device code."""
import numpy as np
import pytest

import fakecupy
from numdream import ops
from numdream.backend import get_array_module, to_device, to_host
from numdream.gradcheck import check_op
from numdream.ops import naive


@pytest.fixture
def a(cupy_standin):
    return to_device(np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("leak", [
    lambda a: np.asarray(a),
    lambda a: np.array(a),
    lambda a: a + np.ones(3),
    lambda a: np.ones(3) * a,
    lambda a: np.maximum(a, 0),
    lambda a: np.sum(a),
    lambda a: np.concatenate([a, a]),
    lambda a: fakecupy.maximum(a, np.zeros(3)),
])
def test_numpy_reaching_a_device_array_raises(a, leak):
    with pytest.raises(TypeError):
        leak(a)


def test_scalars_mix_and_get_copies_to_host(a):
    y = 2.0 * a + np.float64(1.0) - np.array(0.5) ** 1
    assert isinstance(y, fakecupy.ndarray) and get_array_module(y) is fakecupy
    host = y.get()
    assert type(host) is np.ndarray
    np.testing.assert_array_equal(host, 2 * np.arange(6.0).reshape(2, 3) + 0.5)
    np.testing.assert_array_equal(to_host(a.T), np.arange(6.0).reshape(2, 3).T)


def _leaky_relu_forward(x):
    return np.maximum(x, 0), x  # the bug: np instead of xp


def test_a_stray_np_call_fails_an_op_test_on_the_standin(cupy_standin):
    """The same leaky op passes on NumPy and fails on the stand-in: that is the point of it."""
    def backward(dy, x):
        return dy * (x > 0)
    host = np.linspace(-1, 1, 12).reshape(1, 1, 3, 4) + 0.05
    with pytest.raises(TypeError):
        check_op(_leaky_relu_forward, backward, [to_device(host)], directions=1)
    assert check_op(_leaky_relu_forward, backward, [host], directions=1).passed()


def test_naive_ops_refuse_device_arrays(a):
    with pytest.raises(TypeError):
        naive.relu_forward(a)


def test_fast_op_on_the_standin_returns_device_arrays(cupy_standin):
    x = to_device(np.random.default_rng(0).standard_normal((1, 2, 5, 5)))
    y, cache = ops.max_pool2d_forward(x, 3, 2, padding=1, ceil_mode=True)
    dx = ops.max_pool2d_backward(fakecupy.ones(y.shape), cache)
    assert isinstance(y, fakecupy.ndarray) and isinstance(dx, fakecupy.ndarray)
