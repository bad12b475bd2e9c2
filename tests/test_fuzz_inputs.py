"""Fuzz: seeded random byte edits of small valid inputs, 2,000 in all. A tiny model file
(400) must load or be refused with one ModelFileError line; a tiny .caffemodel, deploy
.prototxt, GraphDef and tfjs package (1,600) must convert or be refused with one line of the
converter's error (or ModelFileError when they convert into an invalid model). Any other
exception fails, and so does a hang (a deadline runs out).
"""
from pathlib import Path

import numpy as np

import protobuf_write as pw
from hostile import deadline, mutations
from numdream.errors import ModelFileError
from numdream.modelfile import read_model, write_model
from tiny_model import tiny_spec
from tool_paths import TOOLS  # noqa: F401 (puts tools/ on sys.path)

import convert_caffe  # noqa: E402
import convert_tf_graph  # noqa: E402
import convert_tfjs  # noqa: E402
import tfjs_synthetic as synth  # noqa: E402
from caffemodel import CaffeError  # noqa: E402
from tfgraph import GraphError  # noqa: E402
from tfjs.package import ConversionError  # noqa: E402


def test_fuzz_model_file(tmp_path):
    """400 seeded mutations of the tiny model: each loads or is one ModelFileError line."""
    write_model(tmp_path / "good.h5", tiny_spec())
    data = (tmp_path / "good.h5").read_bytes()
    path, outcomes = tmp_path / "fuzzed.h5", {"loaded": 0, "refused": 0}
    for data_ in mutations(data, 400, seed=12):
        path.write_bytes(data_)
        try:
            read_model(path)
            outcomes["loaded"] += 1
        except ModelFileError as err:
            assert "\n" not in str(err) and str(err).startswith(f"{path}: ")
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100 and outcomes["loaded"] > 10, outcomes


def tiny_caffe_net():
    """data -> conv (+ in-place relu) -> pool -> LRN -> global pool -> InnerProduct, as layer dicts."""
    rng = np.random.default_rng(5)
    return [{"name": "data", "type": "Data", "top": ["data"], "transform": {"mean_value": [104.0, 117.0, 123.0]}},
            {"name": "conv", "type": "Convolution", "bottom": ["data"], "top": ["conv"],
             "param": {"num_output": 4, "kernel_size": 3, "pad": 1},
             "blobs": [rng.standard_normal((4, 3, 3, 3)).astype(np.float32), np.zeros(4, np.float32)]},
            {"name": "relu", "type": "ReLU", "bottom": ["conv"], "top": ["conv"]},
            {"name": "pool", "type": "Pooling", "bottom": ["conv"], "top": ["pool"],
             "param": {"pool": 0, "kernel_size": 2, "stride": 2}},
            {"name": "norm", "type": "LRN", "bottom": ["pool"], "top": ["norm"],
             "param": {"local_size": 3, "alpha": 1e-4, "beta": 0.75, "k": 1.0}},
            {"name": "gap", "type": "Pooling", "bottom": ["norm"], "top": ["gap"], "param": {"pool": 1, "global_pooling": True}},
            {"name": "fc", "type": "InnerProduct", "bottom": ["gap"], "top": ["fc"], "param": {"num_output": 2},
             "blobs": [rng.standard_normal((2, 4)).astype(np.float32), np.zeros(2, np.float32)]}]


def tiny_graph_def():
    """Placeholder -> Conv2D + BiasAdd -> Relu -> MaxPool -> LRN -> ConcatV2 -> Reshape -> MatMul."""
    rng = np.random.default_rng(6)
    return pw.graph_def([
        ("input", "Placeholder", [], {"dtype": ("type", 1)}),
        ("w", "Const", [], {"value": rng.standard_normal((3, 3, 3, 4)).astype(np.float32)}),
        ("b", "Const", [], {"value": ("tensor", np.zeros(4, np.float32), False)}),
        ("conv", "Conv2D", ["input", "w"], {"strides": [1, 1, 1, 1], "padding": "SAME"}),
        ("conv_b", "BiasAdd", ["conv", "b"], {}),
        ("relu", "Relu", ["conv_b"], {}),
        ("pool", "MaxPool", ["relu"], {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "VALID"}),
        ("lrn", "LRN", ["pool"], {"depth_radius": 1, "alpha": 0.1, "beta": 0.5, "bias": 1.0}),
        ("axis", "Const", [], {"value": np.array(3, np.int32)}),
        ("cat", "ConcatV2", ["lrn", "pool", "axis"], {}),
        ("avg", "AvgPool", ["cat"], {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "VALID"}),
        ("shape", "Const", [], {"value": np.int32([-1, 8])}),
        ("flat", "Reshape", ["avg", "shape"], {}),
        ("fc_w", "Const", [], {"value": rng.standard_normal((8, 3)).astype(np.float32)}),
        ("fc", "MatMul", ["flat", "fc_w"], {"transpose_a": False, "transpose_b": False}),
    ])


def fuzz(tmp_path, source, data, count, seed, convert, errors):
    """Write each mutation of ``data`` to ``source`` and convert it: it converts or raises one
    of ``errors`` with one line; any other exception fails. Returns (converted, refused)."""
    done = [0, 0]
    for mutated in mutations(data, count, seed):
        source.write_bytes(mutated)
        try:
            convert()
            done[0] += 1
        except errors as err:
            assert "\n" not in str(err) and len(str(err)) < 600, str(err)
            done[1] += 1
    return done


def test_fuzz_converter_inputs(tmp_path):
    """1,600 seeded byte mutations of a tiny .caffemodel, deploy .prototxt, GraphDef and tfjs
    package (model.min.js, a shard, the tarball): each converts or is one line of the
    converter's error (or ModelFileError for what converts into an invalid model); no other
    exception, no hang (the deadline fails the test instead)."""
    out, results = str(tmp_path / "out.h5"), {}
    caffemodel, prototxt, graph = tmp_path / "net.caffemodel", tmp_path / "deploy.prototxt", tmp_path / "g.pb"
    package = tmp_path / "pkg"
    synth.write_package(str(package))
    model_js = package / "package" / synth.MODEL_DIR / "model.min.js"
    shard = package / "package" / synth.MODEL_DIR / "group1-shard2of3.min.js"
    tgz = tmp_path / "pkg.tgz"
    net = pw.caffemodel(tiny_caffe_net())
    with deadline(170):
        results["caffemodel"] = fuzz(tmp_path, caffemodel, net, 400, 1, lambda: convert_caffe.convert(
            str(caffemodel), out), (CaffeError, ModelFileError))
        caffemodel.write_bytes(net)
        results["prototxt"] = fuzz(tmp_path, prototxt, pw.prototxt(tiny_caffe_net()[1:], input_shape=(1, 3, 16, 16)).encode(),
                                   300, 2, lambda: convert_caffe.convert(str(caffemodel), out, str(prototxt)),
                                   (CaffeError, ModelFileError))
        results["graph"] = fuzz(tmp_path, graph, tiny_graph_def(), 400, 3,
                                lambda: convert_tf_graph.convert(str(graph), out), (GraphError, ModelFileError))
        results["model.min.js"] = fuzz(tmp_path, model_js, model_js.read_bytes(), 250, 4,
                                       lambda: convert_tfjs.convert(str(package), out), (ConversionError, ModelFileError))
        synth.write_package(str(tmp_path / "pkg2"))
        results["shard"] = fuzz(tmp_path, shard, (tmp_path / "pkg2" / "package" / synth.MODEL_DIR / shard.name).read_bytes(),
                                50, 5, lambda: convert_tfjs.convert(str(package), out), (ConversionError, ModelFileError))
        results["tarball"] = fuzz(tmp_path, tgz, Path(synth.write_tarball(str(tmp_path / "pkg2"), str(tmp_path / "t.tgz"))).read_bytes(),
                                  200, 6, lambda: convert_tfjs.convert(str(tgz), out), (ConversionError, ModelFileError))
    for name, (converted, refused_) in results.items():
        assert refused_ > 0, (name, results)
    assert results["caffemodel"][0] > 0 and results["graph"][0] > 0 and results["model.min.js"][0] > 0, results
