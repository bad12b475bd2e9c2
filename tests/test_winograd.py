"""Winograd convolutions (numdream/fast/winograd.py) against the readable numdream.ops.conv2d.

float64: within 1e-10 of the readable op for every tile size, padding and odd shape. float32:
F(2x2, 3x3) within 1e-5 (relative L2) on random data; F(4x4) and F(6x6), whose transforms have
larger coefficients, on the real InceptionV3 layers with the bundled photo's activations,
within the bounds documented below and in benchmarks/README.md.
"""
from fractions import Fraction

import numpy as np
import pytest

from numdream import layers, load_image, load_model, ops
from numdream.backend import to_device, to_host
from numdream.fast import winograd
from numdream.fast.winograd_transforms import POINTS, matrices, toom_cook
from numdream.gradcheck import rel_error, rel_l2_error
from numdream.images import sample_path

TILES = (2, 4, 6)
# float32 relative L2 error bounds, about twice the largest measured on the bundled photo's
# activations at the ten 3x3 stride-1 layers of InceptionV3 (forward / input gradient with a
# Gaussian dy): F(4x4) 7.1e-7 / 2.6e-6, F(6x6) 1.3e-6 / 4.9e-6; im2col: 2.2e-7 / 2.5e-7.
FLOAT32_BOUND = {2: 1e-5, 4: 5e-6, 6: 1e-5}


def _reference(x, w, b, padding, dy_seed=1):
    y, cache = ops.conv2d_forward(x, w, b, 1, padding)
    dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(x.dtype)
    return y, dy, ops.conv2d_backward(dy, cache)


def _winograd(x, w, b, padding, m, dy):
    y = winograd.conv2d_forward(x, winograd.transform_weights(w, m), b, padding, m)
    dx = winograd.conv2d_backward_input(dy, x.shape, winograd.transform_weights_for_backward(w, m), padding, m)
    return y, dx


@pytest.mark.parametrize("m, r", sorted(POINTS))
def test_matrices_compute_the_correlation(m, r):
    at, g, bt = matrices(m, r)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, k = rng.standard_normal(m + r - 1), rng.standard_normal(r)
        direct = [sum(k[j] * d[i + j] for j in range(r)) for i in range(m)]
        np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), direct, rtol=1e-12, atol=1e-12)


def test_f4_matrices_are_lavin_and_grays():
    """Points 0, 1, -1, 2, -2 and infinity give exactly the matrices of the paper (table 2)."""
    at, g, bt = matrices(4, 3)
    np.testing.assert_array_equal(bt, [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                                       [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]])
    np.testing.assert_allclose(g, [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], rtol=1e-15)
    np.testing.assert_array_equal(at, [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                                       [0, 1, -1, 8, -8, 1]])


def test_toom_cook_refuses_repeated_or_missing_points():
    with pytest.raises(ValueError, match="distinct"):
        toom_cook(2, 3, (0, 1, 1))
    with pytest.raises(ValueError, match="needs 5 distinct"):
        toom_cook(4, 3, (0, 1, -1))
    at, _, _ = toom_cook(2, 3, (0, Fraction(1, 2), -1))  # any distinct points work
    assert at.shape == (2, 4)


SHAPES = [  # (n, c, o, h, w, padding)
    (1, 3, 5, 7, 9, (1, 1, 1, 1)),       # TF 'same', odd sizes
    (2, 4, 3, 5, 6, (0, 0, 0, 0)),       # 'valid', batch 2
    (1, 2, 2, 3, 3, (1, 1, 1, 1)),       # smaller than one tile
    (1, 1, 1, 3, 3, (0, 0, 0, 0)),       # one output pixel, one channel
    (1, 1, 1, 13, 11, (0, 1, 2, 0)),     # asymmetric padding
    (2, 3, 4, 17, 12, (1, 0, 0, 1)),     # one-sided: top and right only
    (1, 2, 3, 9, 10, (2, 3, 0, 4)),      # padding beyond the kernel: the backward pass crops dy
]


@pytest.mark.parametrize("m", TILES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_float64_matches_the_readable_op(m, shape):
    n, c, o, h, w, padding = shape
    rng = np.random.default_rng(0)
    x, k, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3)), rng.standard_normal(o)
    y_ref, dy, dx_ref = _reference(x, k, b, padding)
    y, dx = _winograd(x, k, b, padding, m, dy)
    assert y.shape == y_ref.shape and dx.shape == x.shape
    assert y.dtype == np.float64 and dx.dtype == np.float64
    assert rel_error(y, y_ref) <= 1e-10
    assert rel_error(dx, dx_ref) <= 1e-10


@pytest.mark.parametrize("m", TILES)
def test_chunks_of_tile_rows_join_up(m, monkeypatch):
    """A scratch budget of a few tile rows splits the image into many chunks, last one partial."""
    monkeypatch.setattr(winograd, "SCRATCH_ELEMENTS", 4000)
    rng = np.random.default_rng(1)
    x, k = rng.standard_normal((2, 3, 31, 27)), rng.standard_normal((4, 3, 3, 3))
    y_ref, dy, dx_ref = _reference(x, k, None, (1, 1, 1, 1))
    y, dx = _winograd(x, k, None, (1, 1, 1, 1), m, dy)
    assert rel_error(y, y_ref) <= 1e-10 and rel_error(dx, dx_ref) <= 1e-10


def test_float32_f2_within_1e5_of_float64():
    rng = np.random.default_rng(2)
    x, k = rng.standard_normal((1, 32, 25, 23)), rng.standard_normal((40, 32, 3, 3)) / 17
    y_ref, dy, dx_ref = _reference(x, k, None, (1, 1, 1, 1))
    y, dx = _winograd(x.astype(np.float32), k.astype(np.float32), None, (1, 1, 1, 1), 2, dy.astype(np.float32))
    assert y.dtype == np.float32 and dx.dtype == np.float32
    assert rel_l2_error(y, y_ref) <= 1e-5
    assert rel_l2_error(dx, dx_ref) <= 1e-5


@pytest.fixture(scope="module")
def inception_layers():
    """Every 3x3 stride-1 convolution of InceptionV3 on the bundled photo's activations:
    (name, input a, padding, float64 y, dy, float64 dx)."""
    model = load_model()
    x = model.preprocess(load_image(sample_path()))
    convs = [node for node in model.nodes.values() if node.op == "conv2d"
             and node.params["w"].shape[2:] == (3, 3) and layers.pair_stride(node) == 1]
    acts = model.forward(x, [node.inputs[0] for node in convs])
    out = []
    for node in convs:
        a = acts[node.inputs[0]]
        padding = layers.window(node, a.shape[2:])[2]
        y_ref, dy, dx_ref = _reference(a.astype(np.float64), node.params["w"].astype(np.float64), None, padding)
        out.append((node, a, padding, y_ref, dy, dx_ref))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("m", TILES)
def test_float32_error_on_inception_layers(m, inception_layers):
    assert len(inception_layers) == 10
    for node, a, padding, y_ref, dy, dx_ref in inception_layers:
        y, dx = _winograd(a, node.params["w"], None, padding, m, dy.astype(np.float32))
        assert rel_l2_error(y, y_ref) <= FLOAT32_BOUND[m], node.name
        assert rel_l2_error(dx, dx_ref) <= FLOAT32_BOUND[m], node.name


@pytest.mark.parametrize("m", (2, 4))
def test_on_the_cupy_standin(m, cupy_standin):
    rng = np.random.default_rng(3)
    x, k, b = rng.standard_normal((2, 3, 11, 9)), rng.standard_normal((5, 3, 3, 3)), rng.standard_normal(5)
    y_ref, dy, dx_ref = _reference(x, k, b, (1, 1, 0, 1))
    y, dx = _winograd(to_device(x), to_device(k), to_device(b), (1, 1, 0, 1), m, to_device(dy))
    assert isinstance(y, cupy_standin.ndarray) and isinstance(dx, cupy_standin.ndarray)
    assert rel_error(to_host(y), y_ref) <= 1e-10 and rel_error(to_host(dx), dx_ref) <= 1e-10


def test_weights_that_do_not_fit_are_refused():
    x, k = np.zeros((1, 3, 8, 8)), np.zeros((4, 3, 3, 3))
    with pytest.raises(ValueError, match="do not fit"):
        winograd.conv2d_forward(x, winograd.transform_weights(k, 2), None, (1, 1, 1, 1), 4)
    with pytest.raises(ValueError, match="does not fit an input"):
        winograd.conv2d_forward(np.zeros((1, 3, 1, 8)), winograd.transform_weights(k, 2), None, (0, 0, 0, 0), 2)
    with pytest.raises(ValueError, match="no Winograd points"):
        winograd.transform_weights(k, 3)
