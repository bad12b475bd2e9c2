"""A tiny Inception-like ModelSpec with random weights, for fast tests of the executor and engine.

stem: conv 3x3/2 valid -> relu -> conv 3x3 same -> relu -> max pool 3x3/2 -> lrn
mixed: four branches (1x1; 1x1 -> 3x3 same; 1x1 -> 1x3 -> 3x1; avg pool 3x3 same -> 1x1) -> concat
The stem output fans out to four branches, so backward must add gradients.
"""
import numpy as np

from numdream.modelfile import ModelSpec, Node


def _conv(rng, name, src, cin, cout, kh, kw, stride=1, padding="same"):
    w = rng.standard_normal((cout, cin, kh, kw)) * np.sqrt(2.0 / (cin * kh * kw))
    b = rng.standard_normal(cout) * 0.1
    return [Node(name, "conv2d", [src], {"stride": [stride, stride], "padding": padding},
                 {"w": w.astype(np.float32), "b": b.astype(np.float32)}),
            Node(name + "_relu", "relu", [name])]


def tiny_spec(seed=0, channel_order="RGB"):
    rng = np.random.default_rng(seed)
    nodes = [Node("input", "input", [], {"channels": 3})]
    nodes += _conv(rng, "conv1", "input", 3, 8, 3, 3, stride=2, padding="valid")
    nodes += _conv(rng, "conv2", "conv1_relu", 8, 8, 3, 3)
    nodes.append(Node("pool1", "max_pool2d", ["conv2_relu"],
                      {"size": [3, 3], "stride": [2, 2], "padding": "valid", "ceil_mode": False}))
    nodes.append(Node("norm1", "lrn", ["pool1"], {"size": 5, "alpha": 1e-2, "beta": 0.75, "k": 1.0}))
    nodes += _conv(rng, "b1", "norm1", 8, 4, 1, 1)
    nodes += _conv(rng, "b2a", "norm1", 8, 3, 1, 1) + _conv(rng, "b2b", "b2a_relu", 3, 4, 3, 3)
    nodes += _conv(rng, "b3a", "norm1", 8, 3, 1, 1) + _conv(rng, "b3b", "b3a_relu", 3, 3, 1, 3)
    nodes += _conv(rng, "b3c", "b3b_relu", 3, 4, 3, 1)
    nodes.append(Node("b4pool", "avg_pool2d", ["norm1"], {"size": [3, 3], "stride": [1, 1],
                      "padding": "same", "ceil_mode": False, "count_include_pad": False}))
    nodes += _conv(rng, "b4", "b4pool", 8, 4, 1, 1)
    nodes.append(Node("mixed", "concat", ["b1_relu", "b2b_relu", "b3c_relu", "b4_relu"], {"axis": 1}))
    nodes += _conv(rng, "top", "mixed", 16, 6, 3, 3, stride=2)
    preprocess = {"channel_order": channel_order, "mean": [127.5] * 3, "scale": 1 / 127.5}
    return ModelSpec("tiny", nodes, preprocess, {"source": "tests/tiny_model.py"}, dream_layers={"mixed": 1.0})
