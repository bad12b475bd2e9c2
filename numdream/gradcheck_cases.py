"""The registry behind ``numdream gradcheck`` and the op tests: every op over a grid of configurations.

``OPS`` maps an op name to how its pair is called and to its torch.nn.functional twin (F.pad for
asymmetric padding). ``CASES`` is the grid: odd and even sizes, strides 1 to 3, every padding
mode (none, symmetric, asymmetric TensorFlow SAME), ceil mode, batches of 1 and 2, kernels
1x1 to 7x7 and 1x7 / 7x1, count_include_pad both ways, LRN of odd and even size, and the
classifier head (dense over a flattened grid or 1x1 features, softmax per position). torch is never
imported here: a twin receives it from ``numdream.gradcheck.import_torch`` when it runs.
"""
import math
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np

from . import ops as fast_ops
from .errors import NumdreamError
from .ops.geometry import padding4, pair, same_padding

Op = namedtuple("Op", "forward backward torch")  # forward(ops, xs, kw); backward(ops, dy, cache); torch(xs, kw)


def _functional():
    from .gradcheck import import_torch
    torch = import_torch()
    return torch, torch.nn.functional


def _symmetric(padding):
    t, b, l, r = padding
    return t == b and l == r


def _torch_conv(xs, kw):
    _, F = _functional()
    x, w, b = xs
    t, bo, l, r = kw["padding"]
    if _symmetric(kw["padding"]):
        return F.conv2d(x, w, b, stride=kw["stride"], padding=(t, l))
    return F.conv2d(F.pad(x, (l, r, t, bo)), w, b, stride=kw["stride"])


def _torch_max_pool(xs, kw):
    _, F = _functional()
    t, b, l, r = kw["padding"]
    if _symmetric(kw["padding"]):
        return F.max_pool2d(xs[0], kw["size"], kw["stride"], (t, l), ceil_mode=kw["ceil_mode"])
    assert not kw["ceil_mode"], "torch has no ceil mode over asymmetric padding"
    return F.max_pool2d(F.pad(xs[0], (l, r, t, b), value=-math.inf), kw["size"], kw["stride"])


def _torch_avg_pool(xs, kw):
    torch, F = _functional()
    x, (t, b, l, r) = xs[0], kw["padding"]
    if _symmetric(kw["padding"]):
        return F.avg_pool2d(x, kw["size"], kw["stride"], (t, l), ceil_mode=kw["ceil_mode"],
                            count_include_pad=kw["count_include_pad"])
    assert not kw["ceil_mode"], "torch has no ceil mode over asymmetric padding"
    # TF SAME: the sum over zero padding, divided by the number of pixels that count
    counted = F.pad(torch.ones_like(x), (l, r, t, b), value=float(kw["count_include_pad"]))
    return (F.avg_pool2d(F.pad(x, (l, r, t, b)), kw["size"], kw["stride"])
            / F.avg_pool2d(counted, kw["size"], kw["stride"]))


def _torch_lrn(xs, kw):
    _, F = _functional()
    return F.local_response_norm(xs[0], kw["size"], kw["alpha"], kw["beta"], kw["k"])


def _torch_concat(xs, kw):
    torch, _ = _functional()
    return torch.cat(xs, dim=kw["axis"])


def _torch_relu(xs, kw):
    return _functional()[1].relu(xs[0])


def _torch_dense(xs, kw):
    x, w, b = xs
    return _functional()[1].linear(x.flatten(1), w, b)[:, :, None, None]


def _torch_softmax(xs, kw):
    return _functional()[1].softmax(xs[0], dim=1)


def _one(dx):
    return [dx]


OPS = {
    "conv2d": Op(lambda ops, xs, kw: ops.conv2d_forward(*xs, **kw),
                 lambda ops, dy, cache: list(ops.conv2d_backward(dy, cache, weights=True)),
                 _torch_conv),
    "max_pool2d": Op(lambda ops, xs, kw: ops.max_pool2d_forward(xs[0], **kw),
                     lambda ops, dy, cache: _one(ops.max_pool2d_backward(dy, cache)),
                     _torch_max_pool),
    "avg_pool2d": Op(lambda ops, xs, kw: ops.avg_pool2d_forward(xs[0], **kw),
                     lambda ops, dy, cache: _one(ops.avg_pool2d_backward(dy, cache)),
                     _torch_avg_pool),
    "relu": Op(lambda ops, xs, kw: ops.relu_forward(xs[0]),
               lambda ops, dy, cache: _one(ops.relu_backward(dy, cache)),
               _torch_relu),
    "concat": Op(lambda ops, xs, kw: ops.concat_forward(list(xs), **kw),
                 lambda ops, dy, cache: list(ops.concat_backward(dy, cache)),
                 _torch_concat),
    "lrn": Op(lambda ops, xs, kw: ops.lrn_forward(xs[0], **kw),
              lambda ops, dy, cache: _one(ops.lrn_backward(dy, cache)),
              _torch_lrn),
    "dense": Op(lambda ops, xs, kw: ops.dense_forward(*xs),
                lambda ops, dy, cache: list(ops.dense_backward(dy, cache, weights=True)),
                _torch_dense),
    "softmax": Op(lambda ops, xs, kw: ops.softmax_forward(xs[0]),
                  lambda ops, dy, cache: _one(ops.softmax_backward(dy, cache)),
                  _torch_softmax),
}


@dataclass
class Case:
    """One op in one configuration: its inputs, its pair (fast or naive) and its torch twin."""
    op: str             # a key of OPS
    config: str         # human-readable, e.g. "1x3x8x8 k3x3 s2x2 pad(0,1,0,1) same"
    shapes: list        # the shape of each input, e.g. [x, w, b] for conv2d
    kw: dict = field(default_factory=dict)  # keyword arguments of the forward op
    distinct: bool = False  # inputs from a shuffled arange: no ties, nothing within 0.05 of 0
    eps: float = 1e-3   # finite-difference step: these ops are (piecewise) linear, LRN is not

    def inputs(self, seed=0, dtype="float64"):
        """Host arrays, one per shape, seeded. Distinct values are (k + 0.5 - n//2) / 10."""
        rng = np.random.default_rng(seed)
        arrays = []
        for shape in self.shapes:
            n = math.prod(shape)
            if self.distinct:
                a = (rng.permutation(n) + 0.5 - n // 2) / 10
            else:
                a = rng.standard_normal(n)
            arrays.append(a.reshape(shape).astype(dtype))
        return arrays

    def forward(self, ops=None):
        """forward(*inputs) -> (y, cache) with numdream.ops (default) or numdream.ops.naive."""
        ops = ops or fast_ops
        return lambda *xs: OPS[self.op].forward(ops, xs, self.kw)

    def backward(self, ops=None):
        """backward(dy, cache) -> list of gradients, one per input."""
        ops = ops or fast_ops
        return lambda dy, cache: OPS[self.op].backward(ops, dy, cache)

    def torch_forward(self, *tensors):
        """The torch.nn.functional twin of forward, on torch tensors."""
        return OPS[self.op].torch(list(tensors), self.kw)

    @property
    def name(self):
        return f"{self.op} {self.config}"


def _dims(values):
    return "x".join(str(v) for v in values)


def _padding(x_shape, kernel, stride, padding):
    if padding == "same":
        return same_padding(x_shape[2:], kernel, stride), " same"
    return padding4(padding), ""


def _conv(x_shape, out_channels, kernel, stride, padding):
    kernel, stride = pair(kernel), pair(stride)
    padding, note = _padding(x_shape, kernel, stride, padding)
    config = f"{_dims(x_shape)} k{_dims(kernel)} s{_dims(stride)} pad({','.join(map(str, padding))}){note}"
    return Case("conv2d", config, [x_shape, (out_channels, x_shape[1]) + kernel, (out_channels,)],
                dict(stride=stride, padding=padding))


def _pool(op, x_shape, kernel, stride, padding=0, ceil_mode=False, count_include_pad=False):
    kernel, stride = pair(kernel), pair(stride)
    padding, note = _padding(x_shape, kernel, stride, padding)
    config = f"{_dims(x_shape)} k{_dims(kernel)} s{_dims(stride)} pad({','.join(map(str, padding))}){note}"
    kw = dict(size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    config += " ceil" if ceil_mode else ""
    if op == "avg_pool2d":
        kw["count_include_pad"] = count_include_pad
        config += " count_pad" if count_include_pad else ""
    return Case(op, config, [x_shape], kw, distinct=op == "max_pool2d")


def _lrn(x_shape, size, alpha, beta, k):
    config = f"{_dims(x_shape)} size{size} alpha{alpha} beta{beta} k{k}"
    return Case("lrn", config, [x_shape], dict(size=size, alpha=alpha, beta=beta, k=k), eps=1e-5)


def _concat(shapes, axis):
    return Case("concat", " + ".join(map(_dims, shapes)) + f" axis{axis}", list(shapes), dict(axis=axis))


M, A = "max_pool2d", "avg_pool2d"
CASES = [
    _conv((2, 3, 7, 7), 4, 1, 1, 0),               # pointwise: a plain GEMM
    _conv((1, 3, 8, 8), 4, 1, 2, 0),               # 1x1 stride 2 goes through im2col
    _conv((2, 3, 8, 8), 4, 3, 1, 1),
    _conv((2, 3, 9, 9), 4, 3, 2, 1),               # odd size, stride 2
    _conv((1, 3, 8, 8), 4, 3, 2, "same"),          # TF SAME: (0, 1, 0, 1)
    _conv((1, 2, 7, 9), 3, 5, 1, 2),               # non-square input
    _conv((2, 2, 11, 11), 3, 5, 2, 0),
    _conv((1, 3, 12, 12), 4, 7, 2, 3),             # GoogLeNet conv1
    _conv((1, 3, 10, 10), 2, 7, 2, "same"),        # (2, 3, 2, 3)
    _conv((1, 3, 7, 8), 4, (1, 7), 1, (0, 0, 3, 3)),  # Inception v3's factorised 7x7
    _conv((1, 3, 8, 7), 4, (7, 1), 1, (3, 3, 0, 0)),
    _conv((2, 3, 6, 8), 2, (1, 7), 2, "same"),     # (0, 0, 2, 3)
    _conv((1, 2, 7, 7), 3, 3, 1, (1, 2, 0, 1)),    # any asymmetric padding
    _pool(M, (2, 3, 8, 8), 2, 2),
    _pool(M, (2, 2, 7, 7), 2, 2, ceil_mode=True),  # the last window overhangs
    _pool(M, (1, 3, 8, 8), 3, 2, ceil_mode=True),
    _pool(M, (1, 2, 8, 8), 3, 2, 1, ceil_mode=True),
    _pool(M, (1, 2, 5, 5), 2, 2, 1, ceil_mode=True),  # a window that would start in the padding is dropped
    _pool(M, (2, 3, 7, 7), 3, 1, 1),               # Inception's 3x3/1 pool
    _pool(M, (1, 3, 8, 8), 3, 2, "same"),          # (0, 1, 0, 1)
    _pool(M, (1, 2, 9, 9), 3, 2, "same"),          # (1, 1, 1, 1)
    _pool(M, (1, 2, 7, 9), 3, 3, ceil_mode=True),  # stride 3, non-square
    _pool(A, (2, 3, 8, 8), 2, 2),
    _pool(A, (2, 2, 7, 7), 3, 1, 1, count_include_pad=False),
    _pool(A, (2, 2, 7, 7), 3, 1, 1, count_include_pad=True),
    _pool(A, (1, 2, 8, 8), 3, 2, 1, ceil_mode=True, count_include_pad=True),  # overhang never counted
    _pool(A, (1, 2, 8, 8), 3, 2, 1, ceil_mode=True, count_include_pad=False),
    _pool(A, (1, 3, 8, 8), 3, 2, "same", count_include_pad=False),  # TensorFlow
    _pool(A, (1, 3, 8, 8), 3, 2, "same", count_include_pad=True),
    _pool(A, (1, 2, 13, 13), 5, 3, ceil_mode=True, count_include_pad=True),
    _pool(A, (1, 2, 14, 14), 5, 3),                # GoogLeNet's auxiliary heads
    _pool(A, (2, 3, 7, 7), 7, 1),                  # global average, GoogLeNet's head
    _pool(A, (2, 2, 7, 7), 2, 2, ceil_mode=True, count_include_pad=False),
    Case("relu", "2x3x5x5", [(2, 3, 5, 5)], distinct=True),
    Case("relu", "1x4x6x7", [(1, 4, 6, 7)], distinct=True),
    _concat([(2, 3, 4, 4), (2, 5, 4, 4), (2, 1, 4, 4)], axis=1),
    _concat([(1, 2, 5, 3), (1, 2, 5, 3)], axis=1),
    _concat([(1, 2, 3, 5), (1, 2, 4, 5)], axis=2),
    _lrn((2, 8, 4, 4), 5, 1e-4, 0.75, 1.0),        # GoogLeNet's parameters
    _lrn((1, 7, 4, 5), 5, 1.0, 0.75, 2.0),         # strong enough that the scale term matters
    _lrn((2, 6, 3, 3), 4, 1.0, 0.5, 1.0),          # even size: one channel more below than above
    _lrn((1, 5, 4, 4), 2, 2.0, 0.75, 1.5),
    _lrn((1, 2, 5, 5), 3, 2.0, 0.75, 1.5),         # window wider than the channels
    _lrn((1, 4, 3, 3), 1, 1.0, 0.75, 1.0),
    Case("dense", "2x3x2x2 -> 5", [(2, 3, 2, 2), (5, 12), (5,)]),  # a 2x2 grid, C-major flatten
    Case("dense", "1x7x1x1 -> 4", [(1, 7, 1, 1), (4, 7), (4,)]),    # GoogLeNet's head after its pool
    Case("softmax", "2x6x1x1", [(2, 6, 1, 1)], eps=1e-5),            # smooth but not linear
    Case("softmax", "1x4x3x2", [(1, 4, 3, 2)], eps=1e-5),            # one softmax per position
]


class UnknownOpError(NumdreamError, ValueError):
    """An op name that is not in the registry."""


def cases(op=None):
    """The cases of one op (all cases if op is None); UnknownOpError names the valid ops."""
    if op is not None and op not in OPS:
        raise UnknownOpError(f"unknown op {op!r}; valid ops are {', '.join(OPS)}")
    return [c for c in CASES if op is None or c.op == op]
