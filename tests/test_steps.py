"""The fused execution plan (numdream.fast.plan) against the readable ops, node by node."""
import numpy as np
import pytest

from numdream.model import Model, load_model
from numdream.fast.plan import ConvStep, PointwiseGroupStep
from numdream.nodes import NodeStep
from tiny_model import tiny_spec


def _both(model_fused, model_plain, x, until, seed=0):
    rng = np.random.default_rng(seed)
    a, tape_a = model_fused.forward(x, until)
    b, tape_b = model_plain.forward(x, until)
    grads = {u: rng.standard_normal(a[u].shape).astype(x.dtype) for u in until}
    return a, b, model_fused.backward(grads, tape_a), model_plain.backward(grads, tape_b)


def test_tiny_plan_fuses_pointwise_siblings_and_conv_relu():
    model = Model(tiny_spec(), dtype=np.float64)
    steps = model._plan(["mixed"])
    groups = [s for s in steps if isinstance(s, PointwiseGroupStep)]
    assert len(groups) == 1 and set(groups[0].outputs) == {"b1_relu", "b2a_relu", "b3a_relu", "b4_relu"}
    # the pool branch joins the GEMM on norm1, its average pool moved after its 1x1 conv
    assert [pool.name for _, _, pool in groups[0].members if pool is not None] == ["b4pool"]
    assert not any(isinstance(s, NodeStep) and s.outputs == ["b4pool"] for s in steps)
    # unless the pool's own value is wanted
    assert any(isinstance(s, NodeStep) and s.outputs == ["b4pool"] for s in model._plan(["b4pool", "mixed"]))
    assert any(isinstance(s, ConvStep) and s.relu is not None and s.outputs == ["b2b_relu"] for s in steps)
    # the stem's max pool takes the ReLU's place: relu(maxpool(conv)) = maxpool(relu(conv))
    assert any(isinstance(s, ConvStep) and s.pool is not None and s.outputs == ["pool1"] for s in steps)
    assert not any(isinstance(s, NodeStep) and s.outputs == ["pool1"] for s in steps)
    # unless the ReLU's own value is wanted
    kept = model._plan(["conv2_relu", "mixed"])
    assert any(isinstance(s, ConvStep) and s.pool is None and s.outputs == ["conv2_relu"] for s in kept)
    # a conv that is itself a target keeps its pre-ReLU value: it is not fused with its ReLU
    assert any(isinstance(s, ConvStep) and s.relu is None and s.outputs == ["conv2"]
               for s in model._plan(["conv2", "mixed"]))


@pytest.mark.parametrize("until", [["mixed"], ["b2a", "mixed", "top"], ["conv2", "b3b"], ["b4pool", "b4"],
                                   ["conv2_relu", "pool1"], ["pool1", "mixed:pre_relu"]])
def test_tiny_fused_equals_unfused(until):
    x = np.random.default_rng(1).standard_normal((2, 3, 35, 29))
    a, b, da, db = _both(Model(tiny_spec(), np.float64), Model(tiny_spec(), np.float64, fuse=False), x, until)
    for u in until:
        np.testing.assert_allclose(a[u], b[u], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(da, db, rtol=1e-12, atol=1e-13)


def test_user_gradients_are_not_modified():
    model = Model(tiny_spec(), np.float64)
    acts, tape = model.forward(np.random.default_rng(2).standard_normal((1, 3, 31, 31)), ["b1_relu", "mixed"])
    grads = {k: np.random.default_rng(3).standard_normal(v.shape) for k, v in acts.items()}
    kept = {k: v.copy() for k, v in grads.items()}
    model.backward(grads, tape)
    for k in grads:
        np.testing.assert_array_equal(grads[k], kept[k])


@pytest.mark.slow
def test_inception_fused_equals_unfused_float64():
    fused, plain = load_model(dtype=np.float64), load_model(dtype=np.float64, fuse=False)
    kinds = {type(s) for s in fused._plan(["mixed5"])}
    assert PointwiseGroupStep in kinds and ConvStep in kinds
    x = np.random.default_rng(4).uniform(-1, 1, (1, 3, 97, 83))
    a, b, da, db = _both(fused, plain, x, ["mixed2", "mixed5"])
    for u in a:
        np.testing.assert_allclose(a[u], b[u], rtol=1e-12, atol=1e-12)
    assert np.abs(da - db).max() <= 1e-12 * np.abs(db).max()


@pytest.mark.parametrize("chunk", [1 << 21, 37])  # one chunk per conv, and many small ones
@pytest.mark.parametrize("kernel,stride,padding", [
    ((3, 3), (2, 2), (0, 0, 0, 0)), ((1, 7), (1, 1), (0, 0, 3, 3)), ((7, 1), (1, 1), (3, 3, 0, 0)),
    ((5, 5), (2, 1), (2, 1, 0, 2)), ((1, 1), (1, 1), (0, 0, 0, 0)), ((3, 3), (1, 1), (1, 1, 1, 1)),
    ((3, 3), (1, 1), (0, 0, 0, 0)), ((3, 3), (1, 1), (0, 2, 1, 0)), ((5, 5), (1, 1), (2, 2, 2, 2)),
    ((3, 3), (1, 1), (3, 1, 0, 0))])  # the last: padding wider than kernel - 1, the col2im route
def test_fast_conv_equals_the_readable_conv(monkeypatch, chunk, kernel, stride, padding):
    from numdream import ops
    from numdream.fast import conv as fast
    monkeypatch.setattr(fast, "CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 17, 14))
    w, b = rng.standard_normal((6, 4) + kernel), rng.standard_normal(6)
    y, cache = ops.conv2d_forward(x, w, b, stride, padding)
    np.testing.assert_allclose(fast.conv2d_forward(x, w, b, stride, padding), y, rtol=1e-13, atol=1e-13)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(fast.conv2d_backward_input(dy, x.shape, w, stride, padding),
                               ops.conv2d_backward(dy, cache), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("workers", ["2", "3", "5"])
@pytest.mark.parametrize("channels", [3, 4, 6])
@pytest.mark.parametrize("chunk", [1 << 21, 200])
@pytest.mark.parametrize("kernel,stride,padding", [((3, 3), (2, 2), (0, 0, 0, 0)), ((5, 3), (3, 2), (2, 1, 0, 1))])
def test_strided_input_gradient_in_row_pieces_adds_up_where_windows_overlap(
        monkeypatch, workers, channels, chunk, kernel, stride, padding):
    """With fewer input channels than an even share per thread (the first layer's 3), the pieces
    take rows of dy, and the rows their windows share at each cut add up after the join."""
    from numdream import ops
    from numdream.fast import conv as fast
    from numdream.fast.threads import own_cores
    monkeypatch.setenv("NUMDREAM_THREADS", workers)
    monkeypatch.setattr(fast, "MIN_PIECE_FLOPS", 1)
    monkeypatch.setattr(fast, "CHUNK_ELEMENTS", chunk)
    targets, real_col2im = set(), fast.col2im

    def spied_col2im(cols, padded_hw, stride, rows=None, out=None):
        targets.add(id(out.base if out.base is not None else out))  # dx itself, or a piece's slab
        return real_col2im(cols, padded_hw, stride, rows=rows, out=out)
    monkeypatch.setattr(fast, "col2im", spied_col2im)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, channels, 23, 15))
    w, b = rng.standard_normal((5, channels) + kernel), rng.standard_normal(5)
    y, cache = ops.conv2d_forward(x, w, b, stride, padding)
    dy = rng.standard_normal(y.shape)
    with own_cores():
        got = fast.conv2d_backward_input(dy, x.shape, w, stride, padding)
    np.testing.assert_allclose(got, ops.conv2d_backward(dy, cache), rtol=1e-13, atol=1e-13)
    # by rows where the channels do not divide, each piece writing its own array; else by channels into dx
    assert len(targets) == (int(workers) if channels % int(workers) else 1)


@pytest.mark.parametrize("workers", ["1", "2", "3"])
@pytest.mark.parametrize("kernel,stride,padding", [
    ((3, 3), (2, 2), (0, 0, 0, 0)), ((1, 1), (1, 1), (0, 0, 0, 0)), ((3, 3), (1, 1), (1, 0, 2, 1))])
def test_fast_conv_adds_the_bias_and_the_relu_in_its_pieces(monkeypatch, workers, kernel, stride, padding):
    """relu=True: relu(conv + b), each piece on its own rows (im2col) or output channels (1x1)."""
    from numdream import ops
    from numdream.fast import conv as fast
    from numdream.fast.threads import own_cores
    monkeypatch.setenv("NUMDREAM_THREADS", workers)
    monkeypatch.setattr(fast, "MIN_PIECE_FLOPS", 1)
    monkeypatch.setattr(fast, "CHUNK_ELEMENTS", 300)  # several row chunks per piece
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 17, 14))
    w, b = rng.standard_normal((7, 4) + kernel), rng.standard_normal(7)
    y, _ = ops.conv2d_forward(x, w, b, stride, padding)
    with own_cores():
        got = fast.conv2d_forward(x, w, b, stride, padding, relu=True)
    assert 0 < (y > 0).mean() < 1
    np.testing.assert_allclose(got, np.maximum(y, 0), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kernel,padding", [((3, 3), (1, 1, 1, 1)), ((1, 7), (0, 0, 3, 3)), ((3, 3), (0, 0, 0, 0))])
def test_stride1_input_gradient_is_a_convolution_of_dy(monkeypatch, kernel, padding):
    """The stride-1 input gradient runs as a convolution with the turned kernel (no col2im), with
    the kernel the caller keeps or one made on the spot, and equals the readable adjoint."""
    from numdream import ops
    from numdream.fast import conv as fast

    def no_col2im(*args, **kwargs):
        raise AssertionError("the stride-1 input gradient should not scatter through col2im")
    monkeypatch.setattr(fast, "col2im", no_col2im)
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 5, 11, 13)), rng.standard_normal((3, 5) + kernel)
    y, cache = ops.conv2d_forward(x, w, None, (1, 1), padding)
    dy = rng.standard_normal(y.shape)
    expected = ops.conv2d_backward(dy, cache)
    flipped = fast.flip_for_input_gradient(w)
    assert flipped.shape == (5, 3) + kernel and flipped.flags.c_contiguous
    for kept in (None, flipped):
        dx = fast.conv2d_backward_input(dy, x.shape, w, (1, 1), padding, kept)
        np.testing.assert_allclose(dx, expected, rtol=1e-13, atol=1e-13)


def test_fast_conv_on_the_standin(cupy_standin):
    from numdream import ops
    from numdream.fast import conv as fast
    rng = np.random.default_rng(6)
    x, w = cupy_standin.asarray(rng.standard_normal((1, 3, 9, 8))), cupy_standin.asarray(rng.standard_normal((5, 3, 3, 3)))
    y = fast.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1))
    dx = fast.conv2d_backward_input(y, x.shape, w, (1, 1), (1, 1, 1, 1))
    ref, cache = ops.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1))
    assert isinstance(dx, type(x))
    np.testing.assert_allclose(dx.get(), ops.conv2d_backward(ref, cache).get(), rtol=1e-12)


def test_the_readable_plan_is_one_node_step_per_node_and_only_the_fused_plan_tunes_malloc(monkeypatch):
    from numdream.fast import plan as fast_plan
    calls = []
    monkeypatch.setattr(fast_plan, "reuse_freed_memory", lambda: calls.append(1))
    plain = Model(tiny_spec(), np.float64, fuse=False)
    steps = plain._plan(["mixed"])
    assert all(type(s) is NodeStep for s in steps) and len(steps) == len(plain.needed(["mixed"])) - 1
    assert calls == []  # neither building nor planning the readable model touches glibc
    Model(tiny_spec(), np.float64)._plan(["mixed"])
    assert calls == [1]


def test_load_model_takes_fuse():
    assert load_model().fuse is True and load_model(fuse=False).fuse is False


def test_relu_after_the_max_pool_routes_ties_as_the_readable_ops_do():
    """An identity 1x1 conv on integers -1..2: windows full of ties, of positive maxima and of
    all-negative ones. Moving the ReLU after the pool must give the same values and gradients."""
    from numdream.modelfile import ModelSpec, Node
    nodes = [Node("input", "input", [], {"channels": 3}),
             Node("conv", "conv2d", ["input"], {"stride": 1, "padding": "valid"},
                  {"w": np.eye(3).reshape(3, 3, 1, 1), "b": np.zeros(3)}),
             Node("relu", "relu", ["conv"]),
             Node("pool", "max_pool2d", ["relu"], {"size": 3, "stride": 2, "padding": "valid", "ceil_mode": True})]
    spec = ModelSpec("ties", nodes, {"channel_order": "RGB", "mean": [0.0] * 3, "scale": 1.0}, {})
    fused, plain = Model(spec, np.float64), Model(spec, np.float64, fuse=False)
    assert [type(s) for s in fused._plan(["pool"])] == [ConvStep] and fused._plan(["pool"])[0].pool is not None
    x = np.random.default_rng(7).integers(-1, 3, (2, 3, 12, 11)).astype(np.float64)
    a, b, da, db = _both(fused, plain, x, ["pool"])
    np.testing.assert_array_equal(a["pool"], b["pool"])
    np.testing.assert_array_equal(da, db)


@pytest.mark.parametrize("workers", ["2", "3", "7"])  # blocks of the group's 14 channels that cut members apart
@pytest.mark.parametrize("until, without, pool_padding", [
    (["mixed"], None, "same"), (["b1_relu", "b2a_relu", "b3a_relu", "b4_relu"], "b2a_relu", "same"),
    (["b1_relu", "b4"], None, "same"),  # the pool branch without its ReLU (its conv is a target)
    (["b1_relu", "b4_relu"], None, "valid"), (["b1_relu", "b4"], None, "valid")])  # a pool that shrinks the image
def test_pointwise_group_in_pieces_equals_the_readable_ops(monkeypatch, workers, until, without, pool_padding):
    """The group's GEMM, biases, ReLUs and pool branch in channel blocks (fast/pointwise.py), on
    several threads; a member whose gradient is None contributes nothing."""
    import numdream.fast.pointwise as pointwise
    spec = tiny_spec()
    (pool,) = [node for node in spec.nodes if node.name == "b4pool"]
    pool.attrs["padding"] = pool_padding
    monkeypatch.setenv("NUMDREAM_THREADS", workers)
    monkeypatch.setattr(pointwise, "MIN_PIECE_FLOPS", 1)
    # blocks by channel count, so that they cut members apart (with the real costs, the tiny
    # model's 3 input channels make the pool branch's channels 40x the others: blocks of one)
    monkeypatch.setattr(pointwise, "POOL_FORWARD_COST", 0)
    monkeypatch.setattr(pointwise, "POOL_BACKWARD_COST", 1)
    split_blocks = []
    real_blocks = pointwise._balanced_blocks
    monkeypatch.setattr(pointwise, "_balanced_blocks", lambda *a: split_blocks.append(real_blocks(*a)) or split_blocks[-1])
    fused, plain = Model(spec, np.float64), Model(spec, np.float64, fuse=False)
    group = [s for s in fused._plan(fused._node_names(until)) if isinstance(s, PointwiseGroupStep)]
    assert len(group) == 1 and any(pool is not None for _, _, pool in group[0].members)
    x = np.random.default_rng(6).standard_normal((2, 3, 41, 37))
    a, tape_a = fused.forward(x, until)
    b, tape_b = plain.forward(x, until)
    rng = np.random.default_rng(7)
    grads = {u: rng.standard_normal(a[u].shape) for u in until if u != without}
    da, db = fused.backward(grads, tape_a), plain.backward(grads, tape_b)
    # the group really ran in that many blocks, forward and backward (cut by each pass's costs)
    assert [len(blocks) for blocks in split_blocks] == [int(workers)] * 2, split_blocks
    for u in until:
        np.testing.assert_allclose(a[u], b[u], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(da, db, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("edges, costs, pieces", [
    ([0, 64, 112, 176, 208], [192, 192, 192, 192 + 128], 2),  # mixed0's group: the pool branch is the last
    ([0, 64, 112, 176, 208], [1, 1, 1, 10], 2), ([0, 64, 112, 176, 208], [1, 1, 1, 10], 3),
    ([0, 5, 9], [1, 1], 4), ([0, 3, 4], [1, 0], 2), ([0, 2], [7], 5)])
def test_pointwise_blocks_balance_the_members_costs(edges, costs, pieces):
    import numdream.fast.pointwise as pointwise
    blocks = pointwise._balanced_blocks(edges, costs, pieces)
    assert blocks[0][0] == 0 and blocks[-1][1] == edges[-1]
    assert all(b0[1] == b1[0] for b0, b1 in zip(blocks, blocks[1:])) and all(b > a for a, b in blocks)
    assert len(blocks) <= pieces
    per_channel = [cost for (e0, e1), cost in zip(zip(edges, edges[1:]), costs) for _ in range(e1 - e0)]
    sums = [sum(per_channel[a:b]) for a, b in blocks]
    if len(blocks) == pieces:  # each block within one channel's cost of an equal share
        assert max(abs(total - sum(per_channel) / pieces) for total in sums) <= max(per_channel)


@pytest.mark.parametrize("padding, flipped", [("same", True), ("valid", True), ([2, 2, 1, 1], True),
                                              ([3, 1, 1, 1], False), ([1, 1, 0, 4], False)])
def test_a_flipped_kernel_is_kept_only_where_the_input_gradient_convolves_with_it(padding, flipped):
    """A stride-1 conv's input gradient convolves dy with the flipped kernel when its padding is
    at most kernel - 1 per side; a wider one takes col2im, and no flipped copy is kept for it."""
    from numdream.modelfile import ModelSpec, Node
    rng = np.random.default_rng(8)
    nodes = [Node("input", "input", [], {"channels": 3}),
             Node("conv", "conv2d", ["input"], {"stride": [1, 1], "padding": padding},
                  {"w": rng.standard_normal((4, 3, 3, 3)), "b": rng.standard_normal(4)})]
    spec = ModelSpec("one", nodes, {"channel_order": "RGB", "mean": [0.0] * 3, "scale": 1.0}, {},
                     dream_layers={"conv": 1.0})
    fused = Model(spec, np.float64, winograd=False)
    (step,) = [s for s in fused._plan(["conv"]) if isinstance(s, ConvStep)]
    assert (step.w_flipped is not None) == flipped
    x = rng.standard_normal((1, 3, 9, 11))
    a, b, da, db = _both(fused, Model(spec, np.float64, fuse=False), x, ["conv"])
    np.testing.assert_allclose(a["conv"], b["conv"], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(da, db, rtol=1e-12, atol=1e-13)
