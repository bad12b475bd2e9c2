"""The registry of checked pairs: every op of numdream.ops over a grid of configurations.

``numdream gradcheck``, the op tests and tutorial 02 read it; the checks themselves are
``numdream.gradcheck``'s (this module imports it, never the other way round).

``OPS`` maps a name to an ``Op``: the pair the engine runs, its loop oracle, and its PyTorch twin.
Each is called the same way, ``forward(*inputs, **case.kw)``, and each backward returns one
gradient per input (conv2d and dense return dx, dw and db). ``CASES`` is the grid: odd and even
sizes, strides 1 to 3, every padding mode (none, symmetric, asymmetric TensorFlow SAME), ceil
mode, batches of 1 and 2, kernels 1x1 to 7x7 and 1x7 / 7x1, 2 and 3 groups and depthwise
convolution, count_include_pad both ways, LRN of odd and even size, and the classifier head
(dense over a flattened grid or 1x1 features, softmax per position).

Feature visualisation's pairs (parametrisations, transformations, objectives, the network's input
map: numdream.featvis.cases and objective_cases) join the grid as cases that carry their own
pairs; ``NAMES`` lists every op of both kinds, ``cases(op)`` takes any of them.

torch is never imported here: a twin gets it from ``numdream.gradcheck.import_torch`` when it runs.
"""
import math
from collections import namedtuple
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from . import ops
from .backend import to_device
from .errors import NumdreamError
from .featvis import cases as featvis_cases
from .featvis import objective_cases
from .gradcheck import Pair, check_op, compare_with_torch, import_torch
from .ops import naive
from .ops.geometry import padding4, pair, same_padding

# Pair(forward, backward): forward(*inputs, **kw) -> (y, cache); backward(dy, cache) -> [one
# gradient per input]. pair: the Pair that numdream runs; oracle: its loop version (a Pair, or None); torch(*tensors, **kw)
Op = namedtuple("Op", "pair oracle torch")


def _one_input(forward, backward):
    """An op of one input: its backward returns dx alone, the registry wants [dx]."""
    return Pair(forward, lambda dy, cache: [backward(dy, cache)])


def _with_weights(forward, backward):
    """An op of (x, w, b) (conv2d, dense), whose backward is asked for dx, dw and db."""
    return Pair(forward, lambda dy, cache: list(backward(dy, cache, weights=True)))


def _of_pieces(forward, backward):
    """concat: forward takes its inputs as one list, backward returns one gradient per piece."""
    return Pair(lambda *xs, **kw: forward(list(xs), **kw), backward)


# --- the PyTorch twins: torch.nn.functional, with F.pad where torch has no asymmetric padding --

def _functional():
    return import_torch().nn.functional


def _symmetric(padding):
    t, b, l, r = padding
    return t == b and l == r


def _torch_conv(x, w, b, stride, padding, groups=1):
    F = _functional()
    t, bo, l, r = padding
    if _symmetric(padding):
        return F.conv2d(x, w, b, stride=stride, padding=(t, l), groups=groups)
    return F.conv2d(F.pad(x, (l, r, t, bo)), w, b, stride=stride, groups=groups)


def _torch_max_pool(x, size, stride, padding, ceil_mode):
    F = _functional()
    t, b, l, r = padding
    if _symmetric(padding):
        return F.max_pool2d(x, size, stride, (t, l), ceil_mode=ceil_mode)
    assert not ceil_mode, "torch has no ceil mode over asymmetric padding"
    return F.max_pool2d(F.pad(x, (l, r, t, b), value=-math.inf), size, stride)


def _torch_avg_pool(x, size, stride, padding, ceil_mode, count_include_pad):
    torch, F = import_torch(), _functional()
    t, b, l, r = padding
    if _symmetric(padding):
        return F.avg_pool2d(x, size, stride, (t, l), ceil_mode=ceil_mode,
                            count_include_pad=count_include_pad)
    assert not ceil_mode, "torch has no ceil mode over asymmetric padding"
    # TF SAME: the sum over zero padding, divided by the number of pixels that count
    counted = F.pad(torch.ones_like(x), (l, r, t, b), value=float(count_include_pad))
    return F.avg_pool2d(F.pad(x, (l, r, t, b)), size, stride) / F.avg_pool2d(counted, size, stride)


def _torch_concat(*xs, axis):
    return import_torch().cat(xs, dim=axis)


def _torch_lrn(x, size, alpha, beta, k):
    return _functional().local_response_norm(x, size, alpha, beta, k)


def _torch_dense(x, w, b):
    return _functional().linear(x.flatten(1), w, b)[:, :, None, None]


OPS = {
    "conv2d": Op(_with_weights(ops.conv2d_forward, ops.conv2d_backward),
                 _with_weights(naive.conv2d_forward, naive.conv2d_backward), _torch_conv),
    "max_pool2d": Op(_one_input(ops.max_pool2d_forward, ops.max_pool2d_backward),
                     _one_input(naive.max_pool2d_forward, naive.max_pool2d_backward), _torch_max_pool),
    "avg_pool2d": Op(_one_input(ops.avg_pool2d_forward, ops.avg_pool2d_backward),
                     _one_input(naive.avg_pool2d_forward, naive.avg_pool2d_backward), _torch_avg_pool),
    "relu": Op(_one_input(ops.relu_forward, ops.relu_backward),
               _one_input(naive.relu_forward, naive.relu_backward), lambda x: _functional().relu(x)),
    "concat": Op(_of_pieces(ops.concat_forward, ops.concat_backward),
                 _of_pieces(naive.concat_forward, naive.concat_backward), _torch_concat),
    "lrn": Op(_one_input(ops.lrn_forward, ops.lrn_backward),
              _one_input(naive.lrn_forward, naive.lrn_backward), _torch_lrn),
    "dense": Op(_with_weights(ops.dense_forward, ops.dense_backward),
                _with_weights(naive.dense_forward, naive.dense_backward), _torch_dense),
    "softmax": Op(_one_input(ops.softmax_forward, ops.softmax_backward),
                  _one_input(naive.softmax_forward, naive.softmax_backward),
                  lambda x: _functional().softmax(x, dim=1)),
}


@dataclass
class Case:
    """One entry of OPS in one configuration: its inputs and keyword arguments."""
    op: str             # a key of OPS
    config: str         # human-readable, e.g. "1x3x8x8 k3x3 s2x2 pad(0,1,0,1) same"
    shapes: list        # the shape of each input, e.g. [x, w, b] for conv2d
    kw: dict = field(default_factory=dict)  # keyword arguments of forward and of the torch twin
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

    def pair(self, oracle=False):
        """Pair(forward(*inputs) -> (y, cache), backward(dy, cache) -> [gradients]) in this
        configuration: the pair of OPS, or with oracle=True its loop oracle."""
        chosen = OPS[self.op].oracle if oracle else OPS[self.op].pair
        if chosen is None:
            raise ValueError(f"{self.op} has no loop oracle")
        return Pair(partial(chosen.forward, **self.kw), chosen.backward)

    def torch_forward(self, *tensors):
        """The PyTorch twin of forward in this configuration, on torch tensors."""
        return OPS[self.op].torch(*tensors, **self.kw)

    @property
    def name(self):
        return f"{self.op} {self.config}"


def _dims(values):
    return "x".join(str(v) for v in values)


def _padding(x_shape, kernel, stride, padding):
    if padding == "same":
        return same_padding(x_shape[2:], kernel, stride), " same"
    return padding4(padding), ""


def _conv(x_shape, out_channels, kernel, stride, padding, groups=1):
    kernel, stride = pair(kernel), pair(stride)
    padding, note = _padding(x_shape, kernel, stride, padding)
    config = f"{_dims(x_shape)} k{_dims(kernel)} s{_dims(stride)} pad({','.join(map(str, padding))}){note}"
    config += f" groups{groups}" if groups > 1 else ""
    w_shape = (out_channels, x_shape[1] // groups) + kernel
    return Case("conv2d", config, [x_shape, w_shape, (out_channels,)],
                dict(stride=stride, padding=padding, groups=groups))


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
    _conv((2, 4, 6, 6), 6, 3, 1, 1, groups=2),     # grouped (Caffe's group, AlexNet-style)
    _conv((1, 6, 4, 5), 3, 1, 1, 0, groups=3),     # 3 groups, one filter each: a grouped GEMM
    _conv((1, 4, 9, 8), 4, 5, 2, (1, 2, 2, 1), groups=2),
    _conv((1, 6, 8, 8), 6, 3, 2, "same", groups=3),  # (0, 1, 0, 1)
    _conv((2, 4, 7, 7), 4, 3, 1, 1, groups=4),     # depthwise: one filter per channel
    _conv((1, 3, 9, 9), 6, 3, 2, 1, groups=3),     # depthwise with two filters per channel
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


OP_CASES = list(CASES)  # the ops of numdream.ops, each with a loop oracle in numdream.ops.naive
CASES += featvis_cases.CASES + objective_cases.CASES  # and feature visualisation's pairs (tests/test_featvis_*)
NAMES = tuple(OPS) + tuple(featvis_cases.OPS) + tuple(objective_cases.OPS)  # every op with cases


class UnknownOpError(NumdreamError, ValueError):
    """An op name that is not in the registry."""


def cases(op=None):
    """The cases of one op (all cases if op is None); UnknownOpError names the valid ops."""
    if op is not None and op not in NAMES:
        raise UnknownOpError(f"unknown op {op!r}; valid ops are {', '.join(NAMES)}")
    return [c for c in CASES if op is None or c.op == op]


def _case_inputs(case, seed, dtype, oracle):
    """The case's inputs on the active backend; on the host for an oracle (NumPy only)."""
    host = case.inputs(seed, dtype)
    return host if oracle else [to_device(x) for x in host]


def check_case(case, seed=0, elementwise=True, directions=3, oracle=False):
    """check_op (central differences, float64) for a case. Returns a GradcheckResult."""
    return check_op(*case.pair(oracle), _case_inputs(case, seed, "float64", oracle), eps=case.eps,
                    directions=directions, elementwise=elementwise, seed=seed)


def compare_case_with_torch(case, dtype="float64", seed=0, oracle=False):
    """compare_with_torch (PyTorch autograd) for a case in ``dtype``. Returns a TorchResult."""
    return compare_with_torch(*case.pair(oracle), _case_inputs(case, seed, dtype, oracle),
                              case.torch_forward, seed=seed)
