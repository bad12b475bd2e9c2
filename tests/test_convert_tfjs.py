"""tools/convert_tfjs.py: JS literal parsing, dequantization, BN folding, and the real package.

The fast tests convert a synthetic package (tests/tfjs_synthetic.py) and check every array
against values computed here independently; the slow one re-converts the real nsfwjs@4.4.0
tarball and checks it reproduces the committed weights/inception_v3.h5.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest

import hostile
import tfjs_synthetic as synth
from numdream.errors import ModelFileError
from numdream.modelfile import read_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, "tools", "convert_tfjs.py")
sys.path.insert(0, os.path.join(REPO, "tools"))

import convert_tfjs  # noqa: E402
from tfjs.jsliteral import JSLiteralError, module_exports, parse_literal  # noqa: E402
from tfjs import package as package_module  # noqa: E402
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


# ---- hostile packages: bounded, inside the package, one line each ----------------------------------

MODEL_JS = os.path.join("package", synth.MODEL_DIR, "model.min.js")


def edit_model_js(root, pattern, replacement):
    """Rewrite model.min.js: every match of ``pattern`` becomes ``replacement`` (text, taken as
    it is, or a function of the match); it must match."""
    path = os.path.join(str(root), MODEL_JS)
    with open(path) as f:
        text = f.read()
    edited, count = re.subn(pattern, replacement if callable(replacement) else lambda m: replacement, text)
    assert count, pattern
    with open(path, "w") as f:
        f.write(edited)


def quantization_of(weight, field, value):
    """(pattern, replacement) setting the ``field`` ('min' or 'scale') of a weight's quantization."""
    before = r"(?:min:[^,]+,)?" if field == "scale" else ""
    pattern = rf'(name:"{re.escape(weight)}",shape:\[[\d,]*\],dtype:"float32",quantization:\{{{before}){field}:[^,}}]+'
    return pattern, lambda m: f"{m.group(1)}{field}:{value}"


def tfjs_refused(source, tmp_path, says, error=ConversionError, limit_mb=64):
    before = hostile.snapshot(tmp_path)
    message = hostile.refused(lambda: convert_tfjs.convert(str(source), str(tmp_path / "out.h5")), error, says,
                              limit_mb=limit_mb)
    assert hostile.snapshot(tmp_path) == before
    return message


class _Zeros:
    """A file object of ``size`` zero bytes that never holds them all in memory."""

    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


def tarball_with(root, tgz, extra):
    """root/package as an npm tarball, then extra members [(name, size)] of zeros (a later
    member of the same name replaces an earlier one, as tar extraction does)."""
    with tarfile.open(tgz, "w:gz", compresslevel=1) as tar:
        tar.add(os.path.join(str(root), "package"), arcname="package")
        for name, size in extra:
            info = tarfile.TarInfo(f"package/{name}")
            info.size = size
            tar.addfile(info, _Zeros(size))
    return tgz


def test_a_gzip_bomb_stops_at_the_unpacked_limit(package, tmp_path, monkeypatch):
    root, _ = package
    tgz = tarball_with(root, str(tmp_path / "bomb.tgz"), [("junk.bin", 64 << 20)])  # 64 MB of zeros, 64 KB packed
    assert os.path.getsize(tgz) < 1 << 20
    monkeypatch.setattr(package_module, "MAX_UNPACKED_BYTES", 8 << 20)
    tfjs_refused(tgz, tmp_path, "bomb.tgz: unpacks to more than 8388608 bytes", limit_mb=16)


def test_a_file_declaring_more_than_the_file_limit_is_not_read(package, tmp_path):
    root, _ = package
    tgz = tarball_with(root, str(tmp_path / "big.tgz"), [(MODEL_JS.split("/", 1)[1], 300 << 20)])
    tfjs_refused(tgz, tmp_path, "declares 314572800 bytes; a package file is at most 268435456", limit_mb=32)


def test_a_tarball_of_too_many_files_is_refused(package, tmp_path, monkeypatch):
    root, _ = package
    tgz = tarball_with(root, str(tmp_path / "many.tgz"), [(f"f{i}", 1) for i in range(60)])
    monkeypatch.setattr(package_module, "MAX_MEMBERS", 50)
    tfjs_refused(tgz, tmp_path, "holds more than 50 files")


@pytest.mark.parametrize("shard_path", ["../../../../secret", "../../../../../../../../etc/passwd"])
def test_shard_paths_stay_inside_the_package_folder(package, tmp_path, shard_path):
    root, _ = package
    (tmp_path / "secret.min.js").write_text("not for you")
    edit_model_js(root, r'"group1-shard1of3"', json.dumps(shard_path))
    tfjs_refused(root, tmp_path, "leads outside the package folder")


def test_a_symlinked_shard_pointing_outside_is_refused(package, tmp_path):
    """The shard's content is genuine, so only the containment check can refuse it."""
    root, _ = package
    shard = os.path.join(str(root), "package", synth.MODEL_DIR, "group1-shard2of3.min.js")
    outside = tmp_path / "elsewhere.min.js"
    shutil.move(shard, outside)
    os.symlink(outside, shard)
    tfjs_refused(root, tmp_path, "'dist/models/inception_v3/group1-shard2of3.min.js' leads outside the package folder")


HOSTILE_MODEL_JS = {  # model.min.js edit -> what the line says, error class
    "a literal nested 10,000 deep": ((r"modelTopology:", "modelTopology:" + "[" * 10000 + "]" * 10000 + ",x:"),
                                     "objects and arrays nest deeper than 200 levels", ConversionError),
    "a bad \\u escape": ((r'"group1-shard1of3"', r'"group1-\uZZZZ"'), "bad \\u escape 'ZZZZ'", ConversionError),
    "a weight shape with a negative dim": ((r'shape:\[6\]', "shape:[-6]"), "is not a list of whole numbers >= 0",
                                           ConversionError),
    "a negative variance": (quantization_of("batch_normalization_1/moving_variance", "min", -5),
                            "moving_variance + epsilon is", ConversionError),
    "a NaN quantization scale": (quantization_of("conv2d_1/kernel", "scale", "NaN"),
                                 "node 1 ('conv2d_1'): param 'w': value nan", ModelFileError),
    "a gray input": ((r"batch_input_shape:\[null,17,17,3\]", "batch_input_shape:[null,17,17,1]"),
                     "the model's input takes 1 channel(s); numdream dreams RGB images", ModelFileError),
    "a cycle in the topology": ((r'inbound_nodes:\[\[\["input_1",', 'inbound_nodes:[[["activation_1",'),
                                "input 'activation_1' is a later node", ModelFileError),
    "a layer name with an escape": ((r'"activation_2"', '"activation\\u001b[2J"'),
                                    "name 'activation\\x1b[2J' holds control or non-printable", ModelFileError),
    "strides that are a number": ((r"strides:\[2,2\]", "strides:2"),
                                  "unexpected model.min.js layout (TypeError: 'int' object is not iterable)", ConversionError),
}


@pytest.mark.parametrize("case", list(HOSTILE_MODEL_JS))
def test_a_hostile_model_js_is_refused_in_one_line(package, tmp_path, case):
    (pattern, replacement), says, error = HOSTILE_MODEL_JS[case]
    root, _ = package
    edit_model_js(root, pattern, replacement)
    tfjs_refused(root, tmp_path, says, error)


def test_every_layer_retrained_gives_a_short_line(tmp_path):
    layers = synth.synthetic_layers()
    for layer in layers[1:]:
        layer["config"]["trainable"] = True
    synth.write_package(str(tmp_path / "src"), layers=layers)
    message = tfjs_refused(tmp_path / "src", tmp_path, "layers 'conv2d_1', 'batch_normalization_1'")
    assert " more are trainable" in message and len(message) < 300


def test_a_shard_listed_many_times_is_bounded(package, tmp_path, monkeypatch):
    root, _ = package
    edit_model_js(root, r'paths:\["group1-shard1of3"', "paths:[" + '"group1-shard1of3",' * 1000 + '"group1-shard1of3"')
    monkeypatch.setattr(package_module, "MAX_WEIGHT_BYTES", 1 << 16)
    tfjs_refused(root, tmp_path, "the weight shards hold more than 65536 bytes together")


def test_devices_are_refused(tmp_path):
    tfjs_refused("/dev/zero", tmp_path, "/dev/zero: it is a character device, not a regular file")


@pytest.mark.parametrize("where", ["the tarball", "a shard in a folder"])
def test_a_fifo_is_refused_without_blocking(package, tmp_path, where):
    root, _ = package
    if where == "the tarball":
        source = fifo = tmp_path / "pipe.tgz"
    else:
        source, fifo = root, os.path.join(str(root), "package", synth.MODEL_DIR, "group1-shard2of3.min.js")
        os.unlink(fifo)
    os.mkfifo(fifo)
    done = hostile.run_tool("convert_tfjs.py", source, "-o", tmp_path / "o.h5", timeout=60)
    hostile.assert_cli_refused(done, "convert_tfjs", f"{fifo}: it is a FIFO (named pipe)")
    assert not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize("case", ["a literal nested 10,000 deep", "a negative variance"])
def test_the_command_line_refuses_hostile_packages_in_one_line(package, tmp_path, case):
    (pattern, replacement), says, _ = HOSTILE_MODEL_JS[case]
    root, _ = package
    edit_model_js(root, pattern, replacement)
    done = hostile.run_tool("convert_tfjs.py", root, "-o", tmp_path / "o.h5")
    hostile.assert_cli_refused(done, "convert_tfjs", says)
