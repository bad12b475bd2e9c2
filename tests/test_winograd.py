"""Winograd convolutions (numdream/fast/winograd.py) against the readable numdream.ops.conv2d.

float64: within 1e-10 of the readable op for every kernel, tile size, padding and odd shape.
float32: F(2x2, 3x3) within 1e-5 (relative L2) on random data; every tile size on the real
InceptionV3 layers with the bundled photo's activations, within the bounds documented below
and in benchmarks/README.md (the larger tiles have larger transform coefficients).
"""
import importlib
import os
from fractions import Fraction

import numpy as np
import pytest

from numdream import load_image, load_model, nodes, ops
from numdream.backend import to_device, to_host
from numdream.fast import winograd
from numdream.fast.winograd_transforms import POINTS, exact_toom_cook, flip_permutation, matrices, toom_cook
from numdream.gradcheck import rel_error, rel_l2_error
from numdream.images import sample_path

TILES = {(3, 3): (2, 4, 6), (1, 7): (2, 4, 6), (7, 1): (2, 4, 6), (5, 5): (2, 4)}  # kernel -> output tiles
KERNEL_TILES = [(k, m) for k, ms in TILES.items() for m in ms]
# float32 relative L2 error bounds, (kernel, m) -> bound: about twice the largest error measured
# on the bundled photo's activations at every such stride-1 layer of InceptionV3 (forward / input
# gradient of a Gaussian dy); im2col's is 1.5e-7 to 2.5e-7 on all of them.
#   3x3: F(2x2) 1.5e-7 / 4.1e-7, F(4x4) 1.1e-6 / 3.2e-6, F(6x6) 1.3e-6 / 4.9e-6
#   1x7, 7x1: F(2) 5.0e-7 / 1.4e-6, F(4) 2.5e-6 / 7.4e-6, F(6) 3.4e-6 / 9.9e-6;  5x5: F(2x2) 6.1e-7 / 1.7e-6, F(4x4) 8.2e-7 / 2.8e-6
FLOAT32_BOUND = {((3, 3), 2): 1e-5, ((3, 3), 4): 7e-6, ((3, 3), 6): 1e-5,
                 ((1, 7), 2): 3e-6, ((1, 7), 4): 1.5e-5, ((1, 7), 6): 2e-5,
                 ((7, 1), 2): 3e-6, ((7, 1), 4): 1.5e-5, ((7, 1), 6): 2e-5,
                 ((5, 5), 2): 4e-6, ((5, 5), 4): 6e-6}


def _reference(x, w, b, padding, dy_seed=1):
    y, cache = ops.conv2d_forward(x, w, b, 1, padding)
    dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(x.dtype)
    return y, dy, ops.conv2d_backward(dy, cache)


def _winograd(x, w, b, padding, m, dy):
    kernel, u = tuple(w.shape[2:]), winograd.transform_weights(w, m)
    y = winograd.conv2d_forward(x, u, b, padding, m, kernel)
    dx = winograd.conv2d_backward_input(dy, x.shape, u, padding, m, kernel)
    return y, dx


@pytest.mark.parametrize("m, r", sorted(POINTS))
def test_matrices_compute_the_correlation(m, r):
    at, g, bt = matrices(m, r)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, k = rng.standard_normal(m + r - 1), rng.standard_normal(r)
        direct = [sum(k[j] * d[i + j] for j in range(r)) for i in range(m)]
        np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), direct, rtol=1e-12, atol=1e-12)


def test_lavin_and_grays_points_give_their_f4_matrices():
    """Points 0, 1, -1, 2, -2 and infinity give exactly the matrices of the paper."""
    at, g, bt = toom_cook(4, 3, (0, 1, -1, 2, -2))
    np.testing.assert_array_equal(bt, [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                                       [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]])
    np.testing.assert_allclose(g, [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], rtol=1e-15)
    np.testing.assert_array_equal(at, [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                                       [0, 1, -1, 8, -8, 1]])


@pytest.mark.parametrize("m, r", sorted(POINTS))
def test_the_flipped_kernel_is_a_permutation_of_the_transformed_one(m, r):
    """What lets the input gradient reuse U: G J = diag(s) G[perm], J reversing the taps."""
    _, g, _ = exact_toom_cook(m, r, POINTS[(m, r)])
    perm, scale = flip_permutation(g)
    assert sorted(perm) == list(range(m + r - 1))
    assert [row[::-1] for row in g] == [[s * v for v in g[k]] for s, k in zip(scale, perm)]


def test_points_not_closed_under_inversion_are_refused():
    _, g, _ = exact_toom_cook(4, 3, (0, 1, -1, 2, -2))
    with pytest.raises(ValueError, match="closed under p -> 1/p"):
        flip_permutation(g)


def test_toom_cook_refuses_repeated_or_missing_points():
    with pytest.raises(ValueError, match="distinct"):
        toom_cook(2, 3, (0, 1, 1))
    with pytest.raises(ValueError, match="needs 5 distinct"):
        toom_cook(4, 3, (0, 1, -1))
    at, _, _ = toom_cook(2, 3, (0, Fraction(1, 2), -1))  # any distinct points work
    assert at.shape == (2, 4)


SHAPES = [  # (n, c, o, h, w, padding) for a 3x3 kernel; other kernels grow the padding with them
    (1, 3, 5, 7, 9, (1, 1, 1, 1)),       # TF 'same', odd sizes
    (2, 4, 3, 5, 6, (0, 0, 0, 0)),       # 'valid', batch 2
    (1, 2, 2, 3, 3, (1, 1, 1, 1)),       # smaller than one tile
    (1, 1, 1, 3, 3, (0, 0, 0, 0)),       # one output pixel, one channel
    (1, 1, 1, 13, 11, (0, 1, 2, 0)),     # asymmetric padding
    (2, 3, 4, 17, 12, (1, 0, 0, 1)),     # one-sided: top and right only
    (1, 2, 3, 9, 10, (2, 3, 0, 4)),      # padding beyond the kernel: the backward pass crops dy
]


def _grown(shape, kernel):
    """The 3x3 case of SHAPES for ``kernel``: the same output size and the padding grown with it."""
    n, c, o, h, w, (t, b, l, r) = shape
    gh, gw = kernel[0] - 3, kernel[1] - 3
    t, b, l, r = max(0, t + gh // 2), max(0, b + gh - gh // 2), max(0, l + gw // 2), max(0, r + gw - gw // 2)
    h, w = max(h, kernel[0] - t - b), max(w, kernel[1] - l - r)
    return n, c, o, h, w, (t, b, l, r)


@pytest.mark.parametrize("kernel, m", KERNEL_TILES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_float64_matches_the_readable_op(kernel, m, shape):
    n, c, o, h, w, padding = _grown(shape, kernel)
    rng = np.random.default_rng(0)
    x, k, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c) + kernel), rng.standard_normal(o)
    y_ref, dy, dx_ref = _reference(x, k, b, padding)
    y, dx = _winograd(x, k, b, padding, m, dy)
    assert y.shape == y_ref.shape and dx.shape == x.shape
    assert y.dtype == np.float64 and dx.dtype == np.float64
    assert rel_error(y, y_ref) <= 1e-10
    assert rel_error(dx, dx_ref) <= 1e-10


@pytest.mark.parametrize("kernel, m", KERNEL_TILES, ids=str)
def test_chunks_of_tile_rows_join_up(kernel, m, monkeypatch):
    """A scratch budget of a few tile rows splits the image into many chunks, last one partial;
    the bias, added at one tile position of each chunk's M, reaches every output row."""
    monkeypatch.setattr(winograd, "SCRATCH_ELEMENTS", 6000)
    rng = np.random.default_rng(1)
    x, k, b = rng.standard_normal((2, 3, 31, 27)), rng.standard_normal((4, 3) + kernel), rng.standard_normal(4)
    padding = ((kernel[0] - 1) // 2, kernel[0] // 2, (kernel[1] - 1) // 2, kernel[1] // 2)
    y_ref, dy, dx_ref = _reference(x, k, b, padding)
    y, dx = _winograd(x, k, b, padding, m, dy)
    assert rel_error(y, y_ref) <= 1e-10 and rel_error(dx, dx_ref) <= 1e-10


def test_chunk_views_are_made_once_and_let_go_with_the_scratch_buffer_before_a_larger_one():
    """A chunk shape's views of the scratch buffer are made once (winograd_stages, kept in
    workspace.scratch_views); when anything outgrows the buffer, scratch() lets them go with it
    before it allocates the larger one, so the old buffer is freed first, and the next chunk
    works in the new buffer."""
    import gc
    import weakref
    from numdream.fast import workspace
    rng = np.random.default_rng(7)
    x, k, b = rng.standard_normal((1, 3, 20, 17)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    y_ref, dy, dx_ref = _reference(x, k, b, (1, 1, 1, 1))
    workspace.scratch_views(np, x.dtype).clear()  # whatever earlier tests (or runs) left
    first = _winograd(x, k, b, (1, 1, 1, 1), 6, dy)
    made = dict(workspace.scratch_views(np, x.dtype))
    assert len(made) == 2  # one chunk shape forward, one backward
    again = _winograd(x, k, b, (1, 1, 1, 1), 6, dy)
    assert all(workspace.scratch_views(np, x.dtype)[shape] is st for shape, st in made.items())
    old = weakref.ref(workspace._local.buffers[("numpy", x.dtype)])
    del made
    alive = []

    class Spy:  # NumPy, noting whether the old buffer still lives when the new one is made
        __name__ = "numpy"

        def empty(self, size, dtype):
            gc.collect()
            alive.append(old() is not None)
            return np.empty(size, dtype=dtype)
    workspace.scratch(Spy(), (2 * old().size,), x.dtype)  # as a larger im2col chunk would
    assert alive == [False] and not workspace.scratch_views(np, x.dtype)
    grown = _winograd(x, k, b, (1, 1, 1, 1), 6, dy)
    assert len(workspace.scratch_views(np, x.dtype)) == 2
    for y, dx in (first, again, grown):
        assert rel_error(y, y_ref) <= 1e-10 and rel_error(dx, dx_ref) <= 1e-10


def test_a_chunk_that_outgrows_the_scratch_buffer_lets_the_old_one_go_before_the_new_one(monkeypatch):
    """The growth that starts inside a Winograd chunk (its regions need more than the buffer
    has): when the larger buffer is allocated, neither the old buffer nor the views kept of it
    are alive any more, and the chunk computes in the new one."""
    import gc
    import threading
    import weakref
    from numdream.fast import workspace
    monkeypatch.setattr(workspace, "MIN_ELEMENTS", 16)  # a small first buffer, in a fresh thread
    rng = np.random.default_rng(8)
    small, large = rng.standard_normal((1, 2, 8, 8)), rng.standard_normal((1, 3, 30, 26))
    k, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    seen, real_empty = {}, np.empty

    def in_a_fresh_thread():
        _winograd(small, k[:, :2], b, (1, 1, 1, 1), 6, np.zeros((1, 4, 8, 8)))
        seen["old"] = weakref.ref(workspace._local.buffers[("numpy", small.dtype)])
        seen["views"] = len(workspace.scratch_views(np, small.dtype))
        y_ref, dy, dx_ref = _reference(large, k, b, (1, 1, 1, 1))

        def spying_empty(shape, *args, **kwargs):  # the buffer is made with an int shape
            if isinstance(shape, int) and "alive" not in seen:
                gc.collect()
                seen["alive"] = seen["old"]() is not None
            return real_empty(shape, *args, **kwargs)
        monkeypatch.setattr(np, "empty", spying_empty)
        seen["result"] = (_winograd(large, k, b, (1, 1, 1, 1), 6, dy), y_ref, dx_ref)
    thread = threading.Thread(target=in_a_fresh_thread)
    thread.start()
    thread.join(timeout=60)
    monkeypatch.undo()
    (y, dx), y_ref, dx_ref = seen["result"]
    assert seen["views"] >= 1 and seen["alive"] is False
    assert rel_error(y, y_ref) <= 1e-10 and rel_error(dx, dx_ref) <= 1e-10


@pytest.mark.parametrize("kernel, m", KERNEL_TILES, ids=str)
def test_no_stage_of_a_chunk_writes_over_its_own_input(kernel, m):
    """Each matmul and copy of a chunk reads one region and writes another (a NumPy matmul whose
    output overlaps its input copies the whole output into a temporary first)."""
    from numdream.fast import winograd_stages
    nh, nw = (mm + kk - 1 if kk > 1 else 1 for mm, kk in zip(winograd.tile_sizes(m, kernel), kernel))
    mh, mw = winograd.tile_sizes(m, kernel)
    shape = winograd_stages.ChunkShape(1, 3, 5, nh, nw, mh, mw, 2, 4, 1, 2 * mh + nh - mh - 1, 1,
                                       4 * mw + nw - mw - 1, 2, 4 * mw, 0)
    st = winograd_stages.make_stages(np, np.dtype(np.float32), shape, 0)
    pairs = [(st.cols_of_window, st.cols), (st.cols_2d, st.half_2d), (st.tiles_of_half, st.tiles),
             (st.tiles_2d, st.v_2d), (st.v, st.m), (st.m_2d, st.y_h), (st.y_h_by_column, st.y_w)]
    assert not [i for i, (read, written) in enumerate(pairs)
                if read is not None and written is not None and np.may_share_memory(read, written)]


def _relu_reference(x, w, b, padding):
    """relu(conv(x)) and the input gradient through the ReLU, by the readable ops."""
    z, conv_cache = ops.conv2d_forward(x, w, b, 1, padding)
    y, relu_cache = ops.relu_forward(z)
    dy = np.random.default_rng(2).standard_normal(y.shape).astype(x.dtype)
    return y, dy, ops.conv2d_backward(ops.relu_backward(dy, relu_cache), conv_cache)


@pytest.mark.parametrize("kernel, m", KERNEL_TILES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_the_relu_on_the_copy_and_its_mask_in_the_chunks(kernel, m, shape, monkeypatch):
    """relu=True gives relu(conv) and relu_output= masks dy by it, as the readable relu ops do:
    over many small chunks too (each masks only the rows it reads, padding rows included)."""
    n, c, o, h, w, padding = _grown(shape, kernel)
    rng = np.random.default_rng(4)
    x, k, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c) + kernel), rng.standard_normal(o)
    y_ref, dy, dx_ref = _relu_reference(x, k, b, padding)
    assert y_ref.size < 8 or 0 < (y_ref > 0).mean() < 1  # the mask has both kinds of pixel
    u = winograd.transform_weights(k, m)
    for budget in (winograd.SCRATCH_ELEMENTS, 3000):
        monkeypatch.setattr(winograd, "SCRATCH_ELEMENTS", budget)
        y = winograd.conv2d_forward(x, u, b, padding, m, kernel, relu=True)
        dx = winograd.conv2d_backward_input(dy, x.shape, u, padding, m, kernel, relu_output=y)
        assert rel_error(y, y_ref) <= 1e-10 and (y >= 0).all()
        assert rel_error(dx, dx_ref) <= 1e-10


@pytest.mark.parametrize("kernel, m", [((3, 3), 2), ((3, 3), 6), ((1, 7), 4), ((7, 1), 6), ((5, 5), 4)], ids=str)
@pytest.mark.parametrize("shape", [
    (1, 2, 3, 10, 6, (0, -3, 1, 1)),   # the bottom cropped: the last chunks read only padding rows
    (1, 2, 3, 12, 9, (-2, -4, 0, 1)),  # both ends cropped
    (1, 2, 3, 5, 1, (1, 1, 1, 10)),    # wider padding than x: the masked rows outgrow the tiles' part
], ids=str)
def test_the_mask_in_the_chunks_where_the_padding_crops_or_outgrows_x(kernel, m, shape, monkeypatch):
    n, c, o, h, w, (t, b, l, r) = shape
    grow_h, grow_w = kernel[0] - 3, kernel[1] - 3  # the same output size for the larger kernels
    padding = (t + grow_h // 2, b + grow_h - grow_h // 2, l + grow_w // 2, r + grow_w - grow_w // 2)
    rng = np.random.default_rng(8)
    x, k, bias = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c) + kernel), rng.standard_normal(o)
    # the readable op pads only: crop x by the negative sides, pad by the others; the cropped
    # rows and columns get no gradient
    t, b, l, r = padding
    kept = (slice(None), slice(None), slice(max(0, -t), h - max(0, -b)), slice(max(0, -l), w - max(0, -r)))
    y_ref, dy, dx_kept = _relu_reference(x[kept], k, bias, tuple(max(0, p) for p in padding))
    dx_ref = np.zeros_like(x)
    dx_ref[kept] = dx_kept
    u = winograd.transform_weights(k, m)
    for budget in (winograd.SCRATCH_ELEMENTS, 1):  # one chunk, and one tile row a chunk
        monkeypatch.setattr(winograd, "SCRATCH_ELEMENTS", budget)
        y = winograd.conv2d_forward(x, u, bias, padding, m, kernel, relu=True)
        dx = winograd.conv2d_backward_input(dy, x.shape, u, padding, m, kernel, relu_output=y)
        assert rel_error(y, y_ref) <= 1e-10 and rel_error(dx, dx_ref) <= 1e-10


def test_the_mask_multiplies_dy_as_the_readable_relu_backward_does():
    """dy * (y > 0) exactly: where y is 0 a non-finite dy still gives what the readable op gives
    (nan * 0 = nan), so a dream's non-finite check sees the same values."""
    rng = np.random.default_rng(5)
    x, k = rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((3, 2, 3, 3))
    u = winograd.transform_weights(k, 6)
    y = winograd.conv2d_forward(x, u, None, (1, 1, 1, 1), 6, relu=True)
    dy = rng.standard_normal(y.shape)
    dy[tuple(np.argwhere(y == 0)[0])] = np.inf  # where the ReLU let nothing through
    with np.errstate(invalid="ignore"):
        got = winograd.conv2d_backward_input(dy, x.shape, u, (1, 1, 1, 1), 6, relu_output=y)
        want = winograd.conv2d_backward_input(ops.relu_backward(dy, y), x.shape, u, (1, 1, 1, 1), 6)
    assert np.isnan(got).any()
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="must agree"):
        winograd.conv2d_backward_input(dy, x.shape, u, (1, 1, 1, 1), 6, relu_output=y[:, :, 1:])


@pytest.mark.parametrize("workers", ["2", "3"])
@pytest.mark.parametrize("budget", [1 << 21, 2000])  # one row chunk per column block, and several
@pytest.mark.parametrize("kernel, padding", [((7, 1), (3, 3, 0, 0)), ((7, 1), (2, 1, 0, 0)), ((3, 1), (0, 0, 0, 0))])
def test_a_one_column_kernel_shares_the_columns_between_the_threads(monkeypatch, workers, budget, kernel, padding):
    """7x1 on 5 tile rows: the threads take blocks of columns (each a convolution of its own),
    with the ReLU and its mask; and the rows still chunked where the scratch is small."""
    from numdream.fast import threads
    monkeypatch.setenv("NUMDREAM_THREADS", workers)
    monkeypatch.setattr(winograd, "MIN_PIECE_FLOPS", 1)
    monkeypatch.setattr(winograd, "SCRATCH_ELEMENTS", budget)
    calls, real_chunk = [], winograd._chunk
    monkeypatch.setattr(winograd, "_chunk", lambda xp, x, *rest: calls.append(x.shape[3]) or real_chunk(xp, x, *rest))
    rng = np.random.default_rng(6)
    x, k, b = rng.standard_normal((2, 3, 30, 31)), rng.standard_normal((4, 3) + kernel), rng.standard_normal(4)
    y_ref, dy, dx_ref = _relu_reference(x, k, b, padding)
    u = winograd.transform_weights(k, 6)
    with threads.own_cores():
        y = winograd.conv2d_forward(x, u, b, padding, 6, kernel, relu=True)
        dx = winograd.conv2d_backward_input(dy, x.shape, u, padding, 6, kernel, relu_output=y)
    assert rel_error(y, y_ref) <= 1e-10 and rel_error(dx, dx_ref) <= 1e-10
    assert max(calls) < 31 and sum(calls) % 31 == 0  # blocks of columns, all of them, each pass
    blocks = 2 * int(workers)  # column blocks in the two passes
    assert len(calls) == blocks if budget > 1 << 20 else len(calls) > blocks  # rows chunked within them


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
    """Every stride-1 convolution of InceptionV3 with a kernel of TILES, on the bundled photo's
    activations: {kernel: [(name, input a, padding, float64 y, dy, float64 dx)]}."""
    model = load_model()
    x = model.preprocess(load_image(sample_path()))
    convs = [node for node in model.nodes.values() if node.op == "conv2d"
             and tuple(node.params["w"].shape[2:]) in TILES and nodes.spatial_stride(node) == 1]
    acts, _ = model.forward(x, [node.inputs[0] for node in convs], keep_tape=False)
    out = {}
    for node in convs:
        a, w = acts[node.inputs[0]], node.params["w"]
        padding = nodes.window(node, a.shape[2:])[2]
        y_ref, dy, dx_ref = _reference(a.astype(np.float64), w.astype(np.float64), None, padding)
        out.setdefault(tuple(w.shape[2:]), []).append((node, a, padding, y_ref, dy, dx_ref))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kernel, m", KERNEL_TILES, ids=str)
def test_float32_error_on_inception_layers(kernel, m, inception_layers):
    assert len(inception_layers[kernel]) == {(3, 3): 10, (1, 7): 6, (7, 1): 6, (5, 5): 3}[kernel]
    for node, a, padding, y_ref, dy, dx_ref in inception_layers[kernel]:
        y, dx = _winograd(a, node.params["w"], None, padding, m, dy.astype(np.float32))
        assert y.dtype == np.float32 and dx.dtype == np.float32
        assert rel_l2_error(y, y_ref) <= FLOAT32_BOUND[kernel, m], node.name
        assert rel_l2_error(dx, dx_ref) <= FLOAT32_BOUND[kernel, m], node.name


@pytest.mark.parametrize("kernel, m", [((3, 3), 2), ((3, 3), 6), ((1, 7), 6), ((7, 1), 2)], ids=str)
def test_on_the_cupy_standin(kernel, m, cupy_standin):
    rng = np.random.default_rng(3)
    x, k, b = rng.standard_normal((2, 3, 11, 9)), rng.standard_normal((5, 3) + kernel), rng.standard_normal(5)
    padding = (kernel[0] - 1, 0, kernel[1] // 2, kernel[1] - 1 - kernel[1] // 2)  # asymmetric
    y_ref, dy, dx_ref = _reference(x, k, b, padding)
    y, dx = _winograd(to_device(x), to_device(k), to_device(b), padding, m, to_device(dy))
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


@pytest.mark.parametrize("m", (3, 4, 5))
@pytest.mark.parametrize("shape", [(1, 3, 5, 9, 11, (0, 0, 0, 0)), (2, 2, 3, 17, 12, (1, 1, 1, 1)),
                                   (1, 1, 1, 3, 3, (0, 0, 0, 0)), (1, 2, 2, 7, 6, (2, 1, 0, 2))], ids=str)
def test_polyphase_experiment_is_a_stride_2_convolution(m, shape, monkeypatch):
    """benchmarks/polyphase.py, measured against im2col in benchmarks/README.md, computes what it claims."""
    monkeypatch.syspath_prepend(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    polyphase = importlib.import_module("polyphase")
    n, c, o, h, w, padding = shape
    rng = np.random.default_rng(4)
    x, k, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3)), rng.standard_normal(o)
    y_ref, cache = ops.conv2d_forward(x, k, b, 2, padding)
    dy = rng.standard_normal(y_ref.shape)
    u = polyphase.transform_weights(k, m)
    assert rel_error(polyphase.conv2d_forward(x, u, b, padding, m), y_ref) <= 1e-10
    assert rel_error(polyphase.conv2d_backward_input(dy, x.shape, u, padding, m),
                     ops.conv2d_backward(dy, cache)) <= 1e-10


def test_the_rule_takes_winograd_for_stride_1_kernels_it_was_measured_on():
    assert winograd.tile_for((3, 3), (1, 1)) == 6
    assert winograd.tile_for((1, 7), (1, 1)) == 6 and winograd.tile_for((7, 1), (1, 1)) == 6
    assert winograd.tile_for((5, 5), (1, 1)) == 4
    assert winograd.tile_for((3, 3), (2, 2)) is None  # the polyphase split did not pay
    assert winograd.tile_for((1, 1), (1, 1)) is None and winograd.tile_for((3, 3), (1, 1), groups=2) is None
    for kernel, m in winograd.TILE_FOR_KERNEL.items():  # every tile the rule picks is tested above
        assert (kernel, m) in KERNEL_TILES
