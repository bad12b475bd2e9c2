"""The numdream HDF5 model format: one file holds the graph, weights, preprocessing and provenance.

See weights/README.md for the layout. ``read_model`` validates everything and raises
ModelFileError (one clear line naming the file and the problem); ``write_model`` is what the
converters in tools/ call. Both run the same checks (``check_nodes``), so a converter can never
write a file that the reader refuses.
"""
import json
import os
from dataclasses import dataclass, field

import h5py
import numpy as np

from .errors import ModelFileError
from .fileio import atomic_write, one_line, open_regular_file
from .modelcheck import check_graph, check_name, check_nodes
from .modelvalues import check_preprocess, short_repr
from .modelstorage import check_self_contained, declared_stand_in, read_attr, read_param

FORMAT_NAME = "numdream-model"
FORMAT_VERSION = 1

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
    """Check ``spec`` and write it to ``path`` atomically (numdream.fileio.atomic_write), so a
    reader never sees a half-written model. Raises ModelFileError."""
    path = os.fspath(path)
    check_nodes(spec.nodes, path)
    check_preprocess(spec.preprocess, path)
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        _write_contents(f, spec)


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
# A model file may only hold what numdream wrote: hard links, datasets stored inside the file,
# gzip-compressed at most. Everything is checked before any bytes of a dataset are read: links and
# storage first (numdream.modelstorage), then every param's declared shape against the graph and
# the budget of numdream.modelcheck (check_graph), and only then the weights.

MAX_GRAPH_BYTES = 64 << 20      # the graph JSON (InceptionV3's is 40 KB)
MAX_PROVENANCE_DEPTH = 16       # nested provenance groups (converters write 2)
MAX_DREAM_LAYER_WEIGHT = 1e6    # converters write 1.0; beyond this a float32 objective overflows


def read_model(path):
    """Read and check a model file. Returns a ModelSpec with ``path`` set and every param a
    float32 numpy array. Any problem raises ModelFileError, one line naming the file.

    The path must be a regular file (numdream.fileio.open_regular_file: no FIFO, device or
    directory, never a blocking open); h5py reads it through that one open descriptor.
    """
    path = os.fspath(path)
    with open_regular_file(path, "model file", ModelFileError, where=path) as fileobj:
        try:
            with h5py.File(fileobj, "r") as f:
                spec = _read_contents(f, path)
        except ModelFileError:
            raise
        except Exception as err:  # h5py reports truncation and corruption as OSError, KeyError, ...
            raise ModelFileError(f"{path}: not a readable HDF5 model file "
                                 f"({one_line(err, with_type=True)})") from None
    check_nodes(spec.nodes, path)
    check_preprocess(spec.preprocess, path)
    return spec


def _read_contents(f, path):
    check_self_contained(f, path)
    fmt = _plain(read_attr(f, "format", path))
    if fmt != FORMAT_NAME:
        raise ModelFileError(f"{path}: format attribute is {short_repr(fmt)}, expected {FORMAT_NAME!r}")
    version = _plain(read_attr(f, "format_version", path))
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: unsupported format_version {short_repr(version)}; this numdream "
                             f"reads version {FORMAT_VERSION}")
    graph = _read_graph(f, path)
    nodes, datasets = [], []
    for index, item in enumerate(_node_list(graph, path)):
        node, refs = _node_from_json(f, path, index, item)
        nodes.append(node)
        datasets += [(node, index, key, ds) for key, ds in refs.items()]
    check_graph(nodes, path)  # declared shapes against the graph and the budget, nothing read yet
    for node, index, key, ds in datasets:
        node.params[key] = read_param(ds, f"{path}: node {index} ({short_repr(node.name)})")
    if not isinstance(f.get("preprocess"), h5py.Group):
        raise ModelFileError(f"{path}: missing the 'preprocess' group")
    pre = f["preprocess"]
    mean = _plain(read_attr(pre, "mean", path, []))
    preprocess = {"channel_order": _plain(read_attr(pre, "channel_order", path)),
                  "mean": mean if isinstance(mean, list) else [mean],  # check_preprocess wants 3
                  "scale": _plain(read_attr(pre, "scale", path, float("nan")))}
    provenance = _read_tree(f["provenance"], path) if isinstance(f.get("provenance"), h5py.Group) else {}
    name = _plain(read_attr(f, "name", path, ""))
    if name != "":  # printed by `numdream layers`: a string without terminal escapes
        check_name(name, f"{path}: model name")
    return ModelSpec(name, nodes, preprocess, provenance, path=path,
                     dream_layers=_dream_layers(f, path, {n.name for n in nodes}))


def _read_graph(f, path):
    """The graph JSON: a scalar string dataset of at most MAX_GRAPH_BYTES."""
    ds = f.get("graph")
    if not isinstance(ds, h5py.Dataset):
        raise ModelFileError(f"{path}: missing the 'graph' dataset")
    string = h5py.check_string_dtype(ds.dtype)
    if ds.shape != () or string is None:
        raise ModelFileError(f"{path}: the 'graph' dataset must be one string (JSON), got shape "
                             f"{ds.shape} of {ds.dtype}")
    if string.length is not None and string.length > MAX_GRAPH_BYTES:
        raise ModelFileError(f"{path}: the graph JSON declares {string.length} bytes; at most "
                             f"{MAX_GRAPH_BYTES}")
    try:
        return json.loads(_text(ds[()]))
    except (ValueError, TypeError, RecursionError) as err:  # RecursionError: nested thousands deep
        raise ModelFileError(f"{path}: graph is not valid JSON "
                             f"({one_line(err)})") from None


def _dream_layers(f, path, names):
    """The optional root attribute 'dream_layers': JSON {layer: weight} of existing layers."""
    text = read_attr(f, "dream_layers", path)
    if text is None:
        return {}
    try:
        layers = json.loads(_text(text))
        layers = {str(k): float(v) for k, v in layers.items()}
    except (ValueError, TypeError, AttributeError, RecursionError, OverflowError) as err:
        raise ModelFileError(f"{path}: dream_layers is not a JSON {{layer: weight}} "
                             f"({one_line(err)})") from None
    unknown = sorted(set(layers) - names)
    if unknown:
        raise ModelFileError(f"{path}: dream_layers names unknown layer {short_repr(unknown[0])}")
    odd = next((k for k, v in layers.items() if not abs(v) <= MAX_DREAM_LAYER_WEIGHT), None)
    if odd is not None:
        raise ModelFileError(f"{path}: dream_layers gives {short_repr(odd)} the weight {layers[odd]!r}; "
                             f"weights must be finite, at most {MAX_DREAM_LAYER_WEIGHT:g} in size")
    return layers


def _node_list(graph, path):
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise ModelFileError(f"{path}: graph must be an object whose 'nodes' is a list of objects")
    return nodes


def _node_from_json(f, path, index, item):
    """(Node whose params are stand-ins of their declared shapes, {param: h5py.Dataset}).

    A stand-in is a zero-strided view (np.broadcast_to): check_graph sees every shape and no
    memory is spent before the shapes have passed."""
    name = item.get("name")
    where = f"{path}: node {index} ({short_repr(name)})"
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{where}: 'name' must be a non-empty string")
    for key, kind in (("op", str), ("inputs", list), ("attrs", dict), ("params", dict)):
        if not isinstance(item.get(key, kind()), kind):
            raise ModelFileError(f"{where}: {key!r} must be a {kind.__name__}")
    if not all(isinstance(src, str) for src in item.get("inputs", [])):
        raise ModelFileError(f"{where}: 'inputs' must hold node names (strings)")
    params, datasets = {}, {}
    for key, ds_path in item.get("params", {}).items():
        ds = f.get(ds_path) if isinstance(ds_path, str) and ds_path else None
        if not isinstance(ds, h5py.Dataset):
            raise ModelFileError(f"{where}: param {key!r} refers to a missing dataset {short_repr(ds_path)}")
        params[key] = declared_stand_in(ds, f"{where}: param {key!r} ({short_repr(ds_path)})")
        datasets[key] = ds
    return Node(name, item.get("op", ""), list(item.get("inputs", [])), item.get("attrs", {}), params), datasets


def _read_tree(group, path, depth=0):
    """Sub-groups -> nested dicts, attributes -> leaves; at most MAX_PROVENANCE_DEPTH deep (a
    group hard-linked into itself would otherwise recurse forever)."""
    if depth > MAX_PROVENANCE_DEPTH:
        raise ModelFileError(f"{path}: provenance nests deeper than {MAX_PROVENANCE_DEPTH} groups "
                             f"at {short_repr(group.name)} (a group linked into itself?)")
    tree = {key: _plain(read_attr(group, key, path)) for key in group.attrs}
    tree.update({key: _read_tree(sub, path, depth + 1) for key, sub in group.items()
                 if isinstance(sub, h5py.Group)})
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
