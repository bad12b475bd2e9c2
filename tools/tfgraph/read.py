"""A GraphDef .pb -> ``TFNode`` records with plain Python attrs and numpy constants.

A frozen TensorFlow graph keeps its weights in Const nodes, whose "value" attr is a TensorProto:
the numbers either as raw little-endian bytes (tensor_content) or in a typed repeated field
(float_val, int_val, ...), where a single value fills the whole shape.
"""
import math
from dataclasses import dataclass

import numpy as np

import bounds
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
    data = bounds.read_input(path, GraphError, "file")
    try:
        graph = decode(data, GRAPH)
        nodes = [_node(n, path) for n in graph.get("node", [])]
    except WireError as err:
        raise GraphError(f"{path}: not a TensorFlow GraphDef (.pb): {err}") from None
    if not nodes or any(not n.name or not n.op for n in nodes):
        raise GraphError(f"{path}: not a TensorFlow GraphDef (.pb): no named nodes in "
                         f"{len(data)} bytes")
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
    """A TensorProto -> numpy array (float32, float64, int32 or int64).

    The declared shape is checked before anything is allocated: dims >= 0, at most
    bounds.MAX_TENSOR_VALUES values (exact Python ints), and the values present must be all of
    them, or one (or none) that fills a shape of at most bounds.MAX_FILL_VALUES: a 40-byte
    constant must not turn into a gigabyte of zeros."""
    dtype = last(t, "dtype", 0)
    if dtype not in DTYPES:
        raise GraphError(f"{where}: holds a {DTYPE_NAMES.get(dtype, f'type {dtype}')} tensor; numdream "
                         "reads float and int tensors")
    shape = tuple(int(last(d, "size", 0)) for d in last(t, "tensor_shape", {}).get("dim", []))
    count = math.prod(shape)
    if any(d < 0 for d in shape) or count > bounds.MAX_TENSOR_VALUES:
        raise GraphError(f"{where}: a tensor declares shape {bounds.short(shape)}; dims must be >= 0 "
                         f"and hold at most {bounds.MAX_TENSOR_VALUES} values")
    itemsize = np.dtype(DTYPES[dtype]).itemsize
    if "tensor_content" in t:
        content = last(t, "tensor_content")
        if len(content) % itemsize:
            raise GraphError(f"{where}: tensor_content of {len(content)} bytes is not a whole number "
                             f"of {DTYPE_NAMES[dtype]} values ({itemsize} bytes each)")
        values = np.frombuffer(content, dtype=DTYPES[dtype])
    elif DTYPES[dtype].startswith("<f"):
        values = floats(t, "float_val" if dtype == 1 else "double_val")
    else:
        values = np.asarray(t.get("int_val" if dtype == 3 else "int64_val", []), dtype=DTYPES[dtype])
    if values.size != count and (values.size > 1 or count > bounds.MAX_FILL_VALUES):
        raise GraphError(f"{where}: a tensor of shape {shape} ({count} values) holds {values.size} "
                         f"values; numdream fills a shape from one value (or none) only up to "
                         f"{bounds.MAX_FILL_VALUES} values")
    if values.size != count:  # one value fills the shape, none means zeros
        values = np.full(count, values[0] if values.size else 0)
    return np.asarray(values, dtype=DTYPES[dtype].replace("<", "")).reshape(shape)
