"""tools/convert_tfjs.py: JS literal parsing, dequantization, BN folding, and the real package.

The fast tests convert a synthetic package (tests/tfjs_synthetic.py) and check every array
against values computed here independently; the slow one re-converts the real nsfwjs@4.4.0
tarball and checks it reproduces the committed weights/inception_v3.h5.
"""
import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tfjs_synthetic as synth
from numdream.modelfile import read_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, "tools", "convert_tfjs.py")
sys.path.insert(0, os.path.join(REPO, "tools"))

import convert_tfjs  # noqa: E402
from tfjs.jsliteral import JSLiteralError, module_exports, parse_literal  # noqa: E402
from tfjs.package import ConversionError  # noqa: E402

KEPT = ["input_1", "conv2d_1", "activation_1", "max_pooling2d_1", "conv2d_2", "activation_2",
        "conv2d_3", "activation_3", "conv2d_4", "activation_4", "average_pooling2d_1", "conv2d_5",
        "activation_5", "mixed5"]


# ---- the JavaScript literal parser ------------------------------------------------------------

def test_parse_literal_reads_minified_javascript():
    text = '{a:!0,b:!1,c:.5,d:-.125,e:1e-3,f:[1,"x\\"y\'z",null,[]],"g h":void 0,i:{},j:\'q\\u00e9\',k:-7}'
    value, end = parse_literal(text)
    assert end == len(text)
    assert value == {"a": True, "b": False, "c": 0.5, "d": -0.125, "e": 0.001,
                     "f": [1, "x\"y'z", None, []], "g h": None, "i": {}, "j": "q\u00e9", "k": -7}
    assert type(value["k"]) is int and type(value["e"]) is float


@pytest.mark.parametrize("text", ["{a:1", "{a 1}", "[1 2]", '"abc', "{a:undefinedish}", ""])
def test_parse_literal_rejects_broken_text(text):
    with pytest.raises(JSLiteralError):
        parse_literal(text)


def test_module_exports_finds_the_literal_whatever_the_minified_names():
    wrapped = synth.browserify('{x:[1,.5]}', "m", args=("d", "h", "Z"))
    assert module_exports(wrapped) == {"x": [1, 0.5]}
    with pytest.raises(JSLiteralError, match="exports"):
        module_exports("module.exports = 1")


def test_js_literal_writer_round_trips():
    value = {"a": [0.25, -0.75, 3, True, False, None], "b c": {"d": "e\"f"}}
    assert parse_literal(synth.js_literal(value))[0] == value
    assert synth.js_literal(-0.75) == "-.75"  # the minified form the parser must handle


# ---- converting the synthetic package ---------------------------------------------------------

def expected_arrays(quantized, conv, bias=False, gamma=False):
    """(w OIHW, b) of one conv with its BN folded, written per output channel (an independent
    formulation of what tools/tfjs/keras.py does with whole arrays)."""
    def value(name):
        q, low, scale = quantized[name]
        return q.astype(np.float64) * scale + low
    index = conv.split("_")[1]
    bn = f"batch_normalization_{index}"
    kernel = value(f"{conv}/kernel")  # (kh, kw, C, O)
    out = kernel.shape[3]
    w, b = np.zeros((out, kernel.shape[2], kernel.shape[0], kernel.shape[1])), np.zeros(out)
    for o in range(out):
        g = (value(f"{bn}/gamma")[o] if gamma else 1.0) / np.sqrt(value(f"{bn}/moving_variance")[o] + 1e-3)
        w[o] = np.moveaxis(kernel[:, :, :, o], 2, 0) * g
        conv_bias = value(f"{conv}/bias")[o] if bias else 0.0
        b[o] = (conv_bias - value(f"{bn}/moving_mean")[o]) * g + value(f"{bn}/beta")[o]
    return w.astype(np.float32), b.astype(np.float32)


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "src"
    quantized = synth.write_package(str(root))
    return root, quantized


@pytest.mark.parametrize("as_tarball", [False, True])
def test_convert_synthetic_package(package, tmp_path, as_tarball):
    root, quantized = package
    source = synth.write_tarball(str(root), str(tmp_path / "nsfwjs-4.4.0.tgz")) if as_tarball else str(root)
    out = tmp_path / "out.h5"
    convert_tfjs.convert(source, str(out))
    spec = read_model(out)
    nodes = {n.name: n for n in spec.nodes}
    assert [n.name for n in spec.nodes] == KEPT  # conv2d_6 and after are dropped, BNs folded away
    assert [n.op for n in spec.nodes][:4] == ["input", "conv2d", "relu", "max_pool2d"]
    assert nodes["input_1"].attrs == {"channels": 3}
    assert nodes["activation_1"].inputs == ["conv2d_1"]  # was batch_normalization_1
    assert nodes["conv2d_1"].attrs == {"stride": [2, 2], "padding": "valid"}
    assert nodes["conv2d_4"].attrs == {"stride": [1, 1], "padding": "same"}
    assert nodes["max_pooling2d_1"].attrs == {"size": [3, 3], "stride": [2, 2], "padding": "valid",
                                              "ceil_mode": False}
    assert nodes["average_pooling2d_1"].op == "avg_pool2d"
    assert nodes["average_pooling2d_1"].attrs == {"size": [3, 3], "stride": [1, 1], "padding": "same",
                                                  "ceil_mode": False, "count_include_pad": False}
    assert nodes["mixed5"].attrs == {"axis": 1}
    assert nodes["mixed5"].inputs == ["activation_2", "activation_4", "activation_5"]
    for conv in ("conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4", "conv2d_5"):
        w, b = expected_arrays(quantized, conv, bias=conv == "conv2d_5", gamma=conv == "conv2d_5")
        np.testing.assert_allclose(nodes[conv].params["w"], w, rtol=1e-6, atol=1e-7, err_msg=conv)
        np.testing.assert_allclose(nodes[conv].params["b"], b, rtol=1e-6, atol=1e-7, err_msg=conv)
        assert nodes[conv].params["w"].shape == w.shape
    assert spec.preprocess == {"channel_order": "RGB", "mean": [127.5] * 3, "scale": 1 / 127.5}
    files = spec.provenance["source_sha256"]
    model_js = os.path.join(str(root), "package", synth.MODEL_DIR, "model.min.js")
    with open(model_js, "rb") as f:
        assert files["dist/models/inception_v3/model.min.js"] == hashlib.sha256(f.read()).hexdigest()
    assert len(files) == 1 + 1 + 3  # package.json, model.min.js, three shards
    assert spec.provenance["source"]["package"] == "nsfwjs"
    if as_tarball:
        with open(source, "rb") as f:
            assert spec.provenance["source"]["tarball_sha256"] == hashlib.sha256(f.read()).hexdigest()


def test_conversion_is_deterministic(package, tmp_path):
    root, _ = package
    convert_tfjs.convert(str(root), str(tmp_path / "a.h5"))
    convert_tfjs.convert(str(root), str(tmp_path / "b.h5"))
    a, b = read_model(tmp_path / "a.h5"), read_model(tmp_path / "b.h5")
    for na, nb in zip(a.nodes, b.nodes):
        for key in na.params:
            assert np.array_equal(na.params[key], nb.params[key])


def test_a_retrained_layer_before_mixed5_is_refused(tmp_path):
    layers = synth.synthetic_layers()
    next(l for l in layers if l["name"] == "conv2d_3")["config"]["trainable"] = True
    synth.write_package(str(tmp_path / "src"), layers=layers)
    with pytest.raises(ConversionError, match="layers 'conv2d_3' are trainable"):
        convert_tfjs.convert(str(tmp_path / "src"), str(tmp_path / "out.h5"))
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("layer, change, expected", [
    ("conv2d_2", lambda c: c.pop("strides"), "unexpected model.min.js layout (KeyError: 'strides')"),
    ("activation_2", lambda c: c.update(activation="tanh"), "activation_2: activation 'tanh' is not supported"),
    ("conv2d_4", lambda c: c.update(dilation_rate=[2, 2]), "conv2d_4: dilation_rate is [2, 2]"),
    ("mixed5", lambda c: c.update(axis=1), "mixed5: only channel concatenation"),
])
def test_unsupported_layers_are_reported(tmp_path, layer, change, expected):
    layers = synth.synthetic_layers()
    change(next(l for l in layers if l["name"] == layer)["config"])
    synth.write_package(str(tmp_path / "src"), layers=layers)
    with pytest.raises(ConversionError) as info:
        convert_tfjs.convert(str(tmp_path / "src"), str(tmp_path / "out.h5"))
    assert expected in str(info.value)


def test_a_short_shard_is_reported(package, tmp_path):
    root, _ = package
    shard = os.path.join(str(root), "package", synth.MODEL_DIR, "group1-shard3of3.min.js")
    with open(shard) as f:
        text = f.read()
    start = text.index('exports="') + len('exports="')
    with open(shard, "w") as f:  # drop 4 base64 characters (3 bytes) from the last shard
        f.write(text[:start] + text[start + 4:])
    with pytest.raises(ConversionError, match="bytes"):
        convert_tfjs.convert(str(root), str(tmp_path / "out.h5"))


def test_cli_reports_errors_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, TOOL, str(tmp_path / "nope.tgz"), "-o", str(tmp_path / "o.h5")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "nope.tgz: no such file or folder" in result.stderr


def test_cli_converts_a_folder(package, tmp_path):
    root, _ = package
    out = tmp_path / "cli.h5"
    result = subprocess.run([sys.executable, TOOL, str(root), "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}: 14 nodes (input_1 .. mixed5)" in result.stdout
    assert [n.name for n in read_model(out).nodes] == KEPT


# ---- the real package -------------------------------------------------------------------------

@pytest.mark.slow
def test_real_package_reproduces_the_committed_weights(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed, cannot fetch nsfwjs@4.4.0")
    tarball = convert_tfjs.npm_pack(str(tmp_path))
    convert_tfjs.convert(tarball, str(tmp_path / "inception_v3.h5"))
    fresh = read_model(tmp_path / "inception_v3.h5")
    committed = read_model(os.path.join(REPO, "weights", "inception_v3.h5"))
    assert [(n.name, n.op, n.inputs, n.attrs) for n in fresh.nodes] == \
           [(n.name, n.op, n.inputs, n.attrs) for n in committed.nodes]
    for a, b in zip(fresh.nodes, committed.nodes):
        for key in a.params:
            assert np.array_equal(a.params[key], b.params[key]), f"{a.name}/{key}"
    assert fresh.preprocess == committed.preprocess
    assert fresh.provenance["source_sha256"] == committed.provenance["source_sha256"]
    assert len(fresh.nodes) == 115 and fresh.nodes[-1].name == "mixed5"
