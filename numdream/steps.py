"""Execution steps: what Model.forward/backward actually run, one graph node or a fused group.

Every step has ``inputs`` and ``outputs`` (node names), ``forward(xs) -> (ys, cache)`` and
``backward(dys, cache) -> dxs`` (a dy may be None: no gradient reached that output).

``plan`` fuses what the readable ops would do in several passes, and is checked against the
unfused plan in the tests:
- every convolution runs through numdream.fast.conv (im2col in cache-sized row chunks);
- a convolution and the ReLU that is its only reader: the ReLU runs in place on the
  convolution's output, and its mask is applied inside the convolution's backward;
- sibling 1x1 convolutions that read the same tensor (the first layer of most Inception
  branches): one GEMM with their weights stacked, whose backward also sums the branches'
  gradients for free.
"""
from . import layers
from .backend import get_array_module
from .fast import conv as fast_conv


class NodeStep:
    """One graph node, run by numdream.layers through the readable ops."""

    def __init__(self, node):
        self.node = node
        self.inputs, self.outputs = list(node.inputs), [node.name]

    def forward(self, xs):
        y, cache = layers.forward(self.node, xs)
        return [y], cache

    def backward(self, dys, cache):
        return layers.backward(self.node, dys[0], cache)


def _relu_mask(dy, y):
    """dy where the ReLU output y is positive, else 0."""
    return dy * (y > 0)


class ConvStep:
    """conv2d through the cache-friendly fast path, with its ReLU (if fused) applied in place:
    one output buffer instead of two, and the ReLU mask applied inside the backward."""

    def __init__(self, conv, relu=None):
        self.conv, self.relu = conv, relu
        self.inputs, self.outputs = list(conv.inputs), [(relu or conv).name]
        self.w, self.b = conv.params["w"], conv.params.get("b")

    def forward(self, xs):
        x = xs[0]
        _, stride, padding = layers.window(self.conv, x.shape[2:])
        y = fast_conv.conv2d_forward(x, self.w, self.b, stride, padding)
        if self.relu is not None:
            get_array_module(y).maximum(y, 0, out=y)
        return [y], (x.shape, stride, padding, y if self.relu is not None else None)

    def backward(self, dys, cache):
        x_shape, stride, padding, y = cache
        dy = _relu_mask(dys[0], y) if y is not None else dys[0]
        return [fast_conv.conv2d_backward_input(dy, x_shape, self.w, stride, padding)]


class PointwiseGroupStep:
    """Sibling 1x1 stride-1 convolutions of one input (each optionally followed by its ReLU),
    computed as one GEMM. Outputs are channel slices (views) of one (N, sum O, H, W) buffer."""

    def __init__(self, members):
        self.members = members  # [(conv node, relu node or None)]
        self.inputs = list(members[0][0].inputs)
        self.outputs = [(relu or conv).name for conv, relu in members]
        xp = get_array_module(members[0][0].params["w"])
        self.w = xp.concatenate([conv.params["w"] for conv, _ in members])
        self.b = xp.concatenate([conv.params["b"] for conv, _ in members])
        edges = [0]
        for conv, _ in members:
            edges.append(edges[-1] + conv.params["w"].shape[0])
        self.slices = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def forward(self, xs):
        y = fast_conv.conv2d_forward(xs[0], self.w, self.b, (1, 1), (0, 0, 0, 0))
        xp = get_array_module(y)
        outs = []
        for (conv, relu), part in zip(self.members, self.slices):
            view = y[:, part]
            if relu is not None:
                xp.maximum(view, 0, out=view)
            outs.append(view)
        return outs, (xs[0].shape, y)

    def backward(self, dys, cache):
        x_shape, y = cache
        xp = get_array_module(y)
        dy_all = xp.zeros_like(y)
        for (conv, relu), part, dy in zip(self.members, self.slices, dys):
            if dy is not None:
                dy_all[:, part] = _relu_mask(dy, y[:, part]) if relu is not None else dy
        return [fast_conv.conv2d_backward_input(dy_all, x_shape, self.w, (1, 1), (0, 0, 0, 0))]


def _is_pointwise(node):
    return (node.op == "conv2d" and node.params["w"].shape[2:] == (1, 1)
            and node.attrs.get("groups", 1) == 1  # a grouped conv is not one plain GEMM
            and layers.pair_stride(node) == 1 and node.attrs.get("padding") in ("same", "valid", [0, 0, 0, 0]))


def plan(nodes, order, until, fuse=True):
    """Steps that compute the nodes named in ``order`` (execution order, input first excluded).

    nodes: {name: Node}; until: names whose values the caller wants, which are never fused away.
    """
    if not fuse:
        return [NodeStep(nodes[name]) for name in order]
    readers = {}  # name -> the nodes in ``order`` that read it
    for name in order:
        for src in nodes[name].inputs:
            readers.setdefault(src, []).append(name)

    def fused_relu(conv):
        """The ReLU that can run in place on conv's output, or None."""
        after = readers.get(conv.name, [])
        if conv.name in until or len(after) != 1 or nodes[after[0]].op != "relu":
            return None
        return nodes[after[0]]

    steps, done = [], set()
    for name in order:
        node = nodes[name]
        if name in done:
            continue
        if node.op == "conv2d":
            siblings = [nodes[r] for r in readers[node.inputs[0]]
                        if _is_pointwise(nodes[r]) and r not in done] if _is_pointwise(node) else []
            if len(siblings) > 1:
                members = [(conv, fused_relu(conv)) for conv in siblings]
                steps.append(PointwiseGroupStep(members))
            else:
                relu = fused_relu(node)
                plain = node.attrs.get("groups", 1) == 1
                steps.append(ConvStep(node, relu) if plain else NodeStep(node))
                relu = relu if plain else None
                members = [(node, relu)]
            for conv, relu in members:
                done.update([conv.name] + ([relu.name] if relu is not None else []))
            continue
        steps.append(NodeStep(node))
        done.add(name)
    return steps
