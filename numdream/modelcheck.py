"""Checks of a model graph, shared by reading and writing a model file (numdream.modelfile).

What each op needs (OPS: parameter datasets, ATTRS/OPTIONAL_ATTRS: attributes and their kinds),
and ``check_nodes``, which walks the graph once: ops, attrs, execution order, names, parameter
shapes and channel counts. Every problem is a ModelFileError naming the file.
"""
import numpy as np

from .errors import ModelFileError

# op -> the parameter datasets it needs
OPS = {
    "input": (),
    "conv2d": ("w", "b"),
    "relu": (),
    "max_pool2d": (),
    "avg_pool2d": (),
    "concat": (),
    "lrn": (),
    "dense": ("w", "b"),
    "softmax": (),
}

# op -> the attrs the executor reads -> their kind (see _KINDS at the end for what each allows)
_POOL = {"size": "pair", "stride": "pair", "padding": "padding", "ceil_mode": "bool"}
ATTRS = {
    "input": {"channels": "count"},
    "conv2d": {"stride": "pair", "padding": "padding"},
    "relu": {},
    "max_pool2d": _POOL,
    "avg_pool2d": {**_POOL, "count_include_pad": "bool"},
    "concat": {"axis": "channel_axis"},
    "lrn": {"size": "count", "alpha": "number", "beta": "number", "k": "number"},
    "dense": {},
    "softmax": {"axis": "channel_axis"},
}
# op -> attrs it may have -> their kind. A pool with "global": true covers its whole input
# (Caffe's global_pooling) and needs none of the window attrs above.
OPTIONAL_ATTRS = {
    "conv2d": {"groups": "count"},
    "max_pool2d": {"global": "bool"},
    "avg_pool2d": {"global": "bool"},
}


def check_nodes(nodes, path):
    """Check a node list: ops, attrs, input order, names, param shapes and channel counts.

    Channel counts propagate through the graph (conv2d and dense: O, concat: the sum, others:
    their input's), so a conv whose in-channels differ from its producer's is caught here and not
    as a shape error deep inside a forward pass. Raises ModelFileError naming ``path``.
    """
    channels = {}  # node name -> channels of its output
    for index, node in enumerate(nodes):
        where = f"{path}: node {index} ({node.name!r})"
        if node.name in channels:
            raise ModelFileError(f"{where}: duplicate node name")
        if node.op not in OPS:
            raise ModelFileError(f"{where}: unknown op {node.op!r}; valid ops: {', '.join(OPS)}")
        for src in node.inputs:
            if src not in channels:
                later = any(n.name == src for n in nodes)
                raise ModelFileError(f"{where}: input {src!r} is " + (
                    "a later node (nodes must be in execution order)" if later else "not a node"))
        low, high, text = _ARITY.get(node.op, (1, 1, "exactly one input"))
        if not low <= len(node.inputs) <= high:
            raise ModelFileError(f"{where}: {node.op} takes {text}, got {len(node.inputs)}")
        optional = OPTIONAL_ATTRS.get(node.op, {})
        required = {} if node.attrs.get("global") is True else ATTRS[node.op]
        for key, kind in {**optional, **ATTRS[node.op]}.items():  # 'global' decides the rest
            check, text = _KINDS[kind]
            if key not in node.attrs:
                if key in required:
                    raise ModelFileError(f"{where}: {node.op} needs attr {key!r} ({text})")
                continue
            if not check(node.attrs[key]):
                raise ModelFileError(f"{where}: attr {key!r} is {node.attrs[key]!r}, expected {text}")
        if sorted(node.params) != sorted(OPS[node.op]):
            raise ModelFileError(f"{where}: {node.op} has params {sorted(node.params)}, "
                                 f"expected {sorted(OPS[node.op])}")
        channels[node.name] = _out_channels(node, [channels[s] for s in node.inputs], where)
    if sum(n.op == "input" for n in nodes) != 1:
        raise ModelFileError(f"{path}: the graph needs exactly one 'input' node, found "
                             f"{sum(n.op == 'input' for n in nodes)}")


def _out_channels(node, in_channels, where):
    if node.op == "input":
        return node.attrs["channels"]
    if node.op == "concat":
        return sum(in_channels)
    if node.op == "dense":
        return _dense_channels(node, in_channels[0], where)
    if node.op != "conv2d":
        return in_channels[0]
    w, b = node.params["w"], node.params["b"]
    groups = node.attrs.get("groups", 1)
    if w.ndim != 4:
        raise ModelFileError(f"{where}: conv weight w has shape {w.shape}, expected 4-D "
                             f"(out_channels, in_channels, kh, kw)")
    _check_bias(w, b, where)
    if w.shape[1] * groups != in_channels[0]:
        raise ModelFileError(f"{where}: conv weight w {w.shape} with {groups} group(s) expects "
                             f"{w.shape[1] * groups} input channels but input {node.inputs[0]!r} "
                             f"has {in_channels[0]}")
    if w.shape[0] % groups:
        raise ModelFileError(f"{where}: {w.shape[0]} output channels do not split into {groups} groups")
    return w.shape[0]


def _check_bias(w, b, where):
    """A conv or dense bias has one value per output channel, w.shape[0]."""
    if b.shape != (w.shape[0],):
        raise ModelFileError(f"{where}: bias b has shape {b.shape}, expected ({w.shape[0]},) "
                             f"to match w {w.shape}")


def _dense_channels(node, in_channels, where):
    """dense reads K = C * h * w values: K must be a whole multiple of its input's channels."""
    w, b = node.params["w"], node.params["b"]
    if w.ndim != 2:
        raise ModelFileError(f"{where}: dense weight w has shape {w.shape}, expected 2-D "
                             f"(out_features, in_features)")
    _check_bias(w, b, where)
    if w.shape[1] % in_channels:
        raise ModelFileError(f"{where}: dense weight w {w.shape} reads {w.shape[1]} values, not a "
                             f"whole number of h x w grids of the {in_channels} channels of "
                             f"input {node.inputs[0]!r}")
    return w.shape[0]


def check_preprocess(pre, path):
    if pre.get("channel_order") not in ("RGB", "BGR"):
        raise ModelFileError(f"{path}: preprocess channel_order is {pre.get('channel_order')!r}, "
                             f"expected 'RGB' or 'BGR'")
    if len(pre.get("mean", [])) != 3 or not _is_number(pre.get("scale")) or pre["scale"] == 0:
        raise ModelFileError(f"{path}: preprocess needs mean (3 numbers) and a non-zero scale, got "
                             f"mean={pre.get('mean')!r} scale={pre.get('scale')!r}")


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v):
    return (_is_int(v) or isinstance(v, (float, np.floating))) and bool(np.isfinite(v))


def _is_padding(v):
    if v in ("same", "valid"):
        return True
    return isinstance(v, (list, tuple)) and len(v) == 4 and all(_is_int(p) and p >= 0 for p in v)


_ARITY = {"input": (0, 0, "no inputs"), "concat": (1, float("inf"), "at least one input")}
_KINDS = {  # attr kind -> (check, what it allows)
    "count": (lambda v: _is_int(v) and v > 0, "a positive int"),
    "pair": (lambda v: (_is_int(v) and v > 0) or (isinstance(v, (list, tuple)) and len(v) == 2
                                                  and all(_is_int(p) and p > 0 for p in v)),
             "a positive int or [h, w]"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "padding": (_is_padding, '"same", "valid" or [top, bottom, left, right]'),
    "number": (_is_number, "a number"),
    "channel_axis": (lambda v: _is_int(v) and v == 1, "1 (the channel axis of NCHW)"),
}
