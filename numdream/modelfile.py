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
from .fileio import atomic_write, one_line
from .modelcheck import check_nodes, check_preprocess

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
                             f"({one_line(err, with_type=True)})") from None
    check_nodes(spec.nodes, path)
    check_preprocess(spec.preprocess, path)
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
        raise ModelFileError(f"{path}: graph is not valid JSON ({one_line(err)})") from None
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
        raise ModelFileError(f"{path}: dream_layers is not a JSON {{layer: weight}} ({one_line(err)})") from None
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
                                 f"({one_line(err, with_type=True)})") from None
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
