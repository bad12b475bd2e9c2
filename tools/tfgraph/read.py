"""A GraphDef .pb -> ``TFNode`` records with plain Python attrs and numpy constants.

A frozen TensorFlow graph keeps its weights in Const nodes, whose "value" attr is a TensorProto:
the numbers either as raw little-endian bytes (tensor_content) or in a typed repeated field
(float_val, int_val, ...), where a single value fills the whole shape.
"""
import os
from dataclasses import dataclass

import numpy as np

from protobuf_wire import WireError, decode, floats, last

from . import GraphError
from .schema import DTYPE_NAMES, DTYPES, GRAPH


@dataclass
class TFNode:
    name: str
    op: str
    inputs: list   # names of the nodes whose first output this node reads (control inputs dropped)
    attrs: dict    # attr name -> int, float, bool, str, list, numpy array (tensors) or shape list


def read_graph(path):
    """[TFNode] of a binary GraphDef. Raises GraphError if the file is not one."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        graph = decode(data, GRAPH)
        nodes = [_node(n, path) for n in graph.get("node", [])]
    except WireError as err:
        raise GraphError(f"{path}: not a TensorFlow GraphDef (.pb): {err}") from None
    if not nodes or any(not n.name or not n.op for n in nodes):
        raise GraphError(f"{path}: not a TensorFlow GraphDef (.pb): no named nodes in "
                         f"{os.path.getsize(path)} bytes")
    return nodes


def _node(m, path):
    name = last(m, "name", "")
    inputs = []
    for text in m.get("input", []):
        if text.startswith("^"):
            continue  # a control dependency: order only, no data
        source, _, port = text.partition(":")
        if port not in ("", "0"):
            raise GraphError(f"{path}: node {name!r} reads output {port} of {source!r}; numdream "
                             "converts graphs whose nodes read first outputs only")
        inputs.append(source)
    attrs = {}
    for entry in m.get("attr", []):
        attrs[last(entry, "key", "")] = _attr(last(entry, "value", {}), f"{path}: node {name!r}")
    return TFNode(name, last(m, "op", ""), inputs, attrs)


def _attr(value, where):
    if "list" in value:
        items = last(value, "list")
        for key in ("i", "f", "s", "b", "type"):
            if key in items:
                return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in items[key]]
        return []
    if "tensor" in value:
        return tensor_array(last(value, "tensor"), where)
    if "shape" in value:
        return [last(d, "size", 0) for d in last(value, "shape").get("dim", [])]
    if "s" in value:
        return last(value, "s").decode("utf-8", "replace")
    for key in ("i", "f", "b", "type"):
        if key in value:
            return last(value, key)
    return None


def tensor_array(t, where):
    """A TensorProto -> numpy array (float32, float64, int32 or int64)."""
    dtype = last(t, "dtype", 0)
    if dtype not in DTYPES:
        raise GraphError(f"{where}: holds a {DTYPE_NAMES.get(dtype, f'type {dtype}')} tensor; numdream "
                         "reads float and int tensors")
    shape = tuple(int(last(d, "size", 0)) for d in last(t, "tensor_shape", {}).get("dim", []))
    count = int(np.prod(shape))
    if "tensor_content" in t:
        values = np.frombuffer(last(t, "tensor_content"), dtype=DTYPES[dtype])
    elif DTYPES[dtype].startswith("<f"):
        values = floats(t, "float_val" if dtype == 1 else "double_val")
    else:
        values = np.asarray(t.get("int_val" if dtype == 3 else "int64_val", []), dtype=DTYPES[dtype])
    if values.size == 1 and count != 1:
        values = np.full(count, values[0])  # one value fills the shape
    elif values.size == 0:
        values = np.zeros(count)
    if values.size != count:
        raise GraphError(f"{where}: a tensor of shape {shape} holds {values.size} values")
    return np.asarray(values, dtype=DTYPES[dtype].replace("<", "")).reshape(shape)
