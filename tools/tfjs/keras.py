"""Keras 2 layer configs + their weights -> numdream nodes, with BatchNormalization folded away.

Conv2D -> BatchNormalization -> Activation('relu') becomes conv2d (with a bias) -> relu:

    BN(z) = gamma * (z - mean) / sqrt(var + eps) + beta,   z = conv(x, W) + b
          = conv(x, W * g) + (b - mean) * g + beta         with g = gamma / sqrt(var + eps)

computed in float64 and stored as float32. Keras kernels are HWIO (kh, kw, C, O); numdream's
are OIHW (O, C, kh, kw). Keras 'same' is TensorFlow's asymmetric SAME padding, stored as "same".
"""
import numpy as np

from bounds import names_line
from numdream.modelfile import Node

from .package import ConversionError


def keep_until(layers, last):
    """The layers that ``last`` depends on (itself included), in their original order."""
    by_name = {layer["name"]: layer for layer in layers}
    if last not in by_name:
        raise ConversionError(f"the topology has no layer {last!r}")
    needed, stack = set(), [last]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack += [src for src, *_ in _inbound(by_name[name])]
    return [layer for layer in layers if layer["name"] in needed]


def check_frozen(layers):
    """Fail unless every layer is 'trainable: false', i.e. keeps its original ImageNet weights."""
    retrained = [layer["name"] for layer in layers
                 if layer["class_name"] != "InputLayer" and layer["config"].get("trainable") is not False]
    if retrained:
        raise ConversionError(f"layers {names_line(retrained)} are trainable (retrained by the package "
                              f"author, not ImageNet weights); refusing to ship them")


def fold_batchnorm(kernel_hwio, conv_bias, bn_config, bn_weights):
    """Fold BN into the conv before it.

    kernel_hwio: (kh, kw, C, O); conv_bias: (O,) or None; bn_weights: {'beta', 'gamma',
    'moving_mean', 'moving_variance'} (beta/gamma absent when center/scale is False).
    Returns (w (O, C, kh, kw) float32, b (O,) float32).
    """
    out_channels = kernel_hwio.shape[3]
    mean = np.asarray(bn_weights["moving_mean"], dtype=np.float64)
    var = np.asarray(bn_weights["moving_variance"], dtype=np.float64)
    gamma = np.asarray(bn_weights.get("gamma", np.ones(out_channels)), dtype=np.float64)
    beta = np.asarray(bn_weights.get("beta", np.zeros(out_channels)), dtype=np.float64)
    bias = np.zeros(out_channels) if conv_bias is None else np.asarray(conv_bias, dtype=np.float64)
    spread = var + float(bn_config["epsilon"])
    if not np.all(spread > 0):  # also catches NaN
        bad = int(np.flatnonzero(~(spread > 0))[0])
        raise ConversionError(f"BatchNormalization channel {bad}: moving_variance + epsilon is "
                              f"{spread[bad]!r}; it must be positive (its square root divides)")
    g = gamma / np.sqrt(spread)
    w = np.asarray(kernel_hwio, dtype=np.float64) * g  # scales the O axis, the last one
    b = (bias - mean) * g + beta
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1), dtype=np.float32), b.astype(np.float32)


def build_nodes(layers, weights):
    """Keras layers (topologically ordered) + {'layer/param': array} -> list of Node.

    BatchNormalization layers disappear into the conv before them; whatever read a BN output
    now reads that conv. Unsupported layers or settings raise ConversionError.
    """
    consumers = {}
    for layer in layers:
        for src, *_ in _inbound(layer):
            consumers.setdefault(src, []).append(layer)
    alias, nodes = {}, []  # alias: BN layer name -> the conv node that now carries it
    folded = {}  # conv name -> the BN layer folded into it
    for layer in layers:
        name, kind, config = layer["name"], layer["class_name"], layer["config"]
        inputs = [alias.get(src, src) for src, *_ in _inbound(layer)]
        if kind == "InputLayer":
            nodes.append(Node(name, "input", [], {"channels": int(config["batch_input_shape"][-1])}))
        elif kind == "Conv2D":
            node, folded[name] = _conv_node(layer, inputs, weights, consumers.get(name, []))
            nodes.append(node)
        elif kind == "BatchNormalization":
            if len(inputs) != 1 or folded.get(inputs[0]) != name:
                raise ConversionError(f"{name}: BatchNormalization must read a Conv2D that nothing else reads")
            alias[name] = inputs[0]
        elif kind == "Activation":
            if config["activation"] != "relu":
                raise ConversionError(f"{name}: activation {config['activation']!r} is not supported")
            nodes.append(Node(name, "relu", inputs))
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            nodes.append(_pool_node(layer, inputs))
        elif kind == "Concatenate":
            if config["axis"] not in (-1, 3):
                raise ConversionError(f"{name}: only channel concatenation (axis -1 or 3) is supported")
            nodes.append(Node(name, "concat", inputs, {"axis": 1}))
        else:
            raise ConversionError(f"{name}: layer class {kind!r} is not supported")
    return nodes


def _inbound(layer):
    """[[src_name, node_index, tensor_index, kwargs], ...] of a layer's single call."""
    calls = layer.get("inbound_nodes", [])
    if len(calls) > 1:
        raise ConversionError(f"{layer['name']}: shared layers (called more than once) are not supported")
    return calls[0] if calls else []


def _conv_node(layer, inputs, weights, consumers):
    """(conv2d Node, name of the BN folded into it or None)."""
    name, config = layer["name"], layer["config"]
    _expect(name, config, data_format="channels_last", dilation_rate=[1, 1], activation="linear")
    kernel = _weight(weights, f"{name}/kernel")
    bias = _weight(weights, f"{name}/bias") if config["use_bias"] else None
    bn = None
    if len(consumers) == 1 and consumers[0]["class_name"] == "BatchNormalization":
        bn = consumers[0]
        bn_weights = {key: _weight(weights, f"{bn['name']}/{key}") for key in _bn_params(bn)}
        w, b = fold_batchnorm(kernel, bias, bn["config"], bn_weights)
    elif any(c["class_name"] == "BatchNormalization" for c in consumers):
        raise ConversionError(f"{name}: a conv read by a BatchNormalization and other layers cannot be folded")
    else:
        w = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32)
        b = (np.zeros(w.shape[0]) if bias is None else bias).astype(np.float32)
    attrs = {"stride": list(config["strides"]), "padding": _padding(name, config)}
    return Node(name, "conv2d", inputs, attrs, {"w": w, "b": b}), bn and bn["name"]


def _weight(weights, key):
    if key not in weights:
        raise ConversionError(f"the weights manifest has no {key!r}")
    return weights[key]


def _bn_params(bn):
    config = bn["config"]
    if config.get("axis") not in (-1, 3):
        raise ConversionError(f"{bn['name']}: BatchNormalization must normalise the channel axis")
    return (["gamma"] if config.get("scale", True) else []) + \
           (["beta"] if config.get("center", True) else []) + ["moving_mean", "moving_variance"]


def _pool_node(layer, inputs):
    name, config = layer["name"], layer["config"]
    _expect(name, config, data_format="channels_last")
    attrs = {"size": list(config["pool_size"]), "stride": list(config["strides"]),
             "padding": _padding(name, config), "ceil_mode": False}
    if layer["class_name"] == "MaxPooling2D":
        return Node(name, "max_pool2d", inputs, attrs)
    # TensorFlow's average pool divides by the number of real (non-padding) pixels in a window
    return Node(name, "avg_pool2d", inputs, {**attrs, "count_include_pad": False})


def _padding(name, config):
    if config["padding"] not in ("same", "valid"):
        raise ConversionError(f"{name}: padding {config['padding']!r} is not 'same' or 'valid'")
    return config["padding"]


def _expect(name, config, **wanted):
    for key, value in wanted.items():
        if config.get(key, value) != value:
            raise ConversionError(f"{name}: {key} is {config[key]!r}, only {value!r} is supported")
