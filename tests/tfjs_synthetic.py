"""A tiny synthetic nsfwjs-like package, written the way nsfwjs 4.4.0 ships its InceptionV3.

    package/package.json
    package/dist/models/inception_v3/model.min.js          browserify-wrapped JS object literal
    package/dist/models/inception_v3/group1-shardKof3.min.js  browserify-wrapped base64 string

The Keras topology is a small Inception-like module (stem conv+BN+relu, max pool, three branches
including an average pool 'same', concat named mixed5) followed by a trainable conv that the
converter must drop. Weights are random uint8 codes with random per-tensor min and scale,
listed in the manifest in alphabetical order (as nsfwjs does), so manifest order differs from
layer order; the byte buffer is cut into shards at arbitrary points, splitting weights.
"""
import base64
import json
import os
import tarfile

import numpy as np

MODEL_DIR = os.path.join("dist", "models", "inception_v3")
EPSILON = 1e-3


def js_literal(value):
    """Python value -> minified JavaScript literal: bare keys, !0/!1, numbers like .5 and -.12."""
    if value is True or value is False:
        return "!0" if value else "!1"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        text = repr(value)
        return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(js_literal(v) for v in value) + "]"
    keys = [k if k.isidentifier() else json.dumps(k) for k in value]
    return "{" + ",".join(f"{k}:{js_literal(v)}" for k, v in zip(keys, value.values())) + "}"


def browserify(literal_text, global_name, args=("a", "n", "i")):
    """Wrap a literal the way nsfwjs's minified bundles do: module 1 sets <module>.exports."""
    f, m, e = args
    return ('!function(a){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=a();'
            f'else{{("undefined"!=typeof window?window:this).{global_name}=a()}}}}(function(){{return '
            f'function a(n,i,e){{return e}}({{1:[function({f},{m},{e}){{{m}.exports={literal_text}}},{{}}]}}'
            ',{},[1])(1)});')


def _layer(name, class_name, inbound, trainable=False, **config):
    return {"name": name, "class_name": class_name,
            "config": {"name": name, "trainable": trainable, **config},
            "inbound_nodes": [[[src, 0, 0, {}] for src in inbound]] if inbound else []}


def _conv_bn_relu(index, src, filters, kernel, strides=(1, 1), padding="same", use_bias=False,
                  bn_scale=False, trainable=False):
    conv, bn, act = f"conv2d_{index}", f"batch_normalization_{index}", f"activation_{index}"
    return [
        _layer(conv, "Conv2D", [src], trainable, filters=filters, kernel_size=list(kernel),
               strides=list(strides), padding=padding, data_format="channels_last",
               dilation_rate=[1, 1], activation="linear", use_bias=use_bias),
        _layer(bn, "BatchNormalization", [conv], trainable, axis=3, momentum=0.99, epsilon=EPSILON,
               center=True, scale=bn_scale),
        _layer(act, "Activation", [bn], trainable, activation="relu"),
    ]


def synthetic_layers():
    """Keras layer configs: input_1 ... mixed5, then conv2d_6/bn/relu marked trainable."""
    pool = dict(data_format="channels_last")
    layers = [{"name": "input_1", "class_name": "InputLayer", "inbound_nodes": [],
               "config": {"batch_input_shape": [None, 17, 17, 3], "dtype": "float32", "name": "input_1"}}]
    layers += _conv_bn_relu(1, "input_1", 6, (3, 3), strides=(2, 2), padding="valid")
    layers.append(_layer("max_pooling2d_1", "MaxPooling2D", ["activation_1"], pool_size=[3, 3],
                         padding="valid", strides=[2, 2], **pool))
    layers += _conv_bn_relu(2, "max_pooling2d_1", 4, (1, 1))
    layers += _conv_bn_relu(3, "max_pooling2d_1", 3, (1, 1))
    layers += _conv_bn_relu(4, "activation_3", 5, (1, 3))
    layers.append(_layer("average_pooling2d_1", "AveragePooling2D", ["max_pooling2d_1"],
                         pool_size=[3, 3], padding="same", strides=[1, 1], **pool))
    layers += _conv_bn_relu(5, "average_pooling2d_1", 2, (1, 1), use_bias=True, bn_scale=True)
    layers.append(_layer("mixed5", "Concatenate", ["activation_2", "activation_4", "activation_5"], axis=3))
    layers += _conv_bn_relu(6, "mixed5", 3, (3, 3), trainable=True)
    return layers


def _weight_shapes(layers):
    """{manifest name: shape} for every Conv2D kernel/bias and BatchNormalization parameter."""
    shapes, channels = {}, {}
    for layer in layers:
        config, inbound = layer["config"], [n[0] for n in (layer["inbound_nodes"] or [[]])[0]]
        if layer["class_name"] == "InputLayer":
            channels[layer["name"]] = config["batch_input_shape"][-1]
        elif layer["class_name"] == "Conv2D":
            out = config["filters"]
            shapes[f"{layer['name']}/kernel"] = [*config["kernel_size"], channels[inbound[0]], out]
            if config["use_bias"]:
                shapes[f"{layer['name']}/bias"] = [out]
            channels[layer["name"]] = out
        elif layer["class_name"] == "Concatenate":
            channels[layer["name"]] = sum(channels[src] for src in inbound)
        else:
            channels[layer["name"]] = channels[inbound[0]]
        if layer["class_name"] == "BatchNormalization":
            params = (["gamma"] if config["scale"] else []) + ["beta", "moving_mean", "moving_variance"]
            shapes.update({f"{layer['name']}/{p}": [channels[layer["name"]]] for p in params})
    return shapes


def write_package(root, seed=0, layers=None, shard_count=3):
    """Write the package under root/package. Returns {manifest name: (q uint8, min, scale)}."""
    rng = np.random.default_rng(seed)
    layers = synthetic_layers() if layers is None else layers
    quantized, manifest = {}, []
    for name, shape in sorted(_weight_shapes(layers).items()):
        q = rng.integers(0, 256, size=shape, dtype=np.uint8)
        low = float(rng.uniform(0.05, 0.5)) if name.endswith("variance") else float(rng.uniform(-1, 0))
        scale = float(rng.uniform(0.001, 0.02))
        quantized[name] = (q, low, scale)
        manifest.append({"name": name, "shape": shape, "dtype": "float32",
                         "quantization": {"min": low, "scale": scale, "dtype": "uint8"}})
    data = b"".join(quantized[w["name"]][0].tobytes() for w in manifest)
    cut = -(-len(data) // shard_count)
    shards = [f"group1-shard{k + 1}of{shard_count}" for k in range(shard_count)]
    model = {"modelTopology": {"keras_version": "2.2.4", "backend": "tensorflow",
                               "model_config": {"class_name": "Model",
                                                "config": {"name": "model_1", "layers": layers}}},
             "weightsManifest": [{"paths": shards, "weights": manifest}]}
    folder = os.path.join(root, "package", MODEL_DIR)
    os.makedirs(folder)
    with open(os.path.join(root, "package", "package.json"), "w") as f:
        json.dump({"name": "nsfwjs", "version": "4.4.0", "license": "MIT"}, f)
    with open(os.path.join(folder, "model.min.js"), "w") as f:
        f.write(browserify(js_literal(model), "model"))
    for k, shard in enumerate(shards):
        text = base64.b64encode(data[k * cut:(k + 1) * cut]).decode("ascii")
        with open(os.path.join(folder, shard + ".min.js"), "w") as f:
            f.write(browserify(json.dumps(text), shard.replace("-", "_"), args=("d", "h", "Z")))
    return quantized


def write_tarball(root, tgz_path):
    """Pack root/package into an npm-style tarball (every member under 'package/')."""
    with tarfile.open(tgz_path, "w:gz") as tar:
        tar.add(os.path.join(root, "package"), arcname="package")
    return tgz_path
