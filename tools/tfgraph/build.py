"""TensorFlow graph nodes -> numdream graph nodes, with TensorFlow's names.

    Placeholder -> input          Conv2D (+ the BiasAdd after it) -> conv2d, named as the BiasAdd
    Relu -> relu                  MaxPool / AvgPool -> max_pool2d / avg_pool2d (SAME or VALID)
    LRN -> lrn                    Concat / ConcatV2 on the channel axis -> concat
    Softmax -> softmax            Reshape [-1, K] + MatMul (+ BiasAdd) -> dense
    Const -> weights              Identity -> the same tensor under another name

So `conv2d0_pre_relu` is the convolution with its bias, `conv2d0` its ReLU, `mixed4c` the concat,
`softmax2_pre_activation` the classifier's logits, as in the TensorFlow DeepDream notebook.
TensorFlow is NHWC: kernels HWIO become OIHW. Its MatMul reads a Reshape that flattens NHWC
(index (h * W + w) * C + c), while numdream's dense flattens C-major ((c * H + h) * W + w): the
weight rows are permuted once here, for a square h x w grid (h = w = sqrt(K / C); 1 x 1 for
inception5h's main classifier, 4 x 4 for its auxiliary heads), so numdream keeps one dense.
TensorFlow's LRN sums over depth_radius channels each side with alpha not divided by the window;
numdream's (Caffe's) divides it: size = 2 * depth_radius + 1, alpha = alpha_tf * size.
AvgPool's divisor counts only real pixels (count_include_pad false), as TensorFlow does.
"""
import math

import numpy as np

from bounds import names_line, short
from numdream.modelfile import Node

from . import GraphError

CONVERTED = ("Placeholder, Const, Identity, Conv2D, BiasAdd, Relu, MaxPool, AvgPool, LRN, Concat, "
             "ConcatV2, Reshape, MatMul, Softmax")


def topological(nodes, path):
    """The nodes with every input before its reader (GraphDefs need not be sorted).

    An iterative depth-first walk: a node is 'open' from its expansion until all its inputs
    are done, and the open nodes are exactly the current path from the start node. Meeting an
    open node again is a cycle, reported with its nodes (TensorFlow's own loops, NextIteration
    and friends, are not ops numdream converts); without this check the walk would never end."""
    by_name = {n.name: n for n in nodes}
    if len(by_name) != len(nodes):
        seen = set()
        twice = next(n.name for n in nodes if n.name in seen or seen.add(n.name))
        raise GraphError(f"{path}: two nodes are named {short(twice)}")
    done, order, open_path, open_at = set(), [], [], {}
    for start in nodes:
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                done.add(node.name)
                order.append(node)
                del open_at[open_path.pop().name]
                continue
            if node.name in done:
                continue
            if node.name in open_at:
                cycle = [n.name for n in open_path[open_at[node.name]:]] + [node.name]
                raise GraphError(f"{path}: the graph has a cycle through {len(cycle) - 1} node(s): "
                                 f"{names_line(cycle)}")
            stack.append((node, True))
            open_at[node.name] = len(open_path)
            open_path.append(node)
            for src in reversed(node.inputs):
                if src not in by_name:
                    raise GraphError(f"{path}: node {short(node.name)} reads {short(src)}, which is not in the graph")
                if src not in done:
                    stack.append((by_name[src], False))
    return order


class _Converter:
    def __init__(self, nodes, path):
        self.path, self.nodes = path, topological(nodes, path)
        self.readers = {}
        for n in self.nodes:
            for src in n.inputs:
                self.readers.setdefault(src, []).append(n)
        self.consts = {}     # tf name -> numpy array
        self.tensors = {}    # tf name -> (numdream node name, rank 4 | 2, flattened by a Reshape)
        self.channels = {}   # numdream node name -> channels
        self.out, self.absorbed = [], set()

    def where(self, n):
        return f"{self.path}: node {n.name!r} ({n.op})"

    def const(self, n, i):
        if n.inputs[i] not in self.consts:
            raise GraphError(f"{self.where(n)}: input {i} ({n.inputs[i]!r}) must be a constant")
        return self.consts[n.inputs[i]]

    def tensor(self, n, i=0, rank=None):
        """(numdream name, rank) of input i, which must be a computed tensor of that rank."""
        src = n.inputs[i]
        if src not in self.tensors:
            raise GraphError(f"{self.where(n)}: input {i} ({src!r}) is not computed from the image")
        name, r, flat = self.tensors[src]
        if flat and n.op != "MatMul":
            raise GraphError(f"{self.where(n)}: reads the Reshape {src!r}; numdream converts a "
                             "Reshape only as the flatten before a MatMul")
        if rank is not None and r != rank:
            raise GraphError(f"{self.where(n)}: needs a rank-{rank} input, {src!r} has rank {r}")
        return name, r

    def emit(self, n, name, op, inputs, attrs=None, params=None, rank=4, channels=None):
        self.out.append(Node(name, op, inputs, attrs or {}, params or {}))
        self.channels[name] = channels if channels is not None else self.channels[inputs[0]]
        self.tensors[n.name] = (name, rank, False)
        if name != n.name:
            self.tensors[name] = (name, rank, False)

    def bias_after(self, n, size):
        """(name, bias) for a Conv2D/MatMul: its BiasAdd's name and constant when that BiasAdd is
        its only reader, else its own name and zeros."""
        readers = self.readers.get(n.name, [])
        if len(readers) == 1 and readers[0].op == "BiasAdd" and readers[0].inputs[1] in self.consts:
            bias = self.consts[readers[0].inputs[1]]
            if bias.size != size:
                raise GraphError(f"{self.where(readers[0])}: a bias of {bias.size} values for "
                                 f"{size} channels")
            self.absorbed.add(readers[0].name)
            return readers[0].name, bias.astype(np.float32).reshape(size)
        return n.name, np.zeros(size, np.float32)


def build_nodes(nodes, path):
    """numdream Nodes in execution order for a GraphDef's nodes (see the module docstring)."""
    c = _Converter(nodes, path)
    placeholders = [n for n in c.nodes if n.op == "Placeholder"]
    if len(placeholders) != 1:
        raise GraphError(f"{path}: the graph needs one Placeholder (the image), it has "
                         f"{len(placeholders)}: {names_line(n.name for n in placeholders)}")
    for n in c.nodes:
        _check_arity(c, n)
    for n in c.nodes:  # constants first: a BiasAdd's bias may come after its Conv2D in the file
        if n.op == "Const" and not isinstance(n.attrs.get("value"), np.ndarray):
            raise GraphError(f"{c.where(n)}: a constant without a tensor value")
        if n.op == "Const" or (n.op == "Identity" and n.inputs[0] in c.consts):
            c.consts[n.name] = n.attrs["value"] if n.op == "Const" else c.consts[n.inputs[0]]
    for n in c.nodes:
        if n.name in c.consts:
            continue
        if n.op not in _OPS:
            raise GraphError(f"{c.where(n)}: numdream cannot convert op {n.op!r}; it converts {CONVERTED}")
        _OPS[n.op](c, n)
    return c.out


# op -> (fewest, most inputs); Concat: the axis and at least one tensor
_ARITY = {"Placeholder": (0, 0), "Const": (0, 0), "Identity": (1, 1), "Conv2D": (2, 2),
          "BiasAdd": (2, 2), "Relu": (1, 1), "Softmax": (1, 1), "MaxPool": (1, 1), "AvgPool": (1, 1),
          "LRN": (1, 1), "Concat": (2, math.inf), "ConcatV2": (2, math.inf), "Reshape": (2, 2),
          "MatMul": (2, 2)}


def _check_arity(c, n):
    low, high = _ARITY.get(n.op, (0, math.inf))
    if not low <= len(n.inputs) <= high:
        wanted = f"{low}" if low == high else f"at least {low}"
        raise GraphError(f"{c.where(n)}: takes {wanted} input(s), has {len(n.inputs)}")


def _int_attr(c, n, key, default):
    value = n.attrs.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphError(f"{c.where(n)}: attr {key!r} is {short(value)}, expected an int")
    return value


def _float_attr(c, n, key, default):
    value = n.attrs.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GraphError(f"{c.where(n)}: attr {key!r} is {short(value)}, expected a number")
    return float(value)


# ---- one function per op --------------------------------------------------------------------

def _nhwc(c, n, key, default=None):
    """(h, w) of an NHWC attr such as strides [1, sh, sw, 1]."""
    values = n.attrs.get(key, default)
    if (not isinstance(values, list) or len(values) != 4 or values[0] != 1 or values[3] != 1
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
        raise GraphError(f"{c.where(n)}: {key} {short(values)} is not [1, h, w, 1] (ints)")
    return [int(values[1]), int(values[2])]


def _check_layout(c, n):
    """NHWC and a padding of SAME or VALID, which TensorFlow requires (there is no default)."""
    if n.attrs.get("data_format", "NHWC") != "NHWC":
        raise GraphError(f"{c.where(n)}: data_format {short(n.attrs['data_format'])}; numdream converts NHWC graphs")
    if "padding" not in n.attrs:
        raise GraphError(f"{c.where(n)}: has no padding attr (TensorFlow requires SAME or VALID)")
    if n.attrs["padding"] not in ("SAME", "VALID"):
        raise GraphError(f"{c.where(n)}: padding {short(n.attrs['padding'])} is not SAME or VALID")


def _placeholder(c, n):
    shape = n.attrs.get("shape", [])
    if not isinstance(shape, list):
        raise GraphError(f"{c.where(n)}: attr 'shape' is {short(shape)}, expected a shape [N, H, W, C]")
    if len(shape) == 4 and shape[3] not in (-1, 3):
        raise GraphError(f"{c.where(n)}: the image has {shape[3]} channels; numdream needs 3")
    c.emit(n, n.name, "input", [], {"channels": 3}, channels=3)


def _identity(c, n):
    if n.inputs[0] not in c.tensors:
        raise GraphError(f"{c.where(n)}: input {short(n.inputs[0])} is not computed from the image")
    c.tensors[n.name] = c.tensors[n.inputs[0]]


def _conv2d(c, n):
    _check_layout(c, n)
    x, _ = c.tensor(n, 0, rank=4)
    w = c.const(n, 1)
    if any(d != 1 for d in n.attrs.get("dilations", [1, 1, 1, 1])):
        raise GraphError(f"{c.where(n)}: dilated convolution is not supported")
    if w.ndim != 4 or w.shape[2] != c.channels[x] or 0 in w.shape:
        raise GraphError(f"{c.where(n)}: filter {w.shape} does not read the {c.channels[x]} channels "
                         f"of {short(x)} (a filter is [kh, kw, in, out], every dim at least 1)")
    name, b = c.bias_after(n, w.shape[3])
    c.emit(n, name, "conv2d", [x], {"stride": _nhwc(c, n, "strides"), "padding": n.attrs["padding"].lower()},
           {"w": np.ascontiguousarray(w.transpose(3, 2, 0, 1), dtype=np.float32), "b": b}, channels=w.shape[3])


def _bias_add(c, n):
    if n.name not in c.absorbed:
        raise GraphError(f"{c.where(n)}: numdream folds a BiasAdd into the Conv2D or MatMul it "
                         f"follows; {n.inputs[0]!r} is not one (or has other readers)")


def _pool(c, n):
    _check_layout(c, n)
    x, _ = c.tensor(n, 0, rank=4)
    attrs = {"size": _nhwc(c, n, "ksize"), "stride": _nhwc(c, n, "strides"),
             "padding": n.attrs["padding"].lower(), "ceil_mode": False}
    if n.op == "AvgPool":
        attrs["count_include_pad"] = False  # TensorFlow divides by the real pixels of the window
    c.emit(n, n.name, "max_pool2d" if n.op == "MaxPool" else "avg_pool2d", [x], attrs)


def _elementwise(op):
    def convert(c, n):
        x, rank = c.tensor(n)
        c.emit(n, n.name, op, [x], {"axis": 1} if op == "softmax" else {}, rank=rank)
    return convert


def _lrn(c, n):
    x, _ = c.tensor(n, 0, rank=4)
    size = 2 * _int_attr(c, n, "depth_radius", 5) + 1
    c.emit(n, n.name, "lrn", [x], {"size": size, "alpha": _float_attr(c, n, "alpha", 1.0) * size,
                                   "beta": _float_attr(c, n, "beta", 0.5), "k": _float_attr(c, n, "bias", 1.0)})


def _concat(c, n):
    axis_at = 0 if n.op == "Concat" else len(n.inputs) - 1
    axes = np.asarray(c.const(n, axis_at)).reshape(-1)
    if axes.size != 1 or axes.dtype.kind not in "iu":
        raise GraphError(f"{c.where(n)}: its axis input {short(n.inputs[axis_at])} is not one integer")
    axis = int(axes[0])
    parts = [c.tensor(n, i) for i in range(len(n.inputs)) if i != axis_at]
    rank = parts[0][1]
    if any(r != rank for _, r in parts) or axis not in (rank - 1, -1):
        raise GraphError(f"{c.where(n)}: concatenates along axis {axis}; numdream concatenates "
                         f"channels (the last axis, {rank - 1})")
    c.emit(n, n.name, "concat", [p for p, _ in parts], {"axis": 1}, rank=rank,
           channels=sum(c.channels[p] for p, _ in parts))


def _reshape(c, n):
    x, _ = c.tensor(n)
    shape = [int(v) for v in np.asarray(c.const(n, 1)).reshape(-1)[:3]]
    if len(shape) != 2 or shape[1] <= 0 or shape[1] % c.channels[x]:
        raise GraphError(f"{c.where(n)}: reshapes to {shape}; numdream converts a Reshape only as "
                         f"the flatten [-1, K] before a MatMul (K a multiple of {c.channels[x]} channels)")
    c.tensors[n.name] = (x, 2, True)


def _matmul(c, n):
    x, _ = c.tensor(n)
    w = c.const(n, 1).astype(np.float32)
    if n.attrs.get("transpose_a", False):
        raise GraphError(f"{c.where(n)}: transpose_a is not supported")
    if w.ndim != 2 or 0 in w.shape:
        raise GraphError(f"{c.where(n)}: weight {short(n.inputs[1])} has shape {w.shape}; a MatMul "
                         "weight is 2-D [in, out], every dim at least 1")
    w = w.T if n.attrs.get("transpose_b", False) else w  # (K, O)
    k, o = w.shape
    channels = c.channels[x]
    side = math.isqrt(k // channels)
    if k % channels or side * side * channels != k:
        raise GraphError(f"{c.where(n)}: reads {k} values from {channels} channels of {x!r}, not a "
                         "square grid; numdream cannot tell the grid's height from its width")
    # rows (h, w, c) in TensorFlow's NHWC flatten -> (c, h, w), numdream's C-major flatten
    w = w.reshape(side, side, channels, o).transpose(3, 2, 0, 1).reshape(o, k)
    name, b = c.bias_after(n, o)
    c.emit(n, name, "dense", [x], {}, {"w": np.ascontiguousarray(w), "b": b}, rank=2, channels=o)


_OPS = {"Placeholder": _placeholder, "Identity": _identity, "Conv2D": _conv2d,
        "BiasAdd": _bias_add, "Relu": _elementwise("relu"), "Softmax": _elementwise("softmax"),
        "MaxPool": _pool, "AvgPool": _pool, "LRN": _lrn, "Concat": _concat, "ConcatV2": _concat,
        "Reshape": _reshape, "MatMul": _matmul}
