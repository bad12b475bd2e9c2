"""The numdream HDF5 model format: one file holds the graph, weights, preprocessing and provenance.

See weights/README.md for the layout. ``read_model`` validates everything and raises
ModelFileError (one clear line naming the file and the problem); ``write_model`` is what the
converters in tools/ call. Both run the same checks (``check_nodes``), so a converter can never
write a file that the reader refuses.
"""
import json
import os
import tempfile
from dataclasses import dataclass, field

import h5py
import numpy as np

from .errors import ModelFileError

FORMAT_NAME = "numdream-model"
FORMAT_VERSION = 1

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


@dataclass
class Node:
    """One graph node. params maps 'w'/'b' to float32 arrays (conv2d: w (O, C / groups, kh, kw),
    b (O,); dense: w (O, K) over the C-major flattened input, b (O,))."""
    name: str
    op: str
    inputs: list
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


@dataclass
class ModelSpec:
    """Everything a model file holds. preprocess: channel_order 'RGB'|'BGR', mean (3,) and scale,
    so that network input = (pixel[0..255] in channel_order - mean) * scale."""
    name: str
    nodes: list
    preprocess: dict
    provenance: dict
    path: str = ""
    dream_layers: dict = field(default_factory=dict)  # {layer: weight} a dream targets by default


# ---- writing ----------------------------------------------------------------------------------

def param_dataset_path(index, node_name, param):
    """HDF5 path of a node's parameter: '/params/007_inception_4c_output/w' for node 7.

    '/' in a node name (Caffe blob names such as 'inception_4c/output') becomes '_' so it cannot
    open a sub-group; the node index keeps the paths unique and sorted in execution order.
    """
    return f"/params/{index:03d}_{node_name.replace('/', '_')}/{param}"


def write_model(path, spec):
    """Check ``spec`` and write it to ``path`` atomically (temp file in the same folder, then
    os.replace), so a reader never sees a half-written model. Raises ModelFileError."""
    path = os.fspath(path)
    check_nodes(spec.nodes, path)
    _check_preprocess(spec.preprocess, path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".h5")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            _write_contents(f, spec)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _write_contents(f, spec):
    f.attrs["format"] = FORMAT_NAME
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["name"] = spec.name
    if spec.dream_layers:
        f.attrs["dream_layers"] = json.dumps(spec.dream_layers, sort_keys=True)
    graph = []
    for index, node in enumerate(spec.nodes):
        refs = {}
        for key, value in node.params.items():
            refs[key] = param_dataset_path(index, node.name, key)
            f.create_dataset(refs[key], data=np.asarray(value, dtype=np.float32), **_storage(value))
        graph.append({"name": node.name, "op": node.op, "inputs": list(node.inputs),
                      "attrs": node.attrs, "params": refs})
    f["graph"] = '{"nodes": [\n' + ",\n".join(json.dumps(n) for n in graph) + "\n]}"  # a node a line
    pre = f.create_group("preprocess")
    pre.attrs["channel_order"] = spec.preprocess["channel_order"]
    pre.attrs["mean"] = np.asarray(spec.preprocess["mean"], dtype=np.float64)
    pre.attrs["scale"] = float(spec.preprocess["scale"])
    _write_tree(f.create_group("provenance"), spec.provenance)


def _storage(array, max_chunk_bytes=1 << 24):
    """h5py dataset options: gzip level 9, chunks as large as possible (up to 16 MB), no shuffle.

    Dequantized uint8 weights times a per-channel BN factor give at most 256 distinct floats per
    channel; gzip finds those repeated 4-byte patterns best in big chunks, unshuffled (shuffle
    splits them into bytes): InceptionV3 takes 6.8 MB, against 15 MB with h5py's defaults+shuffle.
    """
    shape = np.shape(array)
    if len(shape) == 0 or 0 in shape:
        return {"track_times": False}
    row_bytes = 4 * int(np.prod(shape[1:], dtype=np.int64))
    rows = max(1, min(shape[0], max_chunk_bytes // max(row_bytes, 1)))
    return {"compression": "gzip", "compression_opts": 9, "shuffle": False,
            "chunks": (rows,) + tuple(shape[1:]), "track_times": False}


def _write_tree(group, tree):
    """Nested dict -> sub-groups; leaves (str, number, bool, list) -> attributes."""
    for key, value in tree.items():
        if isinstance(value, dict):
            _write_tree(group.create_group(key), value)
        else:
            group.attrs[key] = value


# ---- reading ----------------------------------------------------------------------------------

def read_model(path):
    """Read and check a model file. Returns a ModelSpec with ``path`` set and every param a
    float32 numpy array. Any problem raises ModelFileError, one line naming the file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: is a directory, not a model file (.h5)")
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: model file not found")
    try:
        with h5py.File(path, "r") as f:
            spec = _read_contents(f, path)
    except ModelFileError:
        raise
    except Exception as err:  # h5py reports truncation and corruption as OSError, KeyError, ...
        raise ModelFileError(f"{path}: not a readable HDF5 model file "
                             f"({type(err).__name__}: {_one_line(err)})") from None
    check_nodes(spec.nodes, path)
    _check_preprocess(spec.preprocess, path)
    return spec


def _read_contents(f, path):
    fmt = _plain(f.attrs.get("format"))
    if fmt != FORMAT_NAME:
        raise ModelFileError(f"{path}: format attribute is {fmt!r}, expected {FORMAT_NAME!r}")
    version = _plain(f.attrs.get("format_version"))
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: unsupported format_version {version!r}; this numdream "
                             f"reads version {FORMAT_VERSION}")
    if "graph" not in f:
        raise ModelFileError(f"{path}: missing the 'graph' dataset")
    try:
        graph = json.loads(_text(f["graph"][()]))
    except (ValueError, TypeError) as err:
        raise ModelFileError(f"{path}: graph is not valid JSON ({_one_line(err)})") from None
    nodes = [_node_from_json(f, path, i, item) for i, item in enumerate(_node_list(graph, path))]
    if "preprocess" not in f:
        raise ModelFileError(f"{path}: missing the 'preprocess' group")
    pre = f["preprocess"].attrs
    preprocess = {"channel_order": _text(pre.get("channel_order")),
                  "mean": [float(m) for m in np.ravel(pre.get("mean", []))],
                  "scale": float(pre.get("scale", "nan"))}
    provenance = _read_tree(f["provenance"]) if "provenance" in f else {}
    return ModelSpec(_text(f.attrs.get("name", "")), nodes, preprocess, provenance, path=path,
                     dream_layers=_dream_layers(f, path, {n.name for n in nodes}))


def _dream_layers(f, path, names):
    """The optional root attribute 'dream_layers': JSON {layer: weight} of existing layers."""
    if "dream_layers" not in f.attrs:
        return {}
    try:
        layers = json.loads(_text(f.attrs["dream_layers"]))
        layers = {str(k): float(v) for k, v in layers.items()}
    except (ValueError, TypeError, AttributeError) as err:
        raise ModelFileError(f"{path}: dream_layers is not a JSON {{layer: weight}} ({_one_line(err)})") from None
    unknown = sorted(set(layers) - names)
    if unknown:
        raise ModelFileError(f"{path}: dream_layers names unknown layer {unknown[0]!r}")
    return layers


def _node_list(graph, path):
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise ModelFileError(f"{path}: graph must be an object whose 'nodes' is a list of objects")
    return nodes


def _node_from_json(f, path, index, item):
    name = item.get("name")
    where = f"{path}: node {index} ({name!r})"
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{where}: 'name' must be a non-empty string")
    for key, kind in (("op", str), ("inputs", list), ("attrs", dict), ("params", dict)):
        if not isinstance(item.get(key, kind()), kind):
            raise ModelFileError(f"{where}: {key!r} must be a {kind.__name__}")
    if not all(isinstance(src, str) for src in item.get("inputs", [])):
        raise ModelFileError(f"{where}: 'inputs' must hold node names (strings)")
    params = {}
    for key, ds_path in item.get("params", {}).items():
        ds = f.get(ds_path) if isinstance(ds_path, str) else None
        if not isinstance(ds, h5py.Dataset):
            raise ModelFileError(f"{where}: param {key!r} refers to a missing dataset {ds_path!r}")
        if ds.dtype.kind != "f":
            raise ModelFileError(f"{where}: param {key!r} has dtype {ds.dtype}, expected float32")
        try:
            params[key] = np.asarray(ds[()], dtype=np.float32)
        except Exception as err:  # a corrupt chunk fails only when it is decompressed
            raise ModelFileError(f"{where}: cannot read dataset {ds_path!r} "
                                 f"({type(err).__name__}: {_one_line(err)})") from None
    return Node(name, item.get("op", ""), list(item.get("inputs", [])), item.get("attrs", {}), params)


def _read_tree(group):
    tree = {key: _plain(value) for key, value in group.attrs.items()}
    tree.update({key: _read_tree(sub) for key, sub in group.items() if isinstance(sub, h5py.Group)})
    return tree


def _plain(value):
    """HDF5 attribute -> plain Python (str, int, float, bool or list)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value.item() if isinstance(value, np.generic) else value


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _one_line(err):
    return " ".join(str(err).split())


# ---- checks shared by reading and writing -----------------------------------------------------

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
    if b.shape != (w.shape[0],):
        raise ModelFileError(f"{where}: bias b has shape {b.shape}, expected ({w.shape[0]},) "
                             f"to match w {w.shape}")
    if w.shape[1] * groups != in_channels[0]:
        raise ModelFileError(f"{where}: conv weight w {w.shape} with {groups} group(s) expects "
                             f"{w.shape[1] * groups} input channels but input {node.inputs[0]!r} "
                             f"has {in_channels[0]}")
    if w.shape[0] % groups:
        raise ModelFileError(f"{where}: {w.shape[0]} output channels do not split into {groups} groups")
    return w.shape[0]


def _dense_channels(node, in_channels, where):
    """dense reads K = C * h * w values: K must be a whole multiple of its input's channels."""
    w, b = node.params["w"], node.params["b"]
    if w.ndim != 2:
        raise ModelFileError(f"{where}: dense weight w has shape {w.shape}, expected 2-D "
                             f"(out_features, in_features)")
    if b.shape != (w.shape[0],):
        raise ModelFileError(f"{where}: bias b has shape {b.shape}, expected ({w.shape[0]},) "
                             f"to match w {w.shape}")
    if w.shape[1] % in_channels:
        raise ModelFileError(f"{where}: dense weight w {w.shape} reads {w.shape[1]} values, not a "
                             f"whole number of h x w grids of the {in_channels} channels of "
                             f"input {node.inputs[0]!r}")
    return w.shape[0]


def _check_preprocess(pre, path):
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
