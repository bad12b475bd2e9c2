"""Receptive fields: which input pixels a unit of a layer depends on, and a crop that computes it exactly.

    box = receptive_box(model, (H, W), {"mixed4": (7, 9)})    # (y0, y1, x0, x1) of the input
    (y0, y1, x0, x1), offsets = exact_crop(model, (H, W), {"mixed4": (7, 9)})

A unit's value depends on the pixels of its receptive field only, so its gradient is exactly zero
outside it, and a crop around it gives the same value and the same gradient there, if the crop
also keeps the network's arithmetic the same. Two things could change it:
- the grid: a stride-s window reads rows o*s - pad; a crop that starts at row y0 shifts that by y0,
  so y0 must be a multiple of every cumulative stride on the way (their lcm, S);
- TensorFlow's 'same' padding, and ceil-mode pooling, depend on the input size modulo the stride:
  the crop's size must be the image's size modulo S, so every layer pads the way it does on the
  whole image. (Zero padding at a crop edge that is not an image edge only touches positions
  whose windows leave the receptive field, which the unit does not read.)
The Neuron objective dreams through such a crop, so its memory is bounded by its receptive field,
not by the image.
"""
import math

from . import nodes
from .errors import NumdreamError

WINDOW_OPS = ("conv2d", "max_pool2d", "avg_pool2d")


def receptive_box(model, in_hw, cells):
    """(y0, y1, x0, x1): the input rows y0..y1-1 and columns x0..x1-1 that the units ``cells``
    ({layer: (y, x)} grid positions at input size in_hw = (H, W)) depend on, clipped to the image.

    Found by walking the graph backwards from the units: a window node maps its output rows
    [a, b] to input rows [a*s - pad, b*s - pad + k - 1]; a dense node or a global pool reads all
    of its input; any other node (relu, lrn, concat, softmax) keeps the rows.
    """
    targets = {model.aliases.get(name, name): cell for name, cell in cells.items()}
    order = model.needed(list(targets))
    hw = model.output_shapes(in_hw, order)
    spans = {}
    for name, (y, x) in targets.items():
        spans[name] = _hull(spans.get(name), (y, y, x, x))
    for name in reversed(order):
        node = model.nodes[name]
        if name not in spans or node.op == "input":
            continue
        for src in node.inputs:
            spans[src] = _hull(spans.get(src), _input_span(node, spans[name], hw[src]))
    source = next(name for name in order if model.nodes[name].op == "input")
    y0, y1, x0, x1 = spans[source]
    return y0, y1 + 1, x0, x1 + 1


def exact_crop(model, in_hw, cells):
    """The crop of an (H, W) input that computes the units ``cells`` exactly, or None if only
    the whole image does (a dense node or a global pool on the way reads every pixel).

    returns: ((y0, y1, x0, x1), offsets): the crop holds rows y0..y1-1 and columns x0..x1-1, and
    offsets[layer] = (dy, dx) is where the crop's grid starts in the layer's grid, so a unit at
    (y, x) of the image is at (y - dy, x - dx) of the crop.
    """
    targets = {model.aliases.get(name, name): name for name in cells}
    order = model.needed(list(targets))
    strides = _cumulative_strides(model, order)
    if any(s == 0 for pair in strides.values() for s in pair):
        return None
    sy = math.lcm(*(s for s, _ in strides.values()))
    sx = math.lcm(*(s for _, s in strides.values()))
    y0, y1, x0, x1 = receptive_box(model, in_hw, cells)
    (ys, ye), (xs, xe) = _aligned(y0, y1, in_hw[0], sy), _aligned(x0, x1, in_hw[1], sx)
    while True:  # grow a crop that is smaller than the network's smallest input, one stride a time
        try:
            model.output_shapes((ye - ys, xe - xs), list(cells))
            break
        except NumdreamError:
            if (ye - ys, xe - xs) == tuple(in_hw):
                raise
            ys, ye = _grow(ys, ye, in_hw[0], sy)
            xs, xe = _grow(xs, xe, in_hw[1], sx)
    offsets = {name: (ys // strides[node][0], xs // strides[node][1]) for node, name in targets.items()}
    return (ys, ye, xs, xe), offsets


def _input_span(node, span, in_hw):
    """The rows and columns (inclusive) of a node's input that its output span reads."""
    y0, y1, x0, x1 = span
    if node.op == "dense" or node.attrs.get("global"):
        return 0, in_hw[0] - 1, 0, in_hw[1] - 1
    if node.op not in WINDOW_OPS:
        return span
    (kh, kw), (sh, sw), (top, _, left, _) = nodes.window(node, in_hw)
    return (max(y0 * sh - top, 0), min(y1 * sh - top + kh - 1, in_hw[0] - 1),
            max(x0 * sw - left, 0), min(x1 * sw - left + kw - 1, in_hw[1] - 1))


def _cumulative_strides(model, order):
    """{node: (sy, sx)}: how many input pixels one step of the node's grid spans (0: the whole
    image, after a dense node or a global pool)."""
    strides = {}
    for name in order:
        node = model.nodes[name]
        if node.op == "input":
            strides[name] = (1, 1)
            continue
        sy = math.lcm(*(strides[s][0] for s in node.inputs))
        sx = math.lcm(*(strides[s][1] for s in node.inputs))
        if node.op == "dense" or node.attrs.get("global"):
            sy = sx = 0
        elif node.op in WINDOW_OPS:
            step_y, step_x = nodes.pair(node.attrs.get("stride", 1))
            sy, sx = sy * step_y, sx * step_x
        strides[name] = (sy, sx)
    return strides


def _aligned(start, stop, size, stride):
    """The smallest [s, e) around [start, stop) with s a multiple of ``stride`` and e - s equal
    to ``size`` modulo ``stride`` (then e <= size, as size - s itself qualifies)."""
    s = start // stride * stride
    length = stop - s
    return s, s + length + (size - length) % stride


def _grow(s, e, size, stride):
    """[s, e) one stride longer: at the end while it fits (e is then below size), else at the start."""
    if e + stride <= size:
        return s, e + stride
    return max(s - stride, 0), e


def _hull(a, b):
    """The smallest box holding boxes a (or None) and b, each (y0, y1, x0, x1), inclusive."""
    if a is None:
        return b
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])
