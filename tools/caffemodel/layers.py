"""Caffe's files -> a list of ``Layer`` records, the same whatever the format.

A .caffemodel is a binary NetParameter; its layers come in the V2 ``layer`` field or, in files
written before 2015, the legacy V1 ``layers`` field (type an enum, not a string). A deploy
.prototxt is the same message in protobuf text format, without blobs. Both become Layers with
the V2 type names, the weight blobs as float32 arrays in their Caffe shapes, and whether the
layer runs in the TEST phase (the phase a deploy net runs in).
"""
import math
from dataclasses import dataclass, field

import numpy as np

import bounds
from protobuf_wire import WireError, decode, floats, last
from .prototxt import parse_text

from . import CaffeError
from .schema import NET, V1_TYPES

TEST = 1
PARAM_FIELDS = {"Convolution": "convolution_param", "Pooling": "pooling_param", "LRN": "lrn_param",
                "InnerProduct": "inner_product_param", "Concat": "concat_param",
                "Softmax": "softmax_param", "ReLU": "relu_param", "Input": "input_param"}


@dataclass
class Layer:
    name: str
    type: str                     # V2 spelling: "Convolution", "Pooling", ...
    bottoms: list
    tops: list
    blobs: list                   # float32 arrays: conv (O, C/group, kh, kw) and (O,), ...
    params: dict                  # the layer's *_param message as {name: [values]}, or {}
    transform: dict = field(default_factory=dict)  # a data layer's transform_param
    in_test: bool = True


MAX_PROTOTXT_BYTES = 64 << 20  # a deploy net is text of a few hundred KB (GoogLeNet's: 36 KB)


def read_caffemodel(path):
    """The NetParameter of a binary .caffemodel, as {name: [values]}. Raises CaffeError."""
    data = bounds.read_input(path, CaffeError, "file")
    try:
        net = decode(data, NET)
    except WireError as err:
        raise CaffeError(f"{path}: not a Caffe .caffemodel (binary NetParameter): {err}") from None
    if not net.get("layer") and not net.get("layers"):
        raise CaffeError(f"{path}: not a Caffe .caffemodel: no layers found in {len(data)} bytes")
    return net


def read_prototxt(path):
    """The NetParameter of a text .prototxt (a deploy net), as {name: [values]}. Raises CaffeError."""
    raw = bounds.read_input(path, CaffeError, "file", MAX_PROTOTXT_BYTES)
    try:
        net = parse_text(raw.decode("utf-8"), NET)
    except (UnicodeDecodeError, WireError) as err:
        raise CaffeError(f"{path}: not a Caffe .prototxt (text NetParameter): {err}") from None
    if not net.get("layer") and not net.get("layers"):
        raise CaffeError(f"{path}: not a Caffe .prototxt: it defines no layers")
    return net


def net_layers(net, path):
    """(format, [Layer]) of a NetParameter; format is 'V2 layer' or 'V1 layers'."""
    if net.get("layer") and net.get("layers"):
        raise CaffeError(f"{path}: the net mixes V2 'layer' and V1 'layers' fields")
    if net.get("layer"):
        return "V2 layer", [_layer(m, last(m, "type", ""), path) for m in net["layer"]]
    layers = []
    for m in net["layers"]:
        if "v0_layer" in m:
            raise CaffeError(f"{path}: layer {last(m, 'name', '')!r} uses the V0 format of 2014; "
                             "upgrade the net with Caffe's upgrade_net_proto_binary first")
        number = last(m, "type", 0)
        layers.append(_layer(m, V1_TYPES.get(number, f"V1 layer type {number}"), path))
    return "V1 layers", layers


def _layer(m, type_name, path):
    name = last(m, "name", "")
    where = f"{path}: layer {name!r} ({type_name})"
    param_field = PARAM_FIELDS.get(type_name)
    return Layer(name=name, type=type_name, bottoms=list(m.get("bottom", [])),
                 tops=list(m.get("top", [])), blobs=[blob_array(b, where) for b in m.get("blobs", [])],
                 params=last(m, param_field, {}) if param_field else {},
                 transform=last(m, "transform_param", {}), in_test=_in_test(m))


def _in_test(m):
    """Caffe's NetStateRule for phase alone: included rules need one TEST (or phase-free) rule;
    exclude rules drop the layer from TEST if one names TEST."""
    include, exclude = m.get("include", []), m.get("exclude", [])
    if include:
        return any(last(rule, "phase", TEST) == TEST for rule in include)
    return not any(last(rule, "phase") == TEST for rule in exclude)


def blob_array(blob, where):
    """A BlobProto -> float32 array, shaped by ``shape`` or the legacy num/channels/height/width.

    The shape is checked (dims >= 0, at most bounds.MAX_TENSOR_VALUES values, in exact Python
    ints: numpy's int64 product wraps around) against the values the blob holds before any
    array is shaped or converted."""
    if "shape" in blob:
        shape = tuple(int(d) for d in last(blob, "shape").get("dim", []))
    else:
        shape = tuple(int(last(blob, key, 0)) for key in ("num", "channels", "height", "width"))
    count = math.prod(shape)
    if any(d < 0 for d in shape) or count > bounds.MAX_TENSOR_VALUES:
        raise CaffeError(f"{where}: a weight blob declares shape {bounds.short(shape)}; dims must be "
                         f">= 0 and hold at most {bounds.MAX_TENSOR_VALUES} values")
    data = floats(blob, "data")
    if data.size == 0:
        data = floats(blob, "double_data")
    if count != data.size:
        raise CaffeError(f"{where}: a weight blob of shape {shape} holds {data.size} values")
    return np.asarray(data, dtype=np.float32).reshape(shape)
