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

from numdream.modelfile import Node

from . import GraphError

CONVERTED = ("Placeholder, Const, Identity, Conv2D, BiasAdd, Relu, MaxPool, AvgPool, LRN, Concat, "
             "ConcatV2, Reshape, MatMul, Softmax")


def topological(nodes, path):
    """The nodes with every input before its reader (GraphDefs need not be sorted)."""
    by_name = {n.name: n for n in nodes}
    done, order = set(), []
    for start in nodes:
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if node.name in done:
                continue
            if expanded:
                done.add(node.name)
                order.append(node)
                continue
            stack.append((node, True))
            for src in reversed(node.inputs):
                if src not in by_name:
                    raise GraphError(f"{path}: node {node.name!r} reads {src!r}, which is not in the graph")
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
            self.absorbed.add(readers[0].name)
            return readers[0].name, self.consts[readers[0].inputs[1]].astype(np.float32).reshape(size)
        return n.name, np.zeros(size, np.float32)


def build_nodes(nodes, path):
    """numdream Nodes in execution order for a GraphDef's nodes (see the module docstring)."""
    c = _Converter(nodes, path)
    placeholders = [n for n in c.nodes if n.op == "Placeholder"]
    if len(placeholders) != 1:
        raise GraphError(f"{path}: the graph needs one Placeholder (the image), it has "
                         f"{len(placeholders)}: {', '.join(n.name for n in placeholders) or 'none'}")
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


# ---- one function per op --------------------------------------------------------------------

def _nhwc(c, n, key, default=None):
    """(h, w) of an NHWC attr such as strides [1, sh, sw, 1]."""
    values = n.attrs.get(key, default)
    if not isinstance(values, list) or len(values) != 4 or values[0] != 1 or values[3] != 1:
        raise GraphError(f"{c.where(n)}: {key} {values!r} is not [1, h, w, 1]")
    return [int(values[1]), int(values[2])]


def _check_layout(c, n):
    if n.attrs.get("data_format", "NHWC") != "NHWC":
        raise GraphError(f"{c.where(n)}: data_format {n.attrs['data_format']!r}; numdream converts NHWC graphs")
    if n.attrs.get("padding", "VALID") not in ("SAME", "VALID"):
        raise GraphError(f"{c.where(n)}: padding {n.attrs['padding']!r} is not SAME or VALID")


def _placeholder(c, n):
    shape = n.attrs.get("shape") or []
    if len(shape) == 4 and shape[3] not in (-1, 3):
        raise GraphError(f"{c.where(n)}: the image has {shape[3]} channels; numdream needs 3")
    c.emit(n, n.name, "input", [], {"channels": 3}, channels=3)


def _identity(c, n):
    c.tensors[n.name] = c.tensors[n.inputs[0]]


def _conv2d(c, n):
    _check_layout(c, n)
    x, _ = c.tensor(n, 0, rank=4)
    w = c.const(n, 1)
    if any(d != 1 for d in n.attrs.get("dilations", [1, 1, 1, 1])):
        raise GraphError(f"{c.where(n)}: dilated convolution is not supported")
    if w.ndim != 4 or w.shape[2] != c.channels[x]:
        raise GraphError(f"{c.where(n)}: filter {w.shape} does not read the {c.channels[x]} channels of {x!r}")
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
    size = 2 * int(n.attrs.get("depth_radius", 5)) + 1
    c.emit(n, n.name, "lrn", [x], {"size": size, "alpha": float(n.attrs.get("alpha", 1.0)) * size,
                                   "beta": float(n.attrs.get("beta", 0.5)), "k": float(n.attrs.get("bias", 1.0))})


def _concat(c, n):
    axis_at = 0 if n.op == "Concat" else len(n.inputs) - 1
    axis = int(np.asarray(c.const(n, axis_at)).reshape(-1)[0])
    parts = [c.tensor(n, i) for i in range(len(n.inputs)) if i != axis_at]
    rank = parts[0][1]
    if any(r != rank for _, r in parts) or axis not in (rank - 1, -1):
        raise GraphError(f"{c.where(n)}: concatenates along axis {axis}; numdream concatenates "
                         f"channels (the last axis, {rank - 1})")
    c.emit(n, n.name, "concat", [p for p, _ in parts], {"axis": 1}, rank=rank,
           channels=sum(c.channels[p] for p, _ in parts))


def _reshape(c, n):
    x, _ = c.tensor(n)
    shape = [int(v) for v in np.asarray(c.const(n, 1)).reshape(-1)]
    if len(shape) != 2 or shape[1] <= 0 or shape[1] % c.channels[x]:
        raise GraphError(f"{c.where(n)}: reshapes to {shape}; numdream converts a Reshape only as "
                         f"the flatten [-1, K] before a MatMul (K a multiple of {c.channels[x]} channels)")
    c.tensors[n.name] = (x, 2, True)


def _matmul(c, n):
    x, _ = c.tensor(n)
    w = c.const(n, 1).astype(np.float32)
    if n.attrs.get("transpose_a", False):
        raise GraphError(f"{c.where(n)}: transpose_a is not supported")
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
