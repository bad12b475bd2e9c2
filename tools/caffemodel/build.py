"""Caffe layers -> numdream graph nodes, named by the blob names users know.

Caffe layers read and write named blobs. A node takes the name of the blob it writes, so
`inception_4c/output` is the concat that Google's notebook dreams on. A ReLU usually runs in
place (top == bottom): the blob then holds the ReLU's output, as `net.blobs[...]` shows it in
Caffe, and the value it overwrote stays reachable as `<blob>/pre_relu` (the convolution before).

Layer types: Convolution -> conv2d (pad, stride, kernel, group); Pooling -> max_pool2d /
avg_pool2d with Caffe's rounding up of output sizes (ceil_mode) and, for AVE, a divisor that
counts the padding (count_include_pad), or a global pool; ReLU, LRN (ACROSS_CHANNELS), Concat,
InnerProduct -> dense, Softmax. Dropout and Split are the identity at test time and are dropped.
Data, loss and accuracy layers, and layers excluded from the TEST phase, are skipped.
"""
from numdream.modelfile import Node

import numpy as np

from bounds import names_line, short
from protobuf_wire import last

from . import CaffeError

SKIPPED_TYPES = {"Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData",
                 "AnnotatedData", "Accuracy", "Silence", "HDF5Output", "Input"}
IDENTITY_TYPES = {"Dropout", "Split"}
CONVERTED = "Convolution, Pooling, ReLU, LRN, Concat, InnerProduct, Softmax"


def is_skipped(layer):
    return layer.type in SKIPPED_TYPES or layer.type.endswith("Loss") or not layer.in_test


class _Graph:
    """Nodes whose names are decided at the end, once every in-place write of a blob is known."""

    def __init__(self, input_blob):
        self.nodes = [Node(None, "input", [], {"channels": 3})]
        self.current = {input_blob: 0}      # blob -> index of the node holding its value now
        self.writers = {input_blob: [0]}    # blob -> indices of the nodes that wrote it, in order

    def read(self, blob, where):
        if blob not in self.current:
            raise CaffeError(f"{where}: reads blob {blob!r}, which no earlier layer writes")
        return self.current[blob]

    def add(self, op, layer, where, attrs=None, params=None):
        if len(layer.tops) != 1:
            raise CaffeError(f"{where}: has {len(layer.tops)} top blobs; numdream converts layers with one")
        inputs = [self.read(b, where) for b in layer.bottoms]
        self.nodes.append(Node(None, op, inputs, attrs or {}, params or {}))
        top = layer.tops[0]
        self.current[top] = len(self.nodes) - 1
        self.writers.setdefault(top, []).append(len(self.nodes) - 1)

    def named_nodes(self, path):
        """The nodes with their names: the last writer of a blob gets the blob's name, an earlier
        one `<blob>/pre_<op of the next writer>` (conv1/7x7_s2/pre_relu)."""
        names = {}
        for blob, indices in self.writers.items():
            for i, index in enumerate(indices):
                later = indices[i + 1] if i + 1 < len(indices) else None
                names[index] = blob if later is None else f"{blob}/pre_{self.nodes[later].op}"
        if len(set(names.values())) != len(names):
            raise CaffeError(f"{path}: two nodes would both be named after one blob")
        for index, node in enumerate(self.nodes):
            node.name = names[index]
            node.inputs = [names[i] for i in node.inputs]
        return self.nodes


def find_input(layers, path):
    """The one blob that kept layers read but none writes: the image. One pass, in file order.

    Caffe runs layers in file order, so a blob read before any layer writes it and written
    later is a cycle (or a misordered net): named, as is a net with no or several image blobs."""
    written, unwritten = set(), {}  # unwritten: blob read before any write -> its first reader
    for layer in layers:
        if is_skipped(layer):
            continue
        for blob in layer.bottoms:
            if blob not in written:
                unwritten.setdefault(blob, layer.name)
        for blob in layer.tops:
            if blob in unwritten and blob not in written:
                raise CaffeError(f"{path}: layer {short(unwritten[blob])} reads blob {short(blob)} "
                                 f"before layer {short(layer.name)} writes it; Caffe runs layers "
                                 "in file order, so this is a cycle or a misordered net")
            written.add(blob)
    if len(unwritten) != 1:
        raise CaffeError(f"{path}: the net must read one image blob that no layer writes; it "
                         f"reads {len(unwritten)}: {names_line(unwritten)}")
    return next(iter(unwritten))


def build_nodes(layers, path, input_blob):
    """Nodes in execution order for the kept layers (see the module docstring)."""
    graph = _Graph(input_blob)
    for layer in layers:
        where = f"{path}: layer {layer.name!r} ({layer.type})"
        if is_skipped(layer):
            continue
        if layer.type in IDENTITY_TYPES:
            if len(layer.bottoms) != 1 or not layer.tops:
                raise CaffeError(f"{where}: takes one bottom blob and writes at least one top, "
                                 f"got {len(layer.bottoms)} bottom(s) and {len(layer.tops)} top(s)")
            for top in layer.tops:
                graph.current[top] = graph.read(layer.bottoms[0], where)
        elif layer.type in _CONVERTERS:
            _CONVERTERS[layer.type](graph, layer, where)
        else:
            raise CaffeError(f"{where}: numdream cannot convert layer type {layer.type!r}; it "
                             f"converts {CONVERTED}, drops Dropout and skips data, loss and "
                             "accuracy layers")
    return graph.named_nodes(path)


# ---- one function per layer type ----------------------------------------------------------

def _pair(p, key, where, default=None):
    """(h, w) of Caffe's `key_h`/`key_w` fields, or of `key` given once or twice."""
    h, w = last(p, f"{key}_h"), last(p, f"{key}_w")
    if h is not None or w is not None:
        if h is None or w is None:
            raise CaffeError(f"{where}: sets {key}_h or {key}_w but not both")
        return int(h), int(w)
    values = p.get("kernel_size" if key == "kernel" else key, [])
    if len(values) in (1, 2):
        return int(values[0]), int(values[-1])
    if not values and default is not None:
        return default, default
    raise CaffeError(f"{where}: {key} must be given once or as height and width, got {values}")


def _require(condition, where, message):
    if not condition:
        raise CaffeError(f"{where}: {message}")


def _weights(layer, where, bias_term):
    _require(len(layer.blobs) == (2 if bias_term else 1), where,
             f"expected {2 if bias_term else 1} weight blob(s), found {len(layer.blobs)} "
             "(is this the .caffemodel that goes with the net?)")
    w = layer.blobs[0]
    _require(w.ndim >= 1 and w.size > 0, where, f"its weight blob is empty (shape {w.shape})")
    b = layer.blobs[1].reshape(-1) if bias_term else np.zeros(0, np.float32)
    return w, b


def _convolution(graph, layer, where):
    p = layer.params
    _require(all(d == 1 for d in p.get("dilation", [])), where, "dilated convolution is not supported")
    _require(last(p, "axis", 1) == 1, where, "only axis 1 (channels) convolution is supported")
    w, b = _weights(layer, where, last(p, "bias_term", True))
    kernel = _pair(p, "kernel", where)
    _require(w.ndim == 4 and w.shape[2:] == kernel, where,
             f"weights of shape {w.shape} do not match kernel {kernel}")
    o = w.shape[0]
    b = b if b.size else np.zeros(o, np.float32)
    _require(b.shape == (o,) and last(p, "num_output", o) == o, where,
             f"num_output {last(p, 'num_output')}, weights {w.shape} and bias {b.shape} disagree")
    (sh, sw), (ph, pw) = _pair(p, "stride", where, 1), _pair(p, "pad", where, 0)
    attrs = {"stride": [sh, sw], "padding": [ph, ph, pw, pw]}
    if last(p, "group", 1) != 1:
        attrs["groups"] = int(last(p, "group"))
    graph.add("conv2d", layer, where, attrs, {"w": w, "b": b})


def _pooling(graph, layer, where):
    p = layer.params
    method = last(p, "pool", 0)
    _require(method in (0, 1), where, "only MAX and AVE pooling are supported (not STOCHASTIC)")
    op = "max_pool2d" if method == 0 else "avg_pool2d"
    if last(p, "global_pooling", False):
        _require(_pair(p, "pad", where, 0) == (0, 0) and _pair(p, "stride", where, 1) == (1, 1),
                 where, "global pooling takes no pad or stride (Caffe refuses them too)")
        return graph.add(op, layer, where, {"global": True})
    (kh, kw), (sh, sw) = _pair(p, "kernel", where), _pair(p, "stride", where, 1)
    ph, pw = _pair(p, "pad", where, 0)
    attrs = {"size": [kh, kw], "stride": [sh, sw], "padding": [ph, ph, pw, pw],
             "ceil_mode": last(p, "round_mode", 0) == 0}  # Caffe rounds output sizes up (CEIL)
    if op == "avg_pool2d":
        attrs["count_include_pad"] = True  # Caffe divides by the window's size inside the padding
    graph.add(op, layer, where, attrs)


def _relu(graph, layer, where):
    _require(last(layer.params, "negative_slope", 0.0) == 0.0, where, "leaky ReLU (negative_slope) is not supported")
    graph.add("relu", layer, where)


def _lrn(graph, layer, where):
    p = layer.params
    _require(last(p, "norm_region", 0) == 0, where, "only ACROSS_CHANNELS LRN is supported")
    graph.add("lrn", layer, where, {"size": int(last(p, "local_size", 5)), "alpha": float(last(p, "alpha", 1.0)),
                                    "beta": float(last(p, "beta", 0.75)), "k": float(last(p, "k", 1.0))})


def _concat(graph, layer, where):
    axis = last(layer.params, "axis", last(layer.params, "concat_dim", 1))
    _require(axis == 1, where, f"concat along axis {axis}; numdream concatenates channels (axis 1)")
    graph.add("concat", layer, where, {"axis": 1})


def _inner_product(graph, layer, where):
    p = layer.params
    _require(last(p, "axis", 1) == 1, where, "only axis 1 InnerProduct (one vector per image) is supported")
    w, b = _weights(layer, where, last(p, "bias_term", True))
    w = w.reshape(-1, w.shape[-1])  # (O, K), also from a legacy (1, 1, O, K) blob
    if last(p, "transpose", False):
        w = np.ascontiguousarray(w.T)
    o = w.shape[0]
    b = b if b.size else np.zeros(o, np.float32)
    _require(b.shape == (o,) and last(p, "num_output", o) == o, where,
             f"num_output {last(p, 'num_output')}, weights {w.shape} and bias {b.shape} disagree")
    graph.add("dense", layer, where, params={"w": w, "b": b})


def _softmax(graph, layer, where):
    _require(last(layer.params, "axis", 1) == 1, where, "only softmax over channels (axis 1) is supported")
    graph.add("softmax", layer, where, {"axis": 1})


_CONVERTERS = {"Convolution": _convolution, "Pooling": _pooling, "ReLU": _relu, "LRN": _lrn,
               "Concat": _concat, "InnerProduct": _inner_product, "Softmax": _softmax}
