"""Graph nodes -> op calls: how each node op of a model file runs forward and backward.

``NodeStep`` wraps one node in the step interface the executor runs (numdream.model): the
readable path is a list of NodeSteps, one per node; numdream.fast.plan fuses nodes into faster
steps with the same interface.

A node's padding may be 'same' (TensorFlow's rule, which depends on the input size), 'valid',
or explicit (top, bottom, left, right); it is resolved here, per call, from the input's shape.
So is the window of a global pool ("global": true, Caffe's global_pooling): the whole input.
A dense node reads every value of its input and returns (N, O, 1, 1).
"""
from . import ops
from .ops.geometry import out_size, pair

PRE_RELU = ":pre_relu"  # suffix of a layer's values before its last ReLU: 'mixed4:pre_relu'


def resolve_padding(padding, in_hw, kernel, stride):
    """'same' | 'valid' | [t, b, l, r] -> (t, b, l, r) for an input of in_hw = (H, W)."""
    if padding == "same":
        return ops.same_padding(in_hw, kernel, stride)
    if padding == "valid":
        return (0, 0, 0, 0)
    return tuple(int(p) for p in padding)


def window(node, in_hw):
    """(kernel, stride, padding) of a conv or pool node for an input of in_hw."""
    a = node.attrs
    if a.get("global"):
        return tuple(in_hw), (1, 1), (0, 0, 0, 0)
    kernel = tuple(node.params["w"].shape[2:]) if node.op == "conv2d" else pair(a["size"])
    stride = pair(a.get("stride", 1))
    return kernel, stride, resolve_padding(a.get("padding", "valid"), in_hw, kernel, stride)


def output_hw(node, in_hws, in_channels=None):
    """Spatial size of a node's output, from its inputs' sizes (and channel counts, which a dense
    node needs); raises ValueError if a window does not fit or a dense node gets the wrong
    number of values."""
    if node.op == "dense":
        (h, w), k = in_hws[0], node.params["w"].shape[1]
        if in_channels is not None and in_channels[0] * h * w != k:
            raise ValueError(f"dense layer {node.name!r} reads {k} values but its input "
                             f"{node.inputs[0]!r} gives {in_channels[0]} x {h} x {w} = "
                             f"{in_channels[0] * h * w}")
        return 1, 1
    if node.op not in ("conv2d", "max_pool2d", "avg_pool2d"):
        return in_hws[0]
    (kh, kw), (sh, sw), (t, b, l, r) = window(node, in_hws[0])
    ceil = node.attrs.get("ceil_mode", False)
    h, w = in_hws[0]
    return out_size(h, kh, sh, t, b, ceil), out_size(w, kw, sw, l, r, ceil)


def forward(node, xs):
    """Run one node. xs: list of input arrays (N, C, H, W). Returns (y, cache)."""
    a = node.attrs
    if node.op == "concat":
        return ops.concat_forward(xs, axis=a.get("axis", 1))
    x = xs[0]
    if node.op == "relu":
        return ops.relu_forward(x)
    if node.op == "lrn":
        return ops.lrn_forward(x, a["size"], a["alpha"], a["beta"], a["k"])
    if node.op == "dense":
        return ops.dense_forward(x, node.params["w"], node.params["b"])
    if node.op == "softmax":
        return ops.softmax_forward(x)
    kernel, stride, padding = window(node, x.shape[2:])
    if node.op == "conv2d":
        return ops.conv2d_forward(x, node.params["w"], node.params.get("b"), stride, padding,
                                  groups=a.get("groups", 1))
    ceil = a.get("ceil_mode", False)
    if node.op == "max_pool2d":
        return ops.max_pool2d_forward(x, kernel, stride, padding, ceil)
    if node.op == "avg_pool2d":
        return ops.avg_pool2d_forward(x, kernel, stride, padding, a.get("count_include_pad", False), ceil)
    raise ValueError(f"node {node.name!r}: op {node.op!r} cannot run")


_BACKWARD = {
    "conv2d": ops.conv2d_backward,
    "relu": ops.relu_backward,
    "lrn": ops.lrn_backward,
    "max_pool2d": ops.max_pool2d_backward,
    "avg_pool2d": ops.avg_pool2d_backward,
    "dense": ops.dense_backward,
    "softmax": ops.softmax_backward,
}


def backward(node, dy, cache):
    """Gradient of one node: dy (N, C, H, W) -> list of dx, one per input."""
    if node.op == "concat":
        return ops.concat_backward(dy, cache)
    return [_BACKWARD[node.op](dy, cache)]


def spatial_stride(node):
    """The factor by which a node shrinks the spatial size: 1 for non-window ops, 0 for a dense
    node or a global pool, whose one output sees the whole image."""
    if node.op == "dense" or node.attrs.get("global"):
        return 0
    if node.op not in ("conv2d", "max_pool2d", "avg_pool2d"):
        return 1
    return pair(node.attrs.get("stride", 1))[0]


class NodeStep:
    """One graph node as an execution step, run through the readable ops.

    Every step has ``inputs`` and ``outputs`` (node names), ``forward(xs) -> (ys, cache)`` and
    ``backward(dys, cache) -> dxs``, one dx per input (a dy may be None: no gradient reached it).
    """

    def __init__(self, node):
        self.node = node
        self.inputs, self.outputs = list(node.inputs), [node.name]

    def forward(self, xs):
        y, cache = forward(self.node, xs)
        return [y], cache

    def backward(self, dys, cache):
        return backward(self.node, dys[0], cache)


def pre_relu_layers(graph):
    """The layers that can be read before their last ReLU, for a list of nodes in execution order.

    Feature visualisation maximises these: a ReLU's output is 0 wherever its input is negative,
    and there no gradient flows, so a channel that is off on the start image stays off; before
    the ReLU every unit has a gradient.
    - A ReLU node R: 'R:pre_relu' is R's input (an alias, nothing to compute).
    - A concat C whose inputs end in ReLUs (an Inception module): 'C:pre_relu' is a new concat
      node of each input's pre-ReLU value, in the same channel order. An input that has none
      (a max-pool branch of an earlier module) enters as it is.
    Returns (aliases, added): aliases {'R:pre_relu': name of R's input}; added [(new concat
    Node, name of the concat it follows)], to be placed right after it.
    """
    kinds = {node.name: node for node in graph}
    aliases, added = {}, []

    def before_relu(name):
        if name + PRE_RELU in aliases:
            return aliases[name + PRE_RELU]
        if any(node.name == name + PRE_RELU for node, _ in added):
            return name + PRE_RELU
        return name

    for node in graph:
        if node.op == "relu":
            aliases[node.name + PRE_RELU] = node.inputs[0]
        elif node.op == "concat" and any(kinds[s].op == "relu" or before_relu(s) != s for s in node.inputs):
            virtual = type(node)(node.name + PRE_RELU, "concat", [before_relu(s) for s in node.inputs],
                                 dict(node.attrs))
            added.append((virtual, node.name))
    return aliases, added
