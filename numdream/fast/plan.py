"""The fused execution plan: the steps Model.forward/backward run when fuse=True (the default).

A step has the interface of numdream.nodes.NodeStep (``inputs``, ``outputs``,
``forward(xs) -> (ys, cache)``, ``backward(dys, cache) -> dxs``) but may compute several graph
nodes at once. ``fused_plan`` fuses what the readable ops would do in several passes, and is
checked against the readable plan (one NodeStep per node) in the tests:
- every convolution runs through numdream.fast.conv (im2col in cache-sized row chunks), except
  the stride-1 3x3, 5x5, 1x7 and 7x1 ones, which run through Winograd's minimal filtering
  (numdream.fast.winograd; winograd.tile_for is the measured per-layer rule, recorded on the
  step as ``tile``): forward and input gradient both, from weights transformed once per model
  (the ``transformed`` dict that Model keeps for all its plans, so two target sets share them);
- a convolution and the ReLU that is its only reader: the convolution's own pieces apply the
  ReLU as they write its output, and a Winograd convolution's backward applies the mask inside
  its chunks (an im2col one masks dy first); when a max pool is the ReLU's only reader, the ReLU
  moves after the pool, into the pool's pieces (see ConvStep);
- sibling 1x1 convolutions that read the same tensor (the first layer of most Inception
  branches): one GEMM with their weights stacked, whose backward also sums the branches'
  gradients for free; an Inception pool branch (average pool, then 1x1 conv) joins that GEMM,
  the pool moving after the conv (fast/pointwise.py);
- the memory-bound passes that remain (the masks of the im2col convolutions' ReLUs, the concats)
  run in channel pieces on numdream's threads (fast/elementwise.py).
"""
import functools
from collections import namedtuple

from ..nodes import NodeStep, resolve_padding, spatial_stride, window
from ..ops.geometry import pair
from . import conv as fast_conv
from . import elementwise
from . import pool as fast_pool
from . import winograd
from .memory import reuse_freed_memory
from .pointwise import PointwiseGroupStep


def windows_of(node):
    """nodes.window(node, hw) as a function of hw = (H, W) alone, kept per size: it took 9 us a
    call, a plan step sees a few sizes, and a step of InceptionV3 asked 100 times."""
    return functools.lru_cache(maxsize=32)(lambda hw: window(node, hw))


ConvStepCache = namedtuple("ConvStepCache", "x_shape stride padding y pool")  # y: the ReLU output, or None


class ConvStep:
    """conv2d through the cache-friendly fast path, with its ReLU (if fused) applied by the
    convolution's own pieces as they write y (Winograd's copy of its tiles, im2col's epilogue),
    and the ReLU's mask applied inside Winograd's backward chunks, on the rows each reads: one
    output buffer instead of two, and no pass over memory nor join of the threads of their own
    (they were 60 of a 512x512 step's 147 joins). The backward of an im2col convolution masks dy
    first (elementwise.relu_backward): its pieces read all of dy.

    With a max pool that reads only the ReLU (InceptionV3's stem), the ReLU runs after the pool
    instead: relu is monotone, so maxpool(relu(x)) = relu(maxpool(x)) value for value, and the
    gradients agree too (where a window's maximum is positive both route it to the same first
    maximum; where it is not, both give 0). The ReLU and its mask then touch the pooled output,
    a quarter of the size, instead of the convolution's, inside the pool's own pieces.

    The convolution itself runs through Winograd where winograd.tile_for(kernel, stride) gives
    an output tile (``self.tile``; None: im2col), on ``self.u``, the weights transformed once
    and kept in ``transformed`` under (conv name, tile, dtype).
    """

    def __init__(self, conv, relu=None, pool=None, transformed=None, use_winograd=True):
        self.conv, self.relu, self.pool = conv, relu, pool
        self.conv_window = windows_of(conv)
        self.pool_window = windows_of(pool) if pool is not None else None
        self.inputs, self.outputs = list(conv.inputs), [(pool or relu or conv).name]
        self.w, self.b = conv.params["w"], conv.params.get("b")
        self.kernel = tuple(self.w.shape[2:])
        stride = pair(conv.attrs.get("stride", 1))
        self.tile = winograd.tile_for(self.kernel, stride, conv.attrs.get("groups", 1)) if use_winograd else None
        self.u = self.w_flipped = None
        # the input gradient's kernel, where that gradient is a convolution of dy with it (stride 1,
        # padding at most kernel - 1 per side; at stride 1 'same' padding does not depend on the size)
        padding = resolve_padding(conv.attrs.get("padding", "valid"), self.kernel, self.kernel, stride)
        if (self.tile is None and self.kernel != (1, 1)
                and fast_conv.full_padding(self.kernel, stride, padding) is not None):
            self.w_flipped = fast_conv.flip_for_input_gradient(self.w)
        if self.tile is not None:
            transformed = {} if transformed is None else transformed
            key = (conv.name, self.tile, str(self.w.dtype))
            if key not in transformed:
                transformed[key] = winograd.transform_weights(self.w, self.tile)
            self.u = transformed[key]

    def forward(self, xs):
        x = xs[0]
        _, stride, padding = self.conv_window(x.shape[2:])
        relu = self.relu is not None
        conv_relu = relu and self.pool is None  # else the pool's pieces apply it
        if self.u is not None:
            y = winograd.conv2d_forward(x, self.u, self.b, padding, self.tile, self.kernel, relu=conv_relu)
        else:
            y = fast_conv.conv2d_forward(x, self.w, self.b, stride, padding, relu=conv_relu)
        pool_cache = None
        if self.pool is not None:
            kernel, pool_stride, pool_padding = self.pool_window(y.shape[2:])
            y, pool_cache = fast_pool.max_pool2d_forward(y, kernel, pool_stride, pool_padding,
                                                         self.pool.attrs.get("ceil_mode", False), relu=relu)
        return [y], ConvStepCache(x.shape, stride, padding, y if relu else None, pool_cache)

    def backward(self, dys, cache):
        dy, mask = dys[0], cache.y  # cache.y: the ReLU's output, whose mask dy needs first
        if cache.pool is not None:  # the pool's pieces mask their channels
            dy, mask = fast_pool.max_pool2d_backward(dy, cache.pool, relu_output=mask), None
        elif mask is not None and self.u is None:  # im2col's pieces each read all of dy
            dy, mask = elementwise.relu_backward(dy, mask), None
        if self.u is not None:
            return [winograd.conv2d_backward_input(dy, cache.x_shape, self.u, cache.padding, self.tile, self.kernel,
                                                   relu_output=mask)]
        return [fast_conv.conv2d_backward_input(dy, cache.x_shape, self.w, cache.stride, cache.padding,
                                                self.w_flipped)]


def _is_pointwise(node):
    return (node.op == "conv2d" and node.params["w"].shape[2:] == (1, 1)
            and node.attrs.get("groups", 1) == 1  # a grouped conv is not one plain GEMM
            and spatial_stride(node) == 1 and node.attrs.get("padding") in ("same", "valid", [0, 0, 0, 0]))


class MaxPoolStep:
    """A max pool on its own (an Inception module's pool branch), in channel pieces (fast/pool.py)."""

    def __init__(self, pool):
        self.pool, self.window = pool, windows_of(pool)
        self.inputs, self.outputs = list(pool.inputs), [pool.name]

    def forward(self, xs):
        kernel, stride, padding = self.window(xs[0].shape[2:])
        y, cache = fast_pool.max_pool2d_forward(xs[0], kernel, stride, padding, self.pool.attrs.get("ceil_mode", False))
        return [y], cache

    def backward(self, dys, cache):
        return [fast_pool.max_pool2d_backward(dys[0], cache)]


class ConcatStep(NodeStep):
    """A concat along the channels (an Inception module's output), its inputs copied side by side
    in pieces (fast/elementwise.py); the backward is the readable one, views of dy."""

    def forward(self, xs):
        y, cache = elementwise.concat_forward_in_pieces(xs)
        return [y], cache


def fused_plan(nodes, order, until, transformed=None, use_winograd=True):
    """Steps that compute the nodes named in ``order`` (execution order, input first excluded).

    nodes: {name: Node}; until: names whose values the caller wants, which are never fused away;
    transformed: {(conv name, tile, dtype): Winograd weights}, filled as needed and reused (a
    model passes one dict to all its plans, so each conv's weights are transformed once);
    use_winograd: False keeps every convolution on im2col (winograd.default_on says when).
    """
    reuse_freed_memory()  # the fast path allocates the same large sizes every step (fast/memory.py)
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

    def pool_after(relu):
        """The max pool that may take the place of ``relu`` (its only reader), or None."""
        after = readers.get(relu.name, []) if relu is not None else []
        if relu is None or relu.name in until or len(after) != 1 or nodes[after[0]].op != "max_pool2d":
            return None
        return nodes[after[0]]

    def commuting_pool(conv):
        """The average pool feeding a pointwise conv that may move after it, or None."""
        pool = nodes[conv.inputs[0]]
        a = pool.attrs
        if (pool.op != "avg_pool2d" or pool.name in until or readers.get(pool.name) != [conv.name]
                or a.get("global") or a.get("ceil_mode") or a.get("count_include_pad")
                or pair(a.get("stride", 1)) != (1, 1)):
            return None
        return pool

    groups = {}  # the tensor that pointwise convs read -> [(conv, relu, pool)]
    for name in order:
        if _is_pointwise(nodes[name]):
            conv = nodes[name]
            pool = commuting_pool(conv)
            groups.setdefault((pool or conv).inputs[0], []).append((conv, fused_relu(conv), pool))
    group_of = {n.name: members for members in groups.values() if len(members) > 1
                for member in members for n in member if n is not None}

    steps, done = [], set()
    for name in order:
        node = nodes[name]
        if name in done:
            continue
        if name in group_of:
            step = PointwiseGroupStep(group_of[name])
            members = [n for member in group_of[name] for n in member if n is not None]
        elif node.op == "conv2d" and node.attrs.get("groups", 1) == 1:
            relu = fused_relu(node)
            pool = pool_after(relu)
            step, members = ConvStep(node, relu, pool, transformed, use_winograd), [n for n in (node, relu, pool) if n is not None]
        elif node.op == "max_pool2d":
            step, members = MaxPoolStep(node), [node]
        elif node.op == "concat" and node.attrs.get("axis", 1) == 1:
            step, members = ConcatStep(node), [node]
        else:
            step, members = NodeStep(node), [node]
        steps.append(step)
        done.update(n.name for n in members)
    return steps
