"""A protocol-buffer writer for the tests: synthetic .caffemodel, .prototxt and GraphDef .pb files
with the real field numbers, written here from caffe.proto and TensorFlow's graph.proto,
node_def.proto, attr_value.proto, tensor.proto and tensor_shape.proto, independently of the
schemas in tools/ (so a wrong field number there fails the tests instead of agreeing with them).

A Caffe layer is described as a dict: {"name", "type" (V2 spelling), "bottom": [...], "top":
[...], "param": {caffe.proto field name: value}, "blobs": [float32 arrays], "phase": None |
"TRAIN" | "TEST", "transform": {...}}. ``caffemodel(layers, v1=...)`` encodes a NetParameter with
V2 ``layer`` or legacy V1 ``layers`` fields, blobs with ``shape`` or legacy num/channels/height/width.
"""
import struct

import numpy as np

# ---- the wire format ----------------------------------------------------------------------------


def varint(n):
    n = int(n) + (1 << 64 if n < 0 else 0)  # negative ints: 10-byte two's complement
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(number, wire):
    return varint(number << 3 | wire)


def f_varint(number, value):
    return key(number, 0) + varint(int(value))


def f_len(number, payload):
    payload = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    return key(number, 2) + varint(len(payload)) + payload


def f_float(number, value):
    return key(number, 5) + struct.pack("<f", value)


def f_packed_floats(number, values):
    return f_len(number, np.asarray(values, dtype="<f4").tobytes())


def f_floats_one_by_one(number, values):
    return b"".join(f_float(number, v) for v in np.ravel(values))


def f_packed_varints(number, values):
    return f_len(number, b"".join(varint(v) for v in values))


# ---- Caffe (caffe.proto) --------------------------------------------------------------------------

# param field name -> (field number, 'v' varint | 'f' float), per *_param message
_PARAMS = {
    "convolution_param": {"num_output": (1, "v"), "bias_term": (2, "v"), "pad": (3, "v"),
                          "kernel_size": (4, "v"), "group": (5, "v"), "stride": (6, "v"),
                          "pad_h": (9, "v"), "pad_w": (10, "v"), "kernel_h": (11, "v"),
                          "kernel_w": (12, "v"), "stride_h": (13, "v"), "stride_w": (14, "v"),
                          "dilation": (18, "v")},
    "pooling_param": {"pool": (1, "v"), "kernel_size": (2, "v"), "stride": (3, "v"), "pad": (4, "v"),
                      "kernel_h": (5, "v"), "kernel_w": (6, "v"), "stride_h": (7, "v"),
                      "stride_w": (8, "v"), "pad_h": (9, "v"), "pad_w": (10, "v"),
                      "global_pooling": (12, "v")},
    "lrn_param": {"local_size": (1, "v"), "alpha": (2, "f"), "beta": (3, "f"), "norm_region": (4, "v"),
                  "k": (5, "f")},
    "inner_product_param": {"num_output": (1, "v"), "bias_term": (2, "v"), "axis": (5, "v"),
                            "transpose": (6, "v")},
    "concat_param": {"axis": (2, "v")},
    "softmax_param": {"axis": (2, "v")},
    "relu_param": {"negative_slope": (1, "f")},
    "dropout_param": {"dropout_ratio": (1, "f")},
    "transform_param": {"scale": (1, "f"), "mirror": (2, "v"), "crop_size": (3, "v"), "mean_value": (5, "f")},
}
PARAM_OF_TYPE = {"Convolution": "convolution_param", "Pooling": "pooling_param", "LRN": "lrn_param",
                 "InnerProduct": "inner_product_param", "Concat": "concat_param",
                 "Softmax": "softmax_param", "ReLU": "relu_param", "Dropout": "dropout_param"}
# LayerParameter (V2) and V1LayerParameter field numbers of each *_param
_V2_PARAM_FIELD = {"transform_param": 100, "concat_param": 104, "convolution_param": 106,
                   "dropout_param": 108, "inner_product_param": 117, "lrn_param": 118,
                   "pooling_param": 121, "relu_param": 123, "softmax_param": 125}
_V1_PARAM_FIELD = {"transform_param": 36, "concat_param": 9, "convolution_param": 10,
                   "dropout_param": 12, "inner_product_param": 17, "lrn_param": 18,
                   "pooling_param": 19, "relu_param": 30, "softmax_param": 39}
V1_TYPE = {"Accuracy": 1, "Concat": 3, "Convolution": 4, "Data": 5, "Dropout": 6,
           "InnerProduct": 14, "LRN": 15, "Pooling": 17, "ReLU": 18, "Softmax": 20,
           "SoftmaxWithLoss": 21, "Split": 22, "Sigmoid": 19}
PHASE = {"TRAIN": 0, "TEST": 1}
ENUM_NAMES = {"pool": ["MAX", "AVE", "STOCHASTIC"], "norm_region": ["ACROSS_CHANNELS", "WITHIN_CHANNEL"]}


def param_message(kind, values):
    out = b""
    for name, value in values.items():
        number, wire = _PARAMS[kind][name]
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            out += f_float(number, v) if wire == "f" else f_varint(number, v)
    return out


def blob(array, legacy=False, packed=True):
    """BlobProto: data = 5 (packed floats), shape = 7 (BlobShape, dim = 1 packed); legacy:
    num = 1, channels = 2, height = 3, width = 4 (the shape padded with leading 1s to 4-D)."""
    a = np.asarray(array, dtype=np.float32)
    if legacy:
        dims = (1,) * (4 - a.ndim) + a.shape
        out = b"".join(f_varint(i + 1, d) for i, d in enumerate(dims))
    else:
        out = f_len(7, f_packed_varints(1, a.shape))
    return out + (f_packed_floats(5, a.ravel()) if packed else f_floats_one_by_one(5, a.ravel()))


def caffe_layer(layer, v1=False, legacy_blobs=False):
    """One LayerParameter (V2) or V1LayerParameter message."""
    fields = _V1_PARAM_FIELD if v1 else _V2_PARAM_FIELD
    if v1:
        out = f_len(4, layer["name"]) + f_varint(5, V1_TYPE[layer["type"]])
    else:
        out = f_len(1, layer["name"]) + f_len(2, layer["type"])
    for b in layer.get("bottom", []):
        out += f_len(2 if v1 else 3, b)
    for t in layer.get("top", []):
        out += f_len(3 if v1 else 4, t)
    if layer.get("phase") is not None:  # include { phase: ... }
        out += f_len(32 if v1 else 8, f_varint(1, PHASE[layer["phase"]]))
    for i, array in enumerate(layer.get("blobs", [])):
        out += f_len(6 if v1 else 7, blob(array, legacy=legacy_blobs, packed=i % 2 == 0))
    kind = PARAM_OF_TYPE.get(layer["type"])
    if layer.get("param") and kind:
        out += f_len(fields[kind], param_message(kind, layer["param"]))
    if layer.get("transform"):
        out += f_len(fields["transform_param"], param_message("transform_param", layer["transform"]))
    return out


def caffemodel(layers, name="TinyNet", v1=False, legacy_blobs=False):
    """NetParameter bytes: name = 1, layers = 2 (V1) or layer = 100 (V2)."""
    return f_len(1, name) + b"".join(f_len(2 if v1 else 100, caffe_layer(layer, v1, legacy_blobs))
                                      for layer in layers)


def prototxt(layers, name="TinyNet", input_shape=(10, 3, 224, 224), input_layer=False):
    """A V2 deploy .prototxt: `input`/`input_shape` (or, with input_layer, an Input layer as in
    BVLC's current deploy files), then the layers without their blobs."""
    dims = " ".join(f"dim: {d}" for d in input_shape)
    lines = [f'name: "{name}"']
    if input_layer:
        lines += ['layer {', '  name: "data"', '  type: "Input"', '  top: "data"',
                  f'  input_param {{ shape: {{ {dims} }} }}', '}']
    else:
        lines += ['input: "data"', f"input_shape {{ {dims} }}"]
    for layer in layers:
        lines += ["layer {", f'  name: "{layer["name"]}"', f'  type: "{layer["type"]}"  # a comment',
                  "  param { lr_mult: 1 decay_mult: 1 }"]  # training settings, skipped by the reader
        lines += [f'  bottom: "{b}"' for b in layer.get("bottom", [])]
        lines += [f'  top: "{t}"' for t in layer.get("top", [])]
        kind = PARAM_OF_TYPE.get(layer["type"])
        if layer.get("param") and kind:
            body = []
            for key_, value in layer["param"].items():
                for v in (value if isinstance(value, (list, tuple)) else [value]):
                    text = ENUM_NAMES[key_][v] if key_ in ENUM_NAMES else str(v).lower() if isinstance(v, bool) else v
                    body.append(f"{key_}: {text}")
            lines.append(f"  {kind} {{ " + " ".join(body) + " }")
        lines.append("}")
    return "\n".join(lines) + "\n"


# ---- TensorFlow (graph.proto, node_def.proto, attr_value.proto, tensor.proto) ---------------------

DT_FLOAT, DT_INT32 = 1, 3


def tensor_shape(dims):
    """TensorShapeProto: dim = 2, each Dim with size = 1."""
    return b"".join(f_len(2, f_varint(1, d)) for d in dims)


def tensor(array, content=True):
    """TensorProto: dtype = 1, tensor_shape = 2, tensor_content = 4 (raw little-endian bytes),
    float_val = 5 / int_val = 7 (packed). content=False uses the *_val fields."""
    a = np.asarray(array)
    is_float = a.dtype.kind == "f"
    out = f_varint(1, DT_FLOAT if is_float else DT_INT32) + f_len(2, tensor_shape(a.shape))
    if content:
        return out + f_len(4, a.astype("<f4" if is_float else "<i4").tobytes())
    if is_float:
        return out + f_packed_floats(5, a.ravel())
    return out + f_packed_varints(7, a.ravel())


def attr_value(value):
    """AttrValue: list = 1 (ListValue: i = 3), s = 2, i = 3, f = 4, b = 5, type = 6, shape = 7,
    tensor = 8."""
    if isinstance(value, np.ndarray):
        return f_len(8, tensor(value))
    if isinstance(value, tuple) and value[0] == "tensor":  # ("tensor", array, content)
        return f_len(8, tensor(value[1], value[2]))
    if isinstance(value, tuple) and value[0] == "fill":  # ("fill", float, shape): one float_val fills it
        return f_len(8, f_varint(1, DT_FLOAT) + f_len(2, tensor_shape(value[2])) + f_packed_floats(5, [value[1]]))
    if isinstance(value, tuple) and value[0] == "type":
        return f_varint(6, value[1])
    if isinstance(value, tuple) and value[0] == "shape":  # ("shape", dims): a TensorShapeProto
        return f_len(7, tensor_shape(value[1]))
    if isinstance(value, bool):
        return f_varint(5, value)
    if isinstance(value, int):
        return f_varint(3, value)
    if isinstance(value, float):
        return f_float(4, value)
    if isinstance(value, str):
        return f_len(2, value)
    return f_len(1, f_packed_varints(3, value))  # a list of ints


def node_def(name, op, inputs=(), attrs=None):
    """NodeDef: name = 1, op = 2, input = 3, attr = 5 (map entries: key = 1, value = 2)."""
    out = f_len(1, name) + f_len(2, op)
    for i in inputs:
        out += f_len(3, i)
    for k, v in (attrs or {}).items():
        out += f_len(5, f_len(1, k) + f_len(2, attr_value(v)))
    return out


def graph_def(nodes):
    """GraphDef: node = 1 (repeated NodeDef); nodes are (name, op, inputs, attrs)."""
    return b"".join(f_len(1, node_def(*n)) for n in nodes)
