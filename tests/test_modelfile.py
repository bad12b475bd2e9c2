"""numdream.modelfile: round trips, atomic writes, and one clear ModelFileError per bad file."""
import json
import os

import h5py
import numpy as np
import pytest

from numdream.errors import ModelFileError
from numdream.modelfile import ModelSpec, Node, param_dataset_path, read_model, write_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = os.path.join(REPO, "weights", "inception_v3.h5")


def small_spec():
    """input (3) -> conv 3x3 (4) -> relu -> [conv 1x1 (2) | avg pool] -> concat (6) -> max pool -> lrn.
    The conv named 'block/conv' carries a '/' as Caffe blob names do."""
    rng = np.random.default_rng(0)

    def conv(name, src, cin, cout, k):
        params = {"w": rng.standard_normal((cout, cin, k, k)).astype(np.float32),
                  "b": rng.standard_normal(cout).astype(np.float32)}
        return Node(name, "conv2d", [src], {"stride": [1, 1], "padding": "same"}, params)
    pool = {"size": [3, 3], "stride": [1, 1], "padding": [1, 1, 1, 1], "ceil_mode": False}
    nodes = [Node("data", "input", [], {"channels": 3}),
             conv("block/conv", "data", 3, 4, 3),
             Node("relu", "relu", ["block/conv"]),
             conv("branch", "relu", 4, 2, 1),
             Node("avg", "avg_pool2d", ["relu"], {**pool, "count_include_pad": False}),
             Node("cat", "concat", ["branch", "avg"], {"axis": 1}),
             Node("pool", "max_pool2d", ["cat"], {**pool, "stride": [2, 2], "ceil_mode": True}),
             Node("norm", "lrn", ["pool"], {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0})]
    provenance = {"converter": {"name": "test", "version": "1"}, "note": "synthetic",
                  "sha256": {"a/b.js": "00ff"}}
    return ModelSpec("small", nodes, {"channel_order": "BGR", "mean": [104.0, 117.0, 123.0], "scale": 1.0},
                     provenance)


@pytest.fixture
def model_path(tmp_path):
    path = str(tmp_path / "model.h5")
    write_model(path, small_spec())
    return path


def read_error(path):
    """The message of the ModelFileError that read_model(path) raises (any other type fails)."""
    with pytest.raises(ModelFileError) as info:
        read_model(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def edit_graph(path, change):
    """Rewrite the graph JSON of a model file: change(nodes) edits the node list in place."""
    with h5py.File(path, "r+") as f:
        graph = json.loads(f["graph"][()])
        change(graph["nodes"])
        del f["graph"]
        f["graph"] = json.dumps(graph)


def node(nodes, name):
    return next(n for n in nodes if n["name"] == name)


# ---- round trip and writing -------------------------------------------------------------------

def test_round_trip_keeps_everything(model_path):
    spec, back = small_spec(), read_model(model_path)
    assert back.path == model_path and back.name == "small"
    assert back.preprocess == spec.preprocess and back.provenance == spec.provenance
    for a, b in zip(spec.nodes, back.nodes, strict=True):
        assert (a.name, a.op, a.inputs, a.attrs) == (b.name, b.op, b.inputs, b.attrs)
        assert sorted(a.params) == sorted(b.params)
        for key in a.params:
            assert b.params[key].dtype == np.float32 and np.array_equal(a.params[key], b.params[key])


def test_layout_matches_the_readme(model_path):
    with h5py.File(model_path, "r") as f:
        assert f.attrs["format"] == "numdream-model" and f.attrs["format_version"] == 1
        graph = json.loads(f["graph"][()])
        conv = node(graph["nodes"], "block/conv")
        assert conv["params"] == {"w": "/params/001_block_conv/w", "b": "/params/001_block_conv/b"}
        assert f[conv["params"]["w"]].compression == "gzip"
        assert f[conv["params"]["w"]].dtype == np.float32
        assert list(f["preprocess"].attrs["mean"]) == [104.0, 117.0, 123.0]
        assert f["provenance/sha256"].attrs["a/b.js"] == "00ff"
    assert param_dataset_path(12, "inception_4c/output", "w") == "/params/012_inception_4c_output/w"


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, model_path):
    spec = small_spec()
    spec.nodes[1].params["b"] = np.zeros(5, np.float32)  # wrong bias: write_model refuses it
    before = open(model_path, "rb").read()
    with pytest.raises(ModelFileError, match="bias b has shape"):
        write_model(model_path, spec)
    assert open(model_path, "rb").read() == before
    write_model(model_path, small_spec())  # overwriting a model works
    assert sorted(os.listdir(tmp_path)) == ["model.h5"]


def test_writing_is_byte_deterministic(tmp_path):
    write_model(tmp_path / "a.h5", small_spec())
    write_model(tmp_path / "b.h5", small_spec())
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_bundled_weights_read_and_check():
    spec = read_model(BUNDLED)
    assert spec.name == "inception_v3" and len(spec.nodes) == 115
    assert spec.nodes[0].name == "input_1" and spec.nodes[-1].name == "mixed5"
    assert spec.preprocess == {"channel_order": "RGB", "mean": [127.5] * 3, "scale": 1 / 127.5}
    assert {n.op for n in spec.nodes} == {"input", "conv2d", "relu", "max_pool2d", "avg_pool2d", "concat"}
    assert sum(p.size for n in spec.nodes for p in n.params.values()) == 5127136
    assert spec.provenance["source"]["package"] == "nsfwjs" and spec.provenance["source"]["version"] == "4.4.0"


# ---- bad files --------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    assert "no such file" in read_error(str(tmp_path / "absent.h5"))


def test_truncated_file(tmp_path):
    data = open(BUNDLED, "rb").read()
    path = tmp_path / "half.h5"
    path.write_bytes(data[:len(data) // 2])
    assert "not a readable HDF5 model file" in read_error(str(path))


def test_text_file(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("this is not HDF5\n")
    assert "not a readable HDF5 model file" in read_error(str(path))


def test_corrupt_compressed_data(model_path):
    with h5py.File(model_path, "r") as f:
        info = f["/params/001_block_conv/w"].id.get_chunk_info(0)
    with open(model_path, "r+b") as f:
        f.seek(info.byte_offset + 8)
        f.write(b"\xff" * 32)
    message = read_error(model_path)
    assert "cannot read dataset '/params/001_block_conv/w'" in message and "'block/conv'" in message


def test_wrong_format_attribute(model_path):
    with h5py.File(model_path, "r+") as f:
        f.attrs["format"] = "keras"
    assert "format attribute is 'keras', expected 'numdream-model'" in read_error(model_path)


def test_unsupported_version(model_path):
    with h5py.File(model_path, "r+") as f:
        f.attrs["format_version"] = 2
    assert "unsupported format_version 2" in read_error(model_path)


def test_graph_not_json(model_path):
    with h5py.File(model_path, "r+") as f:
        del f["graph"]
        f["graph"] = "{nodes: oops"
    assert "graph is not valid JSON" in read_error(model_path)


def test_unknown_op_names_the_node_and_the_valid_ops(model_path):
    edit_graph(model_path, lambda nodes: node(nodes, "relu").update(op="gelu"))
    message = read_error(model_path)
    assert "node 2 ('relu'): unknown op 'gelu'" in message
    assert "valid ops: input, conv2d, relu, max_pool2d, avg_pool2d, concat, lrn" in message


def test_missing_dataset(model_path):
    with h5py.File(model_path, "r+") as f:
        del f["/params/003_branch/b"]
    assert "param 'b' refers to a missing dataset '/params/003_branch/b'" in read_error(model_path)


def test_bias_shape_mismatch(model_path):
    with h5py.File(model_path, "r+") as f:
        del f["/params/003_branch/b"]
        f["/params/003_branch/b"] = np.zeros(3, np.float32)
    assert "bias b has shape (3,), expected (2,)" in read_error(model_path)


def test_conv_weight_not_4d(model_path):
    with h5py.File(model_path, "r+") as f:
        del f["/params/003_branch/w"]
        f["/params/003_branch/w"] = np.zeros((2, 4), np.float32)
    assert "conv weight w has shape (2, 4), expected 4-D" in read_error(model_path)


def test_channel_mismatch(model_path):
    with h5py.File(model_path, "r+") as f:
        del f["/params/003_branch/w"]
        f["/params/003_branch/w"] = np.zeros((2, 5, 1, 1), np.float32)
    assert "expects 5 input channels but input 'relu' has 4" in read_error(model_path)


def test_channels_sum_through_concat(tmp_path):
    spec = small_spec()
    w = np.zeros((1, 7, 1, 1), np.float32)  # concat gives 2 + 4 = 6 channels, not 7
    spec.nodes.append(Node("top", "conv2d", ["cat"], {"stride": 1, "padding": "valid"},
                           {"w": w, "b": np.zeros(1, np.float32)}))
    with pytest.raises(ModelFileError, match="expects 7 input channels but input 'cat' has 6"):
        write_model(tmp_path / "m.h5", spec)


@pytest.mark.parametrize("change, expected", [
    (lambda nodes: node(nodes, "cat")["inputs"].append("pool"), "input 'pool' is a later node"),
    (lambda nodes: node(nodes, "cat")["inputs"].append("ghost"), "input 'ghost' is not a node"),
    (lambda nodes: node(nodes, "avg").update(name="relu"), "node 4 ('relu'): duplicate node name"),
    (lambda nodes: node(nodes, "pool")["attrs"].pop("ceil_mode"), "max_pool2d needs attr 'ceil_mode'"),
    (lambda nodes: node(nodes, "avg")["attrs"].update(padding="full"), "attr 'padding' is 'full'"),
    (lambda nodes: node(nodes, "cat")["attrs"].update(axis=3), "attr 'axis' is 3, expected 1"),
    (lambda nodes: node(nodes, "norm")["attrs"].update(alpha="big"), "attr 'alpha' is 'big'"),
    (lambda nodes: node(nodes, "relu")["inputs"].append("data"), "relu takes exactly one input, got 2"),
    (lambda nodes: node(nodes, "branch")["params"].pop("b"), "conv2d has params ['w'], expected ['b', 'w']"),
    (lambda nodes: node(nodes, "data").update(op="relu", inputs=[]), "relu takes exactly one input, got 0"),
    (lambda nodes: nodes.append({"name": "data2", "op": "input", "inputs": [], "attrs": {"channels": 3}}),
     "exactly one 'input' node, found 2"),
    (lambda nodes: node(nodes, "relu").update(inputs="block/conv"), "'inputs' must be a list"),
])
def test_inconsistent_graphs(model_path, change, expected):
    edit_graph(model_path, change)
    assert expected in read_error(model_path)


def test_bad_preprocess(model_path):
    with h5py.File(model_path, "r+") as f:
        f["preprocess"].attrs["channel_order"] = "RBG"
    assert "channel_order is 'RBG'" in read_error(model_path)
