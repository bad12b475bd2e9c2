"""Checks of a model graph, shared by reading and writing a model file (numdream.modelfile).

What each op needs (OPS: parameter datasets, ATTRS/OPTIONAL_ATTRS: attributes and their kinds),
``check_graph``, which walks the graph once and needs only the parameters' shapes (ops, attrs
and their caps, execution order, names, shapes, channel counts and spatial scales), and
``check_nodes``, which adds the parameters' values (finite, not absurdly large). The reader runs
check_graph on the declared shapes *before* it reads a single weight, so a file cannot make
numdream allocate more than the caps below allow. Every problem is a ModelFileError naming the file.

Caps, and why they are safe for real networks:
  MAX_WINDOW = 1024 px for a kernel, pool window, stride, padding side and LRN size: real nets
    use at most 11 (AlexNet's first conv) or 8 (InceptionV3's last pool); a pool over a whole
    input says "global": true instead. Each pixel of padding or window is memory numdream
    allocates (a padded copy, im2col columns), so unbounded values are an allocation request.
  MAX_CHANNELS = 65536 for any node's output: real nets stop at 4096 (VGG's dense layers) or
    21841 (ImageNet-22k classes); activations scale with it.
  MAX_PARAM_VALUES = 2**28 float32 values (1 GiB) for all parameters together: twice VGG-19.
  MAX_ABS_PARAM = 1e10: trained weights are below 1e3 even with BatchNorm folded in; larger
    values overflow float32 within a few layers (a black picture).
"""
import math

import numpy as np

from .errors import ModelFileError
from .modelvalues import (_ARITY, _F32_MAX, _KINDS, MAX_ABS_PARAM, MAX_CHANNELS, MAX_NAME_LENGTH,
                          MAX_PARAM_VALUES, MAX_WINDOW, MODEL_INPUT_CHANNELS, short_repr)

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

# op -> the attrs the executor reads -> their kind (modelvalues._KINDS says what each allows)
_POOL = {"size": "pair", "stride": "pair", "padding": "padding", "ceil_mode": "bool"}
ATTRS = {
    "input": {"channels": "count"},
    "conv2d": {"stride": "pair", "padding": "padding"},
    "relu": {},
    "max_pool2d": _POOL,
    "avg_pool2d": {**_POOL, "count_include_pad": "bool"},
    "concat": {"axis": "channel_axis"},
    "lrn": {"size": "window", "alpha": "number", "beta": "number", "k": "number"},
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
    """check_graph, then every parameter value: finite and at most MAX_ABS_PARAM in size."""
    check_graph(nodes, path)
    for index, node in enumerate(nodes):
        for key in sorted(node.params):
            _check_values(node.params[key], f"{path}: node {index} ({node.name!r}): param {key!r}")


def check_graph(nodes, path):
    """Check a node list without looking at parameter values (their shapes are enough).

    Ops, attrs (and caps), input order, names, param shapes, channel counts and spatial scales.
    Channel counts propagate through the graph (conv2d and dense: O, concat: the sum, others:
    their input's), so a conv whose in-channels differ from its producer's is caught here and not
    as a shape error deep inside a forward pass; so does each node's scale (the product of the
    strides before it), so a concat of branches whose sizes can never agree is caught too.
    Raises ModelFileError naming ``path``.
    """
    channels, scales = {}, {}  # node name -> channels of its output, -> its (sh, sw) scale
    total = 0  # parameter values so far
    for index, node in enumerate(nodes):
        where = f"{path}: node {index} ({short_repr(node.name)})"
        check_name(node.name, where)
        if node.name in channels:
            raise ModelFileError(f"{where}: duplicate node name")
        if node.op not in OPS:
            raise ModelFileError(f"{where}: unknown op {short_repr(node.op)}; valid ops: {', '.join(OPS)}")
        for src in node.inputs:
            if src not in channels:
                later = "itself" if src == node.name else "a later node" if any(
                    n.name == src for n in nodes) else None
                raise ModelFileError(f"{where}: input {short_repr(src)} is " + (
                    f"{later} (nodes must be in execution order)" if later else "not a node"))
        low, high, text = _ARITY.get(node.op, (1, 1, "exactly one input"))
        if not low <= len(node.inputs) <= high:
            raise ModelFileError(f"{where}: {node.op} takes {text}, got {len(node.inputs)}")
        _check_attrs(node, where)
        if sorted(node.params) != sorted(OPS[node.op]):
            raise ModelFileError(f"{where}: {node.op} has params {sorted(node.params)}, "
                                 f"expected {sorted(OPS[node.op])}")
        for key in sorted(node.params):
            total += _param_size(node.params[key], f"{where}: param {key!r}", total)
        out = _out_channels(node, [channels[s] for s in node.inputs], where)
        if out > MAX_CHANNELS:
            raise ModelFileError(f"{where}: {out} output channels; numdream allows at most "
                                 f"{MAX_CHANNELS} (real networks stop near 4096)")
        channels[node.name] = out
        scales[node.name] = _scale(node, [scales[s] for s in node.inputs], where)
    if sum(n.op == "input" for n in nodes) != 1:
        raise ModelFileError(f"{path}: the graph needs exactly one 'input' node, found "
                             f"{sum(n.op == 'input' for n in nodes)}")


def check_name(name, where):
    """A name that numdream prints (node, model): printable text, no control characters or
    terminal escapes (they would rewrite the user's terminal), at most MAX_NAME_LENGTH long."""
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{where}: a name must be a non-empty string, got {short_repr(name)}")
    if not name.isprintable():
        raise ModelFileError(f"{where}: name {short_repr(name)} holds control or non-printable "
                             "characters (newlines, terminal escapes...); names must be printable text")
    if len(name) > MAX_NAME_LENGTH:
        raise ModelFileError(f"{where}: a name of {len(name)} characters; at most {MAX_NAME_LENGTH}")


def _check_attrs(node, where):
    optional = OPTIONAL_ATTRS.get(node.op, {})
    required = {} if node.attrs.get("global") is True else ATTRS[node.op]
    for key, kind in {**optional, **ATTRS[node.op]}.items():  # 'global' decides the rest
        check, text = _KINDS[kind]
        if key not in node.attrs:
            if key in required:
                raise ModelFileError(f"{where}: {node.op} needs attr {key!r} ({text})")
            continue
        if not check(node.attrs[key]):
            raise ModelFileError(f"{where}: attr {key!r} is {short_repr(node.attrs[key])}, expected {text}")
    if node.op == "input" and node.attrs["channels"] != MODEL_INPUT_CHANNELS:
        raise ModelFileError(f"{where}: the model's input takes {node.attrs['channels']} channel(s); "
                             f"numdream dreams RGB images, so the input must take {MODEL_INPUT_CHANNELS}")
    if node.op == "lrn":
        _check_lrn(node.attrs, where)


def _check_lrn(a, where):
    """y = x * (k + alpha/size * sum x^2) ** -beta must stay finite and non-zero in float32:
    k > 0, alpha >= 0 and 0 <= beta <= 8 keep the base >= k > 0, and k ** beta within float32's
    normal range keeps the scale from underflowing to 0 (a division by zero) or overflowing."""
    k, alpha, beta = a["k"], a["alpha"], a["beta"]
    if not (k > 0 and alpha >= 0 and 0 <= beta <= 8):
        raise ModelFileError(f"{where}: lrn k={k!r}, alpha={alpha!r}, beta={beta!r}; numdream needs "
                             "k > 0, alpha >= 0 and 0 <= beta <= 8 so that the scale "
                             "(k + alpha/size * sum x^2) ** beta stays positive")
    if abs(beta * math.log(k)) > math.log(_F32_MAX) - 1:
        raise ModelFileError(f"{where}: lrn k={k!r} with beta={beta!r} gives a scale k ** beta "
                             "outside float32's range (it would divide by 0 or by infinity)")


def _param_size(array, where, total):
    """Number of values of a param (declared shape), after checking it against the budget."""
    dims = tuple(int(d) for d in array.shape)
    size = math.prod(dims)
    if size == 0:
        raise ModelFileError(f"{where}: shape {dims} holds no values")
    if total + size > MAX_PARAM_VALUES:
        raise ModelFileError(f"{where}: shape {dims} brings the model to {total + size} "
                             f"parameters; numdream reads at most {MAX_PARAM_VALUES} (1 GiB of float32)")
    return size


def _check_values(array, where):
    """Finite and at most MAX_ABS_PARAM in size: a NaN or an inf weight dreams a black picture."""
    bad = ~np.isfinite(array)
    if not bad.any():
        bad = np.abs(array) > MAX_ABS_PARAM
        if not bad.any():
            return
    at = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ModelFileError(f"{where}: value {float(array[at])!r} at index {at}; weights must be finite "
                         f"and at most {MAX_ABS_PARAM:g} in size (it would dream a black picture)")


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
    if max(w.shape[2:]) > MAX_WINDOW:
        raise ModelFileError(f"{where}: conv kernel {w.shape[2]}x{w.shape[3]}; numdream allows "
                             f"kernels up to {MAX_WINDOW} px (real networks use at most 11)")
    _check_bias(w, b, where)
    if w.shape[1] * groups != in_channels[0]:
        raise ModelFileError(f"{where}: conv weight w {w.shape} with {groups} group(s) expects "
                             f"{w.shape[1] * groups} input channels but input {short_repr(node.inputs[0])} "
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
                             f"input {short_repr(node.inputs[0])}")
    return w.shape[0]


def _scale(node, in_scales, where):
    """(sh, sw): how many input pixels one step of this node's output spans (0: one value for
    the whole image, after a dense node or a global pool). A concat's inputs must share it:
    branches at different scales (H/2 against H/4, or H against 1x1) never have equal sizes."""
    if node.op == "input":
        return (1, 1)
    if node.op == "dense" or node.attrs.get("global") is True:
        return (0, 0)
    if node.op == "concat":
        odd = next((i for i, s in enumerate(in_scales) if s != in_scales[0]), None)
        if odd is not None:
            raise ModelFileError(
                f"{where}: concat joins inputs at different spatial scales: {short_repr(node.inputs[0])} "
                f"({_scale_text(in_scales[0])}) and {short_repr(node.inputs[odd])} "
                f"({_scale_text(in_scales[odd])}); their sizes can never agree")
        return in_scales[0]
    if node.op in ("conv2d", "max_pool2d", "avg_pool2d"):
        stride = node.attrs.get("stride", 1)
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        return (in_scales[0][0] * sh, in_scales[0][1] * sw)
    return in_scales[0]


def _scale_text(scale):
    return "1x1 for any image" if scale == (0, 0) else f"1/{scale[0]} x 1/{scale[1]} of the image"
