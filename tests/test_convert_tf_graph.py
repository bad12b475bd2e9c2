"""tools/convert_tf_graph.py on a synthetic GraphDef with inception5h's structure and names.

The graph (tests/protobuf_write.py writes it): conv2d0 7x7/2 SAME, maxpool0, localresponsenorm0,
conv2d1, conv2d2, localresponsenorm1, maxpool1, mixed3a (Concat), mixed3b (ConcatV2), an
auxiliary head that flattens a 2x2 grid (head0 -> nn0 -> softmax0) and the main head (avgpool0 ->
softmax2). The numdream model must equal a PyTorch model that runs the same nodes with
TensorFlow's rules (SAME padding, NHWC Reshape before MatMul, LRN with alpha not divided by the
window), forward and input gradient, float64.
"""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import hostile
import protobuf_write as pw
from numdream.errors import ModelFileError
from numdream.gradcheck import rel_error
from numdream.model import Model, load_model
from tool_paths import TOOLS  # noqa: F401 (puts tools/ on sys.path)

import convert_tf_graph  # noqa: E402
from tfgraph import GraphError  # noqa: E402

SAME, VALID = "SAME", "VALID"


def _conv(rng, nodes, name, src, cin, out, k, stride=1, padding=SAME, relu=True, bias="tensor"):
    """inception5h's pattern: <name>_w, <name>_b, <name>_pre_relu/conv, <name>_pre_relu, <name>."""
    w = rng.standard_normal((k, k, cin, out)).astype(np.float32) * np.float32(np.sqrt(2 / (k * k * cin)))
    b = rng.standard_normal(out).astype(np.float32) * np.float32(0.1)
    b_value = {"tensor": b, "float_val": ("tensor", b, False), "fill": ("fill", 0.25, [out])}[bias]
    nodes += [(name + "_w", "Const", [], {"dtype": ("type", 1), "value": w}),
              (name + "_b", "Const", [], {"dtype": ("type", 1), "value": b_value}),
              (name + "_pre_relu/conv", "Conv2D", [src, name + "_w"],
               {"T": ("type", 1), "strides": [1, stride, stride, 1], "padding": padding,
                "data_format": "NHWC", "use_cudnn_on_gpu": True}),
              (name + "_pre_relu", "BiasAdd", [name + "_pre_relu/conv", name + "_b"], {"T": ("type", 1)})]
    if relu:
        nodes.append((name, "Relu", [name + "_pre_relu"], {"T": ("type", 1)}))
    return name if relu else name + "_pre_relu"


def _pool(nodes, name, op, src, k, stride, padding):
    nodes.append((name, op, [src], {"ksize": [1, k, k, 1], "strides": [1, stride, stride, 1],
                                    "padding": padding, "T": ("type", 1)}))
    return name


def _dense(rng, nodes, name, src, k, out, transpose_b=False):
    w = rng.standard_normal((out, k) if transpose_b else (k, out)).astype(np.float32) / np.float32(np.sqrt(k))
    nodes += [(name + "_w", "Const", [], {"value": w}),
              (name + "_b", "Const", [], {"value": rng.standard_normal(out).astype(np.float32)}),
              (name + "/matmul", "MatMul", [src, name + "_w"], {"transpose_a": False, "transpose_b": transpose_b}),
              (name, "BiasAdd", [name + "/matmul", name + "_b"], {})]
    return name


def inception5h_like(seed=0, bias="tensor"):
    """The node tuples (name, op, inputs, attrs) of the small graph, in a valid order."""
    rng = np.random.default_rng(seed)
    n = [("input", "Placeholder", [], {"dtype": ("type", 1)})]
    x = _conv(rng, n, "conv2d0", "input", 3, 8, 7, stride=2, bias=bias)
    x = _pool(n, "maxpool0", "MaxPool", x, 3, 2, SAME)
    n.append(("localresponsenorm0", "LRN", [x], {"depth_radius": 2, "alpha": 0.1, "beta": 0.75, "bias": 2.0}))
    x = _conv(rng, n, "conv2d1", "localresponsenorm0", 8, 8, 1)
    x = _conv(rng, n, "conv2d2", x, 8, 12, 3, bias="float_val")
    n.append(("localresponsenorm1", "LRN", [x], {"depth_radius": 1, "alpha": 0.05, "beta": 0.5, "bias": 1.0}))
    x = _pool(n, "maxpool1", "MaxPool", "localresponsenorm1", 3, 2, SAME)
    branches = [_conv(rng, n, "mixed3a_1x1", x, 12, 4, 1)]
    _conv(rng, n, "mixed3a_3x3_bottleneck", x, 12, 4, 1)
    branches.append(_conv(rng, n, "mixed3a_3x3", "mixed3a_3x3_bottleneck", 4, 6, 3, bias="fill"))
    _conv(rng, n, "mixed3a_5x5_bottleneck", x, 12, 2, 1)
    branches.append(_conv(rng, n, "mixed3a_5x5", "mixed3a_5x5_bottleneck", 2, 3, 5))
    _pool(n, "mixed3a_pool", "MaxPool", x, 3, 1, SAME)
    branches.append(_conv(rng, n, "mixed3a_pool_reduce", "mixed3a_pool", 12, 3, 1))
    n.append(("mixed3a/concat_dim", "Const", [], {"value": ("tensor", np.array(3, dtype=np.int32), False)}))
    n.append(("mixed3a", "Concat", ["mixed3a/concat_dim"] + branches, {"N": 4}))
    b1 = _conv(rng, n, "mixed3b_1x1", "mixed3a", 16, 5, 1)
    _pool(n, "mixed3b_pool", "AvgPool", "mixed3a", 3, 1, SAME)
    b2 = _conv(rng, n, "mixed3b_pool_reduce", "mixed3b_pool", 16, 3, 1)
    n.append(("mixed3b/axis", "Const", [], {"value": np.array(-1, dtype=np.int32)}))
    n.append(("mixed3b", "ConcatV2", [b1, b2, "mixed3b/axis"], {"N": 2}))
    _pool(n, "head0_pool", "AvgPool", "mixed3b", 3, 1, VALID)  # 4x4 -> 2x2
    _conv(rng, n, "head0_bottleneck", "head0_pool", 8, 4, 1)
    n.append(("head0_bottleneck/reshape/shape", "Const", [], {"value": np.int32([-1, 16])}))
    n.append(("head0_bottleneck/reshape", "Reshape", ["head0_bottleneck", "head0_bottleneck/reshape/shape"], {}))
    _dense(rng, n, "nn0_pre_relu", "head0_bottleneck/reshape", 16, 10)
    n.append(("nn0", "Relu", ["nn0_pre_relu"], {}))
    n.append(("nn0/reshape/shape", "Const", [], {"value": ("tensor", np.int32([-1, 10]), False)}))
    n.append(("nn0/reshape", "Reshape", ["nn0", "nn0/reshape/shape"], {}))
    _dense(rng, n, "softmax0_pre_activation", "nn0/reshape", 10, 5, transpose_b=True)
    n.append(("softmax0", "Softmax", ["softmax0_pre_activation"], {}))
    _pool(n, "avgpool0", "AvgPool", "mixed3b", 4, 1, VALID)
    n.append(("avgpool0/reshape/shape", "Const", [], {"value": np.int32([-1, 8])}))
    n.append(("avgpool0/reshape", "Reshape", ["avgpool0", "avgpool0/reshape/shape"], {}))
    _dense(rng, n, "softmax2_pre_activation", "avgpool0/reshape", 8, 7)
    n.append(("softmax2", "Softmax", ["softmax2_pre_activation"], {}))
    n.append(("output2", "Identity", ["softmax2"], {}))
    return n


def _value(v):
    """The array a Const attr holds, however protobuf_write encodes it."""
    if isinstance(v, tuple):
        return np.full(v[2], v[1], np.float32) if v[0] == "fill" else v[1]
    return v


def _same(size, k, s):
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def tf_in_torch(nodes, x):
    """Run the node tuples with TensorFlow's rules, in torch on NCHW tensors: {name: value}."""
    t = {}
    for name, op, inputs, attrs in nodes:
        a = [t.get(i) for i in inputs]
        if op == "Placeholder":
            y = x
        elif op == "Const":
            y = torch.tensor(np.asarray(_value(attrs["value"])))
        elif op == "Conv2D" or op in ("MaxPool", "AvgPool"):
            k = attrs["ksize"][1] if op != "Conv2D" else a[1].shape[0]
            s = attrs["strides"][1]
            (pt, pb), (pl, pr) = (_same(size, k, s) if attrs["padding"] == SAME else (0, 0) for size in a[0].shape[2:])
            if op == "Conv2D":
                y = F.conv2d(F.pad(a[0], (pl, pr, pt, pb)), a[1].double().permute(3, 2, 0, 1), stride=s)
            elif op == "MaxPool":
                y = F.max_pool2d(F.pad(a[0], (pl, pr, pt, pb), value=-np.inf), k, s)
            else:
                ones = F.pad(torch.ones_like(a[0]), (pl, pr, pt, pb))
                y = F.avg_pool2d(F.pad(a[0], (pl, pr, pt, pb)), k, s) / F.avg_pool2d(ones, k, s)
        elif op == "BiasAdd":
            y = a[0] + (a[1].double()[None, :, None, None] if a[0].dim() == 4 else a[1].double())
        elif op == "Relu":
            y = F.relu(a[0])
        elif op == "Softmax":
            y = F.softmax(a[0], dim=1)
        elif op == "LRN":
            r, squares = attrs["depth_radius"], F.pad(a[0] ** 2, (0, 0, 0, 0, attrs["depth_radius"], attrs["depth_radius"]))
            window = sum(squares[:, i:i + a[0].shape[1]] for i in range(2 * r + 1))
            f32 = {k: float(np.float32(attrs[k])) for k in ("bias", "alpha", "beta")}  # attrs are float32
            y = a[0] / (f32["bias"] + f32["alpha"] * window) ** f32["beta"]
        elif op in ("Concat", "ConcatV2"):
            y = torch.cat([v for v, i in zip(a, inputs) if "concat_dim" not in i and "axis" not in i], dim=1)
        elif op == "Reshape":
            nhwc = a[0].permute(0, 2, 3, 1) if a[0].dim() == 4 else a[0]
            y = nhwc.reshape(*[int(d) for d in a[1]])
        elif op == "MatMul":
            y = a[0] @ (a[1].double().T if attrs["transpose_b"] else a[1].double())
        elif op == "Identity":
            y = a[0]
        t[name] = y
    return t


TARGETS = ["conv2d0_pre_relu", "conv2d0", "maxpool0", "localresponsenorm0", "conv2d2", "localresponsenorm1",
           "mixed3a_5x5_bottleneck_pre_relu", "mixed3a", "mixed3b", "head0_bottleneck", "nn0",
           "softmax0_pre_activation", "softmax0", "softmax2_pre_activation", "softmax2"]


def convert(tmp_path, nodes):
    (tmp_path / "graph.pb").write_bytes(pw.graph_def(nodes))
    convert_tf_graph.convert(str(tmp_path / "graph.pb"), str(tmp_path / "graph.h5"))
    return tmp_path / "graph.h5"


@pytest.mark.parametrize("order", ["as written", "constants last"])
def test_converted_graph_equals_tensorflow_rules_in_torch(tmp_path, order):
    nodes = inception5h_like()
    written = nodes if order == "as written" else sorted(nodes, key=lambda n: n[1] == "Const")
    model = Model(load_model(convert(tmp_path, written)).spec, dtype=np.float64)
    rng = np.random.default_rng(1)
    x = rng.uniform(-117, 138, (2, 3, 32, 32))
    acts, tape = model.forward(x, TARGETS)
    grads = {t: rng.standard_normal(acts[t].shape) for t in TARGETS}
    dx = model.backward(grads, tape)
    xt = torch.tensor(x, requires_grad=True)
    ref = tf_in_torch(nodes, xt)
    sum((ref[t].reshape(acts[t].shape) * torch.tensor(grads[t])).sum() for t in TARGETS).backward()
    for t in TARGETS:
        assert acts[t].size == ref[t].numel(), t
        assert rel_error(acts[t], ref[t].detach().reshape(acts[t].shape)) <= 1e-9, t
    assert rel_error(dx, xt.grad) <= 1e-9


def test_names_ops_and_preprocessing(tmp_path):
    spec = load_model(convert(tmp_path, inception5h_like())).spec
    ops = {n.name: n.op for n in spec.nodes}
    assert ops["conv2d0_pre_relu"] == "conv2d" and ops["conv2d0"] == "relu" and ops["mixed3a"] == "concat"
    assert ops["softmax2_pre_activation"] == "dense" and ops["softmax2"] == "softmax"
    assert not any(k.endswith(("/conv", "/matmul", "/reshape", "_w", "_b")) or k == "output2" for k in ops)
    nodes = {n.name: n for n in spec.nodes}
    assert nodes["conv2d0_pre_relu"].attrs == {"stride": [2, 2], "padding": "same"}
    assert nodes["conv2d0_pre_relu"].params["w"].shape == (8, 3, 7, 7)
    assert nodes["localresponsenorm0"].attrs == {"size": 5, "alpha": pytest.approx(0.5), "beta": 0.75, "k": 2.0}
    assert nodes["mixed3b_pool"].attrs["count_include_pad"] is False
    np.testing.assert_array_equal(nodes["mixed3a_3x3_pre_relu"].params["b"], np.full(6, 0.25, np.float32))
    assert spec.preprocess == {"channel_order": "RGB", "mean": [117.0] * 3, "scale": 1.0}
    assert spec.name == "graph"


def _broken(tmp_path, change):
    nodes = inception5h_like()
    change(nodes)
    (tmp_path / "bad.pb").write_bytes(pw.graph_def(nodes))
    with pytest.raises(GraphError) as err:
        convert_tf_graph.convert(str(tmp_path / "bad.pb"), str(tmp_path / "bad.h5"))
    assert not (tmp_path / "bad.h5").exists()
    return str(err.value)


def _replace(nodes, name, **changes):
    i = next(i for i, n in enumerate(nodes) if n[0] == name)
    fields = dict(zip(("name", "op", "inputs", "attrs"), nodes[i]))
    fields.update(changes)
    nodes[i] = tuple(fields.values())


@pytest.mark.parametrize("change, message", [
    (lambda n: _replace(n, "conv2d1", op="Sigmoid"), "node 'conv2d1' (Sigmoid): numdream cannot convert op 'Sigmoid'"),
    (lambda n: _replace(n, "maxpool0", attrs={"ksize": [1, 3, 3, 1], "strides": [1, 2, 2, 1], "padding": SAME,
                                              "data_format": "NCHW"}), "data_format 'NCHW'"),
    (lambda n: _replace(n, "softmax2", inputs=["avgpool0/reshape"]), "reads the Reshape 'avgpool0/reshape'"),
    (lambda n: _replace(n, "avgpool0/reshape/shape", attrs={"value": np.int32([-1, 2, 4])}), "reshapes to [-1, 2, 4]"),
    (lambda n: _replace(n, "mixed3b/axis", attrs={"value": np.array(1, dtype=np.int32)}), "concatenates along axis 1"),
    (lambda n: n.append(("stray_bias", "BiasAdd", ["input", "conv2d0_b"], {})), "numdream folds a BiasAdd"),
    (lambda n: n.append(("input2", "Placeholder", [], {})), "needs one Placeholder (the image), it has 2"),
    (lambda n: _replace(n, "nn0/reshape", inputs=["nn0:1", "nn0/reshape/shape"]), "reads output 1 of 'nn0'"),
    (lambda n: _replace(n, "nn0", inputs=["missing_node"]), "reads 'missing_node', which is not in the graph"),
])
def test_unconvertible_graphs_name_the_node(tmp_path, change, message):
    assert message in _broken(tmp_path, change)


def test_cli_errors_are_one_line(tmp_path, capsys):
    def error(*argv):
        assert convert_tf_graph.main([str(a) for a in argv]) == 1
        out, err = capsys.readouterr()
        assert out == "" and len(err.splitlines()) == 1
        return err
    assert "missing.pb: no such file" in error(tmp_path / "missing.pb")
    (tmp_path / "noise.pb").write_bytes(bytes(range(256)) * 8)
    assert "noise.pb: not a TensorFlow GraphDef (.pb)" in error(tmp_path / "noise.pb")
    (tmp_path / "model.caffemodel").write_bytes(pw.caffemodel([]))
    assert "not a TensorFlow GraphDef (.pb)" in error(tmp_path / "model.caffemodel")
    (tmp_path / "g.pb").write_bytes(pw.graph_def(inception5h_like()))
    assert "would overwrite the input" in error(tmp_path / "g.pb", "-o", tmp_path / "g.pb")
    assert convert_tf_graph.main([str(tmp_path / "g.pb")]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'g.h5'}: ")
    assert load_model(tmp_path / "g.h5").layer("mixed3a").channels == 16


# ---- hostile graphs: one line each, bounded, nothing written ------------------------------------

def small_graph():
    """input -> conv (+ bias) -> relu -> pool -> lrn -> concat with the pool -> flatten -> dense."""
    rng = np.random.default_rng(4)
    n = [("input", "Placeholder", [], {"dtype": ("type", 1), "shape": ("shape", [1, 8, 8, 3])})]
    _conv(rng, n, "conv", "input", 3, 4, 3)
    _pool(n, "pool", "MaxPool", "conv", 2, 2, VALID)
    n.append(("lrn", "LRN", ["pool"], {"depth_radius": 2, "alpha": 0.1, "beta": 0.75, "bias": 2.0}))
    n.append(("axis", "Const", [], {"value": np.array(3, dtype=np.int32)}))
    n.append(("cat", "ConcatV2", ["lrn", "pool", "axis"], {"N": 2}))
    n.append(("flat/shape", "Const", [], {"value": np.int32([-1, 8 * 16])}))
    n.append(("flat", "Reshape", ["cat", "flat/shape"], {}))
    _dense(rng, n, "logits", "flat", 8 * 16, 5)
    return n


def shaped(shape, content=b"", dtype=pw.DT_FLOAT):
    """A Const 'value' that declares ``shape`` but carries only ``content`` as tensor_content."""
    tensor = pw.f_varint(1, dtype) + pw.f_len(2, pw.tensor_shape(shape))
    return ("raw tensor", tensor + (pw.f_len(4, content) if content else b""))


def graph_bytes(nodes):
    """GraphDef bytes; a ("raw tensor", bytes) attr value is written as it is."""
    out = b""
    for name, op, inputs, attrs in nodes:
        raw = {k: v for k, v in attrs.items() if isinstance(v, tuple) and v[0] == "raw tensor"}
        body = pw.node_def(name, op, inputs, {k: v for k, v in attrs.items() if k not in raw})
        for key_, (_, tensor) in raw.items():
            body += pw.f_len(5, pw.f_len(1, key_) + pw.f_len(2, pw.f_len(8, tensor)))
        out += pw.f_len(1, body)
    return out


def tf_refused(tmp_path, nodes, says, error=GraphError, limit_mb=64):
    (tmp_path / "g.pb").write_bytes(graph_bytes(nodes))
    before = hostile.snapshot(tmp_path)
    message = hostile.refused(lambda: convert_tf_graph.convert(str(tmp_path / "g.pb"), str(tmp_path / "g.h5")),
                              error, says, limit_mb=limit_mb)
    assert hostile.snapshot(tmp_path) == before
    return message


def changed(change):
    nodes = small_graph()
    change(nodes)
    return nodes


def const(name, value):
    return lambda n: _replace(n, name, attrs={"value": value})


def attrs_of(nodes, name):
    return next(node for node in nodes if node[0] == name)[3]


HOSTILE_GRAPHS = {  # name -> (change of small_graph, what the line says, error class)
    "a two-node cycle": (lambda n: _replace(n, "conv_pre_relu/conv", inputs=["conv", "conv_w"]),
                         "the graph has a cycle through", GraphError),
    "a node reading itself": (lambda n: _replace(n, "lrn", inputs=["lrn"]), "a cycle through 1 node(s): 'lrn', 'lrn'", GraphError),
    "a cycle away from the input": (lambda n: n.extend([("a", "Relu", ["b"], {}), ("b", "Relu", ["c"], {}), ("c", "Relu", ["a"], {})]),
                                    "a cycle through 3 node(s): 'a', 'b', 'c', 'a'", GraphError),
    "a 1 GB Const without values": (const("conv_w", shaped([16384, 16384])),
                                    "a tensor of shape (16384, 16384) (268435456 values) holds 0 values", GraphError),
    "a Const filled from one value past the fill cap": (const("conv_b", ("fill", 0.5, [1 << 21])),
                                                        "numdream fills a shape from one value (or none) only up to 1048576", GraphError),
    "a Const of 2 values for 4": (const("conv_b", ("raw tensor", pw.f_varint(1, pw.DT_FLOAT) + pw.f_len(2, pw.tensor_shape([4]))
                                                  + pw.f_packed_floats(5, [1.0, 2.0]))),
                                  "a tensor of shape (4,) (4 values) holds 2 values", GraphError),
    "a Const with a negative dim": (const("conv_w", shaped([3, -3, 3, 4])), "declares shape (3, -3, 3, 4)", GraphError),
    "a Const of 2**120 values": (const("conv_w", shaped([1 << 40, 1 << 40, 1 << 40])), "hold at most 268435456 values", GraphError),
    "tensor content not whole floats": (const("conv_b", shaped([4], b"\x00" * 15)),
                                        "tensor_content of 15 bytes is not a whole number of float32 values", GraphError),
    "Conv2D without padding": (lambda n: attrs_of(n, "conv_pre_relu/conv").pop("padding"), "has no padding attr", GraphError),
    "Conv2D with one input": (lambda n: _replace(n, "conv_pre_relu/conv", inputs=["input"]), "takes 2 input(s), has 1", GraphError),
    "Identity without inputs": (lambda n: n.append(("out", "Identity", [], {})), "node 'out' (Identity): takes 1 input(s), has 0", GraphError),
    "ConcatV2 without tensors": (lambda n: _replace(n, "cat", inputs=["axis"]), "takes at least 2 input(s), has 1", GraphError),
    "Concat without inputs": (lambda n: n.append(("cat2", "Concat", [], {})), "takes at least 2 input(s), has 0", GraphError),
    "a 1-D MatMul weight": (const("logits_w", np.ones(128, np.float32)), "has shape (128,); a MatMul weight is 2-D", GraphError),
    "depth_radius as a list": (lambda n: attrs_of(n, "lrn").update(depth_radius=[1, 2]),
                               "attr 'depth_radius' is [1, 2], expected an int", GraphError),
    "a Placeholder shape that is an int": (lambda n: _replace(n, "input", attrs={"shape": 7}),
                                           "attr 'shape' is 7, expected a shape", GraphError),
    "a zero-size filter": (const("conv_w", np.zeros((0, 3, 3, 4), np.float32)), "every dim at least 1", GraphError),
    "a bias of the wrong size": (const("conv_b", np.zeros(7, np.float32)), "a bias of 7 values for 4 channels", GraphError),
    "two nodes of one name": (lambda n: n.append(("lrn", "Relu", ["pool"], {})), "two nodes are named 'lrn'", GraphError),
    "strides of [1, 2, 1]": (lambda n: attrs_of(n, "pool").update(strides=[1, 2, 1]), "strides [1, 2, 1] is not [1, h, w, 1]",
                             GraphError),
    "a stride of 0": (lambda n: attrs_of(n, "pool").update(strides=[1, 0, 0, 1]), "attr 'stride' is [0, 0]", ModelFileError),
    "an axis that is not one int": (const("axis", np.array([3, 3], np.int32)), "is not one integer", GraphError),
    "NaN weights": (const("conv_w", np.full((3, 3, 3, 4), np.nan, np.float32)), "param 'w': value nan", ModelFileError),
    "LRN bias 0": (lambda n: attrs_of(n, "lrn").update(bias=0.0), "lrn k=0.0", ModelFileError),
    "a pool window of 4096": (lambda n: attrs_of(n, "pool").update(ksize=[1, 4096, 4096, 1]), "each at most 1024 px", ModelFileError),
    "a node name with a newline": (lambda n: n.append(("out\nfake", "Relu", ["cat"], {})),
                                   "name 'out\\nfake' holds control or non-printable", ModelFileError),
}


@pytest.mark.parametrize("case", list(HOSTILE_GRAPHS))
def test_a_hostile_graph_is_refused_in_one_line(tmp_path, case):
    change, says, error = HOSTILE_GRAPHS[case]
    tf_refused(tmp_path, changed(change), says, error)


def test_the_small_graph_itself_converts(tmp_path):
    (tmp_path / "g.pb").write_bytes(graph_bytes(small_graph()))
    spec = convert_tf_graph.convert(str(tmp_path / "g.pb"), str(tmp_path / "g.h5"))
    assert [n.op for n in spec.nodes] == ["input", "conv2d", "relu", "max_pool2d", "lrn", "concat", "dense"]


def test_a_fifo_and_a_device_are_refused_without_blocking(tmp_path):
    hostile.refused(lambda: convert_tf_graph.convert("/dev/zero", str(tmp_path / "o.h5")), GraphError,
                    "/dev/zero: it is a character device, not a regular file")
    os.mkfifo(tmp_path / "pipe.pb")
    done = hostile.run_tool("convert_tf_graph.py", tmp_path / "pipe.pb", "-o", tmp_path / "o.h5", timeout=60)
    hostile.assert_cli_refused(done, "convert_tf_graph", "pipe.pb: it is a FIFO (named pipe), not a regular file")


@pytest.mark.parametrize("case", ["a two-node cycle", "a 1 GB Const without values", "depth_radius as a list"])
def test_the_command_line_refuses_hostile_graphs_in_one_line(tmp_path, case):
    change, says, _ = HOSTILE_GRAPHS[case]
    (tmp_path / "g.pb").write_bytes(graph_bytes(changed(change)))
    done = hostile.run_tool("convert_tf_graph.py", tmp_path / "g.pb", "-o", tmp_path / "g.h5")
    hostile.assert_cli_refused(done, "convert_tf_graph", says)
    assert not (tmp_path / "g.h5").exists()
